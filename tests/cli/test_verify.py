"""``verify-residency --from-atlas`` end to end (in-process): the 19 shared RIPE Atlas results,
probes files, hostile input (exit 2 located, never a traceback), parsed reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clihelp import run_cli
from sharedpaths import shared_path

POLICY = """\
version: 1
organization: Atlas Test Bank
zones:
  allowed_countries: [EU]
  operator_jurisdictions: {US: warn, CN: fail}
blocking:
  exceptions: [api.mistral.ai]
endpoints:
  - name: mistral
    url: https://API.Mistral.ai
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./sovereignty.yaml of the caller's is picked up


def atlas(tmp_path, *args):
    return run_cli("verify-residency", "--ranges-dir", str(tmp_path / "no-ranges"), "-o", "json", *args)


def test_shared_results_without_policy_count_distinct_probes(tmp_path):
    res = atlas(tmp_path, "--from-atlas", str(shared_path("fixtures/ripe-atlas/traceroutes.jsonl")))
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    m = doc["metadata"]["evidence"]["measurements"]
    assert m["results"] == 19 and m["vantage_points"] == 10  # 19 results from 10 probes
    assert m["summary"] == "compliant from 0 of 10 vantage points"
    assert all(r["verdict"] in ("VIOLATION", "INCONCLUSIVE") for r in m["per_vantage"])
    # without a probes file the country is only where the probe's address is registered, and says so
    per = {r["vantage_id"]: r for r in m["per_vantage"]}
    assert per["atlas-probe:22586"]["country"] == "RS"
    assert per["atlas-probe:22586"]["country_from"] == "address registration"
    # the measurement time is the Atlas timestamp
    first = doc["checks"][0]["details"]
    assert first["measured_at"] == "2012-06-22T01:39:50+00:00" and first["source"] == "ripe-atlas"


def test_shared_results_for_other_targets_leave_the_endpoint_inconclusive(tmp_path):
    policy = tmp_path / "sovereignty.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    res = atlas(tmp_path, "-p", str(policy), "--from-atlas", str(shared_path("fixtures/ripe-atlas/traceroutes.jsonl")))
    assert res.code == 3, res.err
    doc = json.loads(res.out)
    assert doc["verdict"] == "INCONCLUSIVE"
    assert doc["metadata"]["evidence"]["measurements"]["out_of_policy"] == 19
    missing = [c for c in doc["checks"] if c["verdict"] == "INCONCLUSIVE"]
    assert len(missing) == 1 and missing[0]["findings"][0]["rule_id"] == "RES-NO-MEASUREMENT"
    assert missing[0]["findings"][0]["location"]["line"] == 10


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"type": "traceroute", "result": [{"hop": 1, "result": [{"from": "1.2.3.999", "rtt": 1}]}]}\n', ":1:"),
        ('{"type": "traceroute", "dst_addr": "x", "result": []}\n', ":1:"),
        ('{"type": "traceroute", "result": []}\n{"type": "traceroute"}\n', ":2:"),
        ("[1, 2]", ":1:"),
        ("{oops\n", ":1:"),
        ("", "no RIPE Atlas results"),
        ('{"type": "ping", "result": []}\n', "not traceroute"),
    ],
)
def test_hostile_atlas_files_exit_2_located(tmp_path, content, needle):
    f = tmp_path / "r.jsonl"
    f.write_text(content, encoding="utf-8")
    res = atlas(tmp_path, "--from-atlas", str(f))
    assert res.code == 2, (res.out, res.err)
    assert needle in res.err and "Traceback" not in res.err


def test_probes_option(tmp_path):
    results = shared_path("fixtures/ripe-atlas/traceroutes.jsonl")
    bad = tmp_path / "probes.json"
    bad.write_text('{"results": [{"id": "x"}]}', encoding="utf-8")
    res = atlas(tmp_path, "--from-atlas", str(results), "--probes", str(bad))
    assert res.code == 2 and "probes.json:1:1" in res.err
    res = atlas(tmp_path, "--from-atlas", str(results), "--probes", str(tmp_path / "absent.json"))
    assert res.code == 2 and "not found" in res.err
    res = run_cli("verify-residency", "203.0.113.1", "--probes", "many")
    assert res.code == 2 and "--probes" in res.err
    res = atlas(tmp_path, "--from-atlas", str(results), "--vantage", "Frankfurt")
    assert res.code == 2 and "--vantage" in res.err
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps({"results": [{"id": 426, "country_code": "US", "geometry": {"coordinates": [-121.99, 37.55]}}]}),
        encoding="utf-8",
    )
    res = atlas(tmp_path, "--from-atlas", str(results), "--probes", str(good))
    doc = json.loads(res.out)
    per = {r["vantage_id"]: r for r in doc["metadata"]["evidence"]["measurements"]["per_vantage"]}
    assert per["atlas-probe:426"]["country"] == "US"
    # every other probe is missing from the file: physics not evaluated, so INCONCLUSIVE at best
    other = [c for c in doc["checks"] if "atlas-probe:190" in c["name"]]
    assert other and all(c["verdict"] in ("INCONCLUSIVE", "VIOLATION") for c in other)
    assert any(n["check"] == "physics" for n in other[0]["details"]["not_evaluated"])


def test_without_policy_nothing_is_out_of_policy(tmp_path):
    res = atlas(tmp_path, "--from-atlas", str(shared_path("fixtures/ripe-atlas/traceroutes.jsonl")))
    assert json.loads(res.out)["metadata"]["evidence"]["measurements"]["out_of_policy"] == 0
