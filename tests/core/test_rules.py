"""core/rules.py: the one home of "an approved endpoint is blocked"; validate and the gate
agree on every combination of block rule, exception and endpoint host."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.policyfile import parse_policy
from mistral_sov.core.findings import Verdict
from mistral_sov.core.rules import endpoint_conflicts
from mistral_sov.errors import PolicyError
from mistral_sov.services import gate

HOSTS = ["chat.example.test", "example.test", "api.chat.example.test", "other.test"]


def _policy(endpoint_host: str, extra: list[str], exceptions: list[str]) -> bytes:
    return (
        "version: 1\norganization: T\nendpoints:\n"
        f"  - name: ep\n    url: https://{endpoint_host}/v1\n"
        f"blocking:\n  catalog: none\n  extra_domains: {extra}\n  exceptions: {exceptions}\n"
    ).encode()


def _validate_conflicts(data: bytes) -> list[str]:
    try:
        parse_policy(data, "s.yaml", load_catalog())
    except PolicyError as exc:
        return [d.message for d in exc.diagnostics() if "would be blocked" in d.message]
    return []


def _gate_conflicts(data: bytes) -> list[str]:
    loaded = parse_policy(data, "s.yaml", None)  # no catalog: the policy loads, the gate decides
    check = gate.catalog_conflicts_check(loaded.policy, load_catalog(), loaded.where)
    return [f.message for f in check.findings]


def test_exception_for_the_host_under_a_blocked_parent_is_no_conflict() -> None:
    # the case that disagreed: validate passed, the gate failed and advised the existing exception
    data = _policy("chat.example.test", ["example.test"], ["chat.example.test"])
    assert _validate_conflicts(data) == [] == _gate_conflicts(data)
    loaded = parse_policy(data, "s.yaml", load_catalog())
    check = gate.catalog_conflicts_check(loaded.policy, load_catalog(), loaded.where)
    assert check.verdict is Verdict.COMPLIANT


def test_blocked_parent_without_exception_is_a_conflict_in_both() -> None:
    data = _policy("chat.example.test", ["example.test"], [])
    expected = [
        "approved endpoint 'ep' (chat.example.test) would be blocked by blocking.extra_domains rule 'example.test'"
    ]
    assert _validate_conflicts(data) == expected == _gate_conflicts(data)
    with pytest.raises(PolicyError) as info:
        parse_policy(data, "s.yaml", load_catalog())
    diag = next(d for d in info.value.diagnostics() if "would be blocked" in d.message)
    assert diag.location.line == 5 and "blocking.exceptions" in diag.hint


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(HOSTS),
    st.lists(st.sampled_from(HOSTS), max_size=2, unique=True),
    st.lists(st.sampled_from(HOSTS), max_size=2, unique=True),
)
def test_validate_and_gate_always_agree(host: str, extra: list[str], exceptions: list[str]) -> None:
    data = _policy(host, extra, exceptions)
    assert _validate_conflicts(data) == _gate_conflicts(data)
    loaded = parse_policy(data, "s.yaml", None)
    conflicts = endpoint_conflicts(loaded.policy, load_catalog())
    # a conflict exists exactly when a block entry covers the host and no exception does
    covered = any(
        host == d or host.endswith("." + d) for d in extra if not any(d == e or d.endswith("." + e) for e in exceptions)
    )
    excepted = any(host == e or host.endswith("." + e) for e in exceptions)
    assert bool(conflicts) == (covered and not excepted)
