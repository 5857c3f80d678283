"""``mistral-sov atlas``: the commands over recorded RIPE Atlas API answers (through the
library's HTTP layer, intercepted by ``responses``); judged exactly as ``--from-atlas``."""

from __future__ import annotations

import json

import requests
import responses
from atlas_api_samples import API, EU_HOPS, MSM, PROBES, US_HOPS, api, result
from clihelp import run_cli
from fleet_samples import write_policy

from mistral_sov.adapters import atlas_live

# ----------------------------------------------------------------------------- the command


@responses.activate
def test_atlas_measure_judges_like_from_atlas(tmp_path, monkeypatch):
    monkeypatch.setenv(atlas_live.KEY_ENV, "secret-key")
    monkeypatch.setattr(atlas_live.time, "sleep", lambda _s: None)
    policy = write_policy(tmp_path)
    results = [result(6001, "91.12.0.10", EU_HOPS), result(6002, "91.12.0.11", US_HOPS)]
    api(responses.mock, results)
    out_r, out_p = tmp_path / "r.jsonl", tmp_path / "p.json"
    res = run_cli(
        "atlas", "measure", "-p", str(policy), "--country", "DE", "--probes-per", "2", "--wait", "30",
        "--results-out", str(out_r), "--probes-out", str(out_p), "--ranges-dir", str(tmp_path / "rg"), "-o", "json",
    )  # fmt: skip
    assert res.code == 1, res.err  # probe 6002's path crosses the US
    doc = json.loads(res.out)
    assert doc["metadata"]["evidence"]["atlas_measurements"]["ids"] == [MSM]
    assert doc["metadata"]["evidence"]["measurements"]["summary"] == "compliant from 1 of 2 vantage points"
    assert "secret-key" not in res.out + res.err + out_r.read_text() + out_p.read_text()
    # the same files through --from-atlas give the same verdicts
    again = run_cli(
        "verify-residency", "-p", str(policy), "--from-atlas", str(out_r), "--probes", str(out_p),
        "--ranges-dir", str(tmp_path / "rg"), "-o", "json",
    )  # fmt: skip
    assert again.code == 1
    verdicts = sorted((c["name"], c["verdict"]) for c in json.loads(again.out)["checks"])
    assert verdicts == sorted((c["name"], c["verdict"]) for c in doc["checks"])
    frankfurt = next(c for c in doc["checks"] if "6001" in c["name"])
    assert frankfurt["details"]["vantage"]["lat"] == 50.11  # physics from the probe's location


def test_atlas_measure_refuses_probes_outside_the_zone_and_needs_a_key(tmp_path, monkeypatch):
    policy = write_policy(tmp_path)
    monkeypatch.delenv(atlas_live.KEY_ENV, raising=False)
    res = run_cli("atlas", "measure", "-p", str(policy), "--country", "US")
    assert res.code == 2 and "outside the policy's allowed countries" in res.err
    res = run_cli("atlas", "measure", "-p", str(policy), "--country", "DE")
    assert res.code == 4 and "RIPE_ATLAS_KEY" in res.err
    res = run_cli("atlas", "measure", "-p", str(policy), "--key", "abc")
    assert res.code == 2  # no such option: the key never goes on the command line


@responses.activate
def test_atlas_probes_saves_the_probes_api_format(tmp_path):
    responses.add(responses.GET, f"{API}/probes/", json=PROBES)
    out = tmp_path / "probes.json"
    res = run_cli("atlas", "probes", "--country", "DE", "--out", str(out))
    assert res.code == 0, res.err
    from mistral_sov.adapters.atlas import load_probes

    directory = load_probes(out)
    assert directory.probes[6001].lat == 50.11 and directory.probes[6002].country == "DE"
    assert "country_code=DE" in responses.calls[0].request.url


@responses.activate
def test_atlas_offline_exits_4(tmp_path, monkeypatch):
    monkeypatch.setenv(atlas_live.KEY_ENV, "k")
    responses.add(
        responses.POST, f"{API}/measurements/", body=requests.exceptions.ConnectionError("Name or service not known")
    )
    res = run_cli("atlas", "measure", "-p", str(write_policy(tmp_path)), "--country", "DE")
    assert res.code == 4 and "unreachable" in res.err and "Traceback" not in res.err
