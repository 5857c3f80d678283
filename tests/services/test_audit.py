"""services.audit: what residency evidence says about transfers; hostile report shapes never crash."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mistral_sov.core.policy import Policy
from mistral_sov.services.audit import EvidenceFile, Observation, observations, transfers

POLICY = Policy.model_validate(
    {
        "version": 1,
        "organization": "Org",
        "endpoints": [{"name": "a", "url": "https://a.example.eu"}, {"name": "b", "url": "https://b.example.eu"}],
    }
)


def report(*checks: dict) -> EvidenceFile:
    return EvidenceFile("E1", "e.json", "0" * 64, {"kind": "verify-residency", "checks": list(checks)}, "unsigned", "")


def check(endpoint: str, *hops: tuple[str | None, list[str]], host: str = "") -> dict:
    return {
        "verdict": "COMPLIANT",
        "details": {
            "endpoint": endpoint,
            "host": host,
            "hops": [{"country": c, "flags": f, "operator": "Op", "jurisdiction": "US"} for c, f in hops],
        },
    }


def test_destination_and_transit_countries_by_endpoint_name_or_host() -> None:
    obs = observations(
        POLICY,
        [
            report(
                check("a", ("DE", []), ("US", []), ("FR", ["destination"])),
                check("other", ("CH", ["destination"]), host="b.example.eu"),
            )
        ],
    )
    assert obs["a"].destination_countries == ("FR",) and obs["a"].transit_countries == ("DE", "US")
    assert obs["a"].operators == ("Op (US)",)
    assert obs["b"].destination_countries == ("CH",)
    assert transfers(obs["a"])["status"] == "none found"
    assert transfers(obs["a"])["transit_outside_eea"] == ["US"]
    assert transfers(obs["b"]) | {} == transfers(obs["b"]) and transfers(obs["b"])["status"] == "outside the EEA"


def test_no_evidence_is_never_none_found() -> None:
    assert transfers(None)["status"] == "not established"
    assert transfers(Observation(("E1",), ("INCONCLUSIVE",), (), ("US",), ()))["status"] == "not established"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


FUZZ = settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)


@FUZZ
@example({"checks": 5})
@example({"checks": "abc"})
@example({"checks": [{"details": {"endpoint": ["a"], "host": {"x": 1}, "hops": [{"flags": 3}]}}]})
@given(st.dictionaries(st.sampled_from(["kind", "checks", "details", "hops"]), json_values, max_size=4))
def test_hostile_report_shapes_never_crash(doc: dict) -> None:
    ev = EvidenceFile("E1", "e.json", "0" * 64, doc, "unsigned", "")
    observations(POLICY, [ev])


hop_values = st.dictionaries(st.sampled_from(["country", "flags", "operator", "jurisdiction"]), json_values)


@FUZZ
@given(
    st.lists(json_values, max_size=4),
    st.lists(hop_values | json_values, max_size=4),
    st.just("a") | json_values,
    st.just("b.example.eu") | json_values,
)
def test_hostile_checks_never_crash(checks: list, hops: list, endpoint: object, host: object) -> None:
    shaped = {"verdict": endpoint, "details": {"endpoint": endpoint, "host": host, "hops": hops}}
    ev = EvidenceFile("E1", "e.json", "0" * 64, {"checks": [*checks, shaped]}, "unsigned", "")
    for obs in observations(POLICY, [ev]).values():
        transfers(obs)
