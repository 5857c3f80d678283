"""Fleet judging: the residency engine per device, k of n per endpoint and site, bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fleet_samples import EU_PATH, US_PATH, line

from mistral_sov.cli.residency_wiring import build_providers
from mistral_sov.core.findings import Verdict
from mistral_sov.core.physics import parse_vantage
from mistral_sov.core.policy import Zones
from mistral_sov.services.fleet import DeviceJudge, FleetItem, FleetOptions, FleetTally, parse_time
from mistral_sov.services.verify import Target

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)
DATA = Path(__file__).resolve().parents[1] / "data" / "fleet"
TARGETS = [Target("mistral-eu", "https://api.mistral.ai", "api.mistral.ai", 443)]
ZONES = Zones(allowed_countries=["EU"], transit="strict", unknown_hops="warn")


@pytest.fixture(scope="module")
def providers(tmp_path_factory):
    return build_providers(ranges_dir=tmp_path_factory.mktemp("ranges"))


FRANKFURT = parse_vantage("Frankfurt")


def _judge(providers, **kw):
    kw.setdefault("site_vantage", lambda _site: FRANKFURT)
    return DeviceJudge(TARGETS, ZONES, providers, options=FleetOptions(now=NOW), **kw)


def _verdicts(judge, items):
    return [judge.judge(i).endpoints[0] for i in items]


def test_engine_verdicts_per_device(providers):
    judge = _judge(providers)
    ok, bad = _verdicts(judge, [FleetItem("PC-1", line("PC-1")), FleetItem("PC-2", line("PC-2", US_PATH))])
    assert ok.verdict is Verdict.COMPLIANT and ok.check is None
    assert bad.verdict is Verdict.VIOLATION and "RES-TRANSIT-COUNTRY" in bad.reason and "4.69.140.1" in bad.reason
    res = bad.check.residency
    assert [h.address for h in res.hops][2] == "4.69.140.1" and res.hops[2].country == "US"
    assert res.tracer == "windows-tracert" and res.source == "fleet" and res.vantage_id == "device:PC-2"
    assert res.measured_at == "2026-12-03T10:00:00Z"
    assert any("TCP connect to port 443: 14 ms" in n for n in res.fidelity_notes)


def test_physics_from_the_device_site(providers):
    """4.69.140.1 is registered in the US; at 1 ms from a Frankfurt site it cannot be there."""
    near = [("10.1.0.1", [0, 0, 0]), ("4.69.140.1", [1, 1, 1]), (EU_PATH[-1][0], [9, 9, 9])]
    item = FleetItem("PC-3", line("PC-3", near, site={"ad": "FRA-HQ"}))
    blind = _verdicts(_judge(providers, site_vantage=lambda _s: None), [item])[0]
    assert blind.verdict is Verdict.VIOLATION
    sites = {"fra-hq": parse_vantage("Frankfurt")}
    judge = _judge(providers, site_vantage=lambda s: sites.get(s.get("ad", "").lower()))
    seen = _verdicts(judge, [item])[0]
    assert seen.verdict is Verdict.WARNING and seen.check is None  # warnings: counted, reason kept
    assert seen.reason.startswith("RES-PHYSICS: iptocc places 4.69.140.1")
    assert "RES-NOT-EVALUATED" in {f.rule_id for f in blind.check.findings}  # no site: physics not run
    assert "4.69.140.1" in blind.reason


def test_identical_observations_are_judged_once(providers):
    judge = _judge(providers)
    a, b = (FleetItem(f"PC-{i}", line(f"PC-{i}")) for i in range(2))
    bad = [FleetItem(f"BAD-{i}", line(f"BAD-{i}", US_PATH)) for i in range(2)]
    outs = [judge.judge(i).endpoints[0] for i in (a, b, *bad)]
    assert judge.memo_hits == 1  # PC-1 reuses PC-0's verdict; violations are always re-judged
    assert [o.verdict for o in outs] == [Verdict.COMPLIANT, Verdict.COMPLIANT, Verdict.VIOLATION, Verdict.VIOLATION]
    assert outs[3].check.residency.vantage_id == "device:BAD-1"


@pytest.mark.parametrize(
    ("item", "rule", "reason"),
    [
        (FleetItem("PC-T", line("PC-T", EU_PATH * 8)[60:]), "FLEET-OUTPUT", "truncated"),
        (FleetItem("PC-N", "Exception calling Resolve"), "FLEET-OUTPUT", "not collector output"),
        (FleetItem("PC-E", None), "FLEET-OUTPUT", "no collector output"),
        (FleetItem("PC-R", "x", error="unreadable CSV row"), "FLEET-OUTPUT", "unreadable"),
        (
            FleetItem("PC-S", line("PC-S", time="2026-12-03T10:00:00Z"), "2026-12-03T08:00:00Z"),
            "FLEET-TIME",
            "clock skew",
        ),
        (FleetItem("PC-F", line("PC-F", time="2027-01-01T00:00:00Z")), "FLEET-TIME", "in the future"),
        (FleetItem("PC-O", line("PC-O", time="2026-10-01T00:00:00Z")), "FLEET-TIME", "stale"),
        (FleetItem("PC-Z", line("PC-Z", time="")), "FLEET-TIME", "no measurement time"),
        (FleetItem("PC-D", line("PC-D", error="dns: DNS name does not exist")), "FLEET-PATH", "could not resolve"),
        (FleetItem("PC-X", line("PC-X", name="other", host="other.example")), "FLEET-PATH", "not in the output"),
        (FleetItem("PC-0", line("PC-0", [])), "FLEET-PATH", "no route"),
    ],
    ids=lambda v: v.device if isinstance(v, FleetItem) else None,
)
def test_unusable_devices_are_inconclusive_with_reason(providers, item, rule, reason):
    (outcome,) = _verdicts(_judge(providers), [item])
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert reason in outcome.reason
    assert [f.rule_id for f in outcome.check.findings] == [rule]


def test_unreached_and_silent_tail(providers):
    path = [("192.168.1.1", [0, 0, 0]), ("62.155.240.1", [4, 4, 4]), (None, [None]), (None, [None])]
    text = line("PC-U", path).replace(',"ok":1', "")
    (outcome,) = _verdicts(_judge(providers), [FleetItem("PC-U", text)])
    assert outcome.verdict is Verdict.INCONCLUSIVE and "RES-UNREACHED" in {f.rule_id for f in outcome.check.findings}


def test_tally_k_of_n_by_site_duplicates_and_worst(providers):
    judge = _judge(providers)
    tally = FleetTally(TARGETS, worst=3)
    items = [FleetItem(f"FRA-{i}", line(f"FRA-{i}")) for i in range(6)]
    items += [FleetItem(f"LYS-{i}", line(f"LYS-{i}", US_PATH, site={"ad": "LYS"})) for i in range(5)]
    items += [FleetItem("NOSITE", line("NOSITE", site={}))]
    # duplicates: an older report (ignored), the same report again (ignored), a newer one (wins)
    items += [FleetItem("fra-0", line("FRA-0", US_PATH, time="2026-12-03T09:00:00Z"))]
    items += [FleetItem("FRA-1", line("FRA-1"))]
    items += [FleetItem("FRA-2", line("FRA-2", US_PATH, time="2026-12-03T11:00:00Z"))]
    tally.add_all(judge.judge(i) for i in items)
    assert tally.devices == 12 and tally.duplicates == 3
    checks = {c.name: c for c in tally.checks()}
    fra, lys = checks["mistral-eu @ FRA-HQ"], checks["mistral-eu @ LYS"]
    assert fra.details["devices"] == 6 and fra.details["compliant"] == 5
    assert fra.title.endswith("compliant from 5 of 6 devices") and fra.verdict is Verdict.VIOLATION
    assert [r["device"] for r in fra.details["worst_devices"]] == ["FRA-2"]
    assert lys.details["compliant"] == 0 and len(lys.details["worst_devices"]) == 3
    more = [f for f in lys.findings if f.rule_id == "FLEET-MORE"]
    assert more and "2 more device(s)" in more[0].message
    assert checks["mistral-eu @ (no site hint)"].verdict is Verdict.COMPLIANT
    summary = tally.summary()["endpoints"]["mistral-eu"]
    assert summary["summary"] == "compliant from 6 of 12 devices"
    assert summary["sites"]["LYS"] == {"devices": 5, "compliant": 0}


def test_report_evidence_and_empty_input(providers):
    tally = FleetTally(TARGETS)
    report = tally.report(ZONES, providers, tool_version="t", generated_at="now", inputs=[{"file": "x", "sha256": "0"}])
    assert report.verdict is Verdict.INCONCLUSIVE  # no device is never a pass
    tally.add(_judge(providers).judge(FleetItem("PC-1", line("PC-1"))))
    report = tally.report(ZONES, providers, tool_version="t", generated_at="now", inputs=[{"file": "x", "sha256": "0"}])
    fleet = report.metadata["evidence"]["fleet"]
    assert fleet["inputs"][0]["sha256"] == "0" and fleet["devices"] == 1
    assert len(fleet["device_verdicts_sha256"]) == 64
    assert report.verdict is Verdict.COMPLIANT and report.exit_status() == 0


def test_parse_time_graph_fractions():
    assert parse_time("2026-12-03T10:01:12.1234567Z") == dt.datetime(2026, 12, 3, 10, 1, 12, 123456, dt.timezone.utc)
    assert parse_time("2026-12-03T10:01:12Z").tzinfo is not None
    assert parse_time("12/3/2026 10:01 AM") is None and parse_time("") is None


def test_memo_never_changes_a_verdict(providers):
    """Randomised: the memoised verdict of every observation equals a fresh judgement."""
    import random

    rng = random.Random(13)
    memo = _judge(providers)
    hops = [("10.1.0.1", 0), ("62.155.240.1", 3), ("4.69.140.1", 1), ("80.156.160.162", 6), (EU_PATH[-1][0], 9)]
    pool = [[(a, base + rng.randrange(0, 30)) for a, base in hops[: rng.randrange(3, 6)]] for _ in range(25)]
    for i in range(150):
        # the same lowest RTTs, other probes anywhere above them: the memo's key
        path = [
            (a, rng.sample([low, low + rng.randrange(0, 9), low + rng.randrange(0, 9)], 3))
            for a, low in rng.choice(pool)
        ]
        item = FleetItem(f"PC-{i}", line(f"PC-{i}", path))
        got = memo.judge(item).endpoints[0]
        fresh = _judge(providers).judge(item).endpoints[0]
        assert (got.verdict, got.reason) == (fresh.verdict, fresh.reason), path
    assert memo.memo_hits > 10


def test_test_netconnection_hops_are_placed_without_physics(providers):
    from mistral_sov.adapters.fleet.tracert import tnc_line

    text = (DATA / "tnc-traceroute-utf16.txt").read_bytes().decode("utf-16")
    out = _judge(providers).judge(FleetItem("PC-TNC", tnc_line(text, "PC-TNC", "2026-12-03T11:00:00Z")))
    (ep,) = out.endpoints
    assert ep.verdict is Verdict.WARNING and "hop 3 is silent" in ep.reason  # placed, nothing outside the EU
    bad = tnc_line(text.replace("80.156.160.162", "4.69.140.1"), "PC-TNC2", "2026-12-03T11:00:00Z")
    (ep,) = _judge(providers).judge(FleetItem("PC-TNC2", bad)).endpoints
    assert ep.verdict is Verdict.VIOLATION
    assert any("no per-hop RTT" in n for n in ep.check.residency.fidelity_notes)


def test_a_device_without_site_vantage_points_to_fleet_sites(providers):
    """Physics not evaluated for a fleet device names --fleet-sites (the policy's vantage and
    --probes do not apply to PCs), in the same words for every device."""
    judge = _judge(providers, site_vantage=lambda _site: None)
    outs = [judge.judge(FleetItem(f"PC-{i}", line(f"PC-{i}", site={"ad": f"S{i}"}), "")) for i in range(2)]
    reasons = {o.endpoints[0].reason for o in outs}
    assert len(reasons) == 1
    reason = reasons.pop()
    assert reason.startswith("RES-NOT-EVALUATED") and "--fleet-sites" in reason and "--probes" not in reason
    failing = _judge(providers, site_vantage=lambda _site: None)
    failing.ctx.physics_action = "fail"
    check = failing.judge(FleetItem("PC-9", line("PC-9"), "")).endpoints[0].full_check()
    assert check is not None
    finding = next(f for f in check.findings if f.rule_id == "RES-NOT-EVALUATED")
    assert "--fleet-sites" in finding.hint and "--probes" not in finding.hint
