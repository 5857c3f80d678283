"""Live RIPE Atlas through ripe-atlas-cousteau: recorded API answers, in the shapes the Atlas
API documents (creation, status, results, probes, errors), replayed through the library's own
HTTP layer (requests, intercepted by ``responses``); and the CLI on top of it."""

from __future__ import annotations

import json
import time

import pytest
import requests
import responses
from clihelp import run_cli
from fleet_samples import write_policy

from mistral_sov.adapters import atlas_live
from mistral_sov.adapters.atlas_live import AtlasClient, AtlasError, Selection, load_key
from mistral_sov.errors import InputError, MissingBackendError

API = "https://atlas.ripe.net/api/v2"
MSM = 87654321
DEST = "51.159.105.130"


def _result(prb: int, src: str, hops: list[tuple[str, float]], *, reached: bool = True) -> dict:
    now = int(time.time()) - 120
    out = []
    for i, (addr, rtt) in enumerate(hops, start=1):
        last = i == len(hops) and reached
        reply = {"from": addr, "rtt": rtt, "size": 40 if last else 68, "ttl": 60 - i}
        if last:
            reply["flags"] = "SA"
        out.append(
            {
                "hop": i,
                "result": [dict(reply), dict(reply, rtt=round(rtt + 0.2, 3)), dict(reply, rtt=round(rtt + 0.1, 3))],
            }
        )
    return {
        "af": 4, "dst_addr": DEST, "dst_name": "api.mistral.ai", "endtime": now + 3, "from": src, "fw": 5080,
        "lts": 12, "msm_id": MSM, "msm_name": "Traceroute", "paris_id": 0, "prb_id": prb, "proto": "TCP",
        "result": out, "size": 0, "src_addr": "192.168.1.10", "timestamp": now, "type": "traceroute",
    }  # fmt: skip


EU_HOPS = [("192.168.1.1", 0.6), ("62.155.240.1", 3.1), ("80.156.160.162", 6.4), (DEST, 9.8)]
US_HOPS = [("192.168.1.1", 0.5), ("62.155.240.1", 3.0), ("4.69.140.1", 88.0), (DEST, 96.0)]
PROBES = {
    "count": 2,
    "next": None,
    "previous": None,
    "results": [
        {
            "id": 6001, "address_v4": "91.12.0.10", "asn_v4": 3320, "country_code": "DE", "description": "Frankfurt",
            "geometry": {"type": "Point", "coordinates": [8.68, 50.11]}, "is_anchor": False, "is_public": True,
            "prefix_v4": "91.0.0.0/10", "status": {"id": 1, "name": "Connected", "since": "2026-11-01T00:00:00Z"},
            "tags": [{"name": "system: IPv4 Works", "slug": "system-ipv4-works"}], "type": "Probe",
        },
        {
            "id": 6002, "address_v4": "91.12.0.11", "asn_v4": 3320, "country_code": "DE", "description": "Berlin",
            "geometry": {"type": "Point", "coordinates": [13.40, 52.52]}, "is_anchor": False, "is_public": True,
            "prefix_v4": "91.0.0.0/10", "status": {"id": 1, "name": "Connected", "since": "2026-11-01T00:00:00Z"},
            "tags": [{"name": "system: IPv4 Works", "slug": "system-ipv4-works"}], "type": "Probe",
        },
    ],
}  # fmt: skip


def _status(name: str, sid: int) -> dict:
    return {
        "id": MSM, "af": 4, "type": "traceroute", "protocol": "TCP", "port": 443, "target": "api.mistral.ai",
        "description": "mistral-sov residency api.mistral.ai:443", "is_oneoff": True, "participant_count": 2,
        "probes_requested": 2, "probes_scheduled": 2, "status": {"id": sid, "name": name, "when": None},
    }  # fmt: skip


def _api(rs: responses.RequestsMock, results: list[dict]) -> None:
    rs.add(responses.POST, f"{API}/measurements/", json={"measurements": [MSM]}, status=201)
    rs.add(responses.GET, f"{API}/measurements/{MSM}/", json=_status("Ongoing", 2))
    rs.add(responses.GET, f"{API}/measurements/{MSM}/", json=_status("Stopped", 4))
    rs.add(responses.GET, f"{API}/measurements/{MSM}/results", json=results)
    rs.add(responses.GET, f"{API}/probes/", json=PROBES)


@responses.activate
def test_create_wait_results_probes_through_the_library():
    _api(responses.mock, [_result(6001, "91.12.0.10", EU_HOPS)])
    slept: list[float] = []
    client = AtlasClient("secret-key", sleep=slept.append)
    msm = client.create_traceroute("api.mistral.ai", 443, [Selection("country", "DE", 2), Selection("asn", "3320", 1)])
    assert msm == MSM
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Key secret-key"
    body = json.loads(sent.body)
    (definition,) = body["definitions"]
    assert definition["type"] == "traceroute" and definition["protocol"] == "TCP" and definition["port"] == 443
    assert definition["target"] == "api.mistral.ai" and definition["af"] == 4 and body["is_oneoff"] is True
    assert body["probes"][0] == {
        "type": "country", "value": "DE", "requested": 2, "tags": {"include": ["system-ipv4-works"]},
    }  # fmt: skip
    assert body["probes"][1]["type"] == "asn" and body["probes"][1]["value"] == "3320"
    seen = []
    assert client.wait([MSM], timeout_s=60, interval_s=5, on_progress=lambda d, n, s: seen.append((d, n))) == {
        MSM: "Stopped"
    }
    assert slept == [5] and seen == [(0, 1), (1, 1)]
    (res,) = client.results(MSM)
    assert res["prb_id"] == 6001
    probes = client.probes(id__in=[6001, 6002])
    assert [p["id"] for p in probes] == [6001, 6002]
    assert "id__in=6001,6002" in responses.calls[-1].request.url


@responses.activate
def test_errors_say_what_is_needed():
    responses.add(
        responses.POST,
        f"{API}/measurements/",
        json={"error": {"status": 403, "code": 104, "title": "Forbidden", "detail": "The provided API key does not have the required permissions"}},
        status=403,
    )  # fmt: skip
    client = AtlasClient("k", sleep=lambda _s: None)
    with pytest.raises(MissingBackendError) as err:
        client.create_traceroute("api.mistral.ai", 443, [Selection("country", "DE", 1)])
    assert "403" in err.value.message and "keys" in err.value.hint
    responses.replace(
        responses.POST,
        f"{API}/measurements/",
        json={"error": {"status": 400, "code": 102, "title": "Bad Request", "detail": "There was a problem with your request", "errors": [{"source": {"pointer": "/probes/0/value"}, "detail": "Invalid country code"}]}},
        status=400,
    )  # fmt: skip
    with pytest.raises(AtlasError, match="Invalid country code"):
        client.create_traceroute("api.mistral.ai", 443, [Selection("country", "XX", 1)])
    responses.replace(responses.POST, f"{API}/measurements/", body=requests.exceptions.ConnectionError("no route"))
    with pytest.raises(MissingBackendError) as err:
        client.create_traceroute("api.mistral.ai", 443, [Selection("country", "DE", 1)])
    assert "unreachable" in err.value.message and "--from-atlas" in err.value.hint


def test_key_from_env_or_file_never_argv(tmp_path, monkeypatch):
    monkeypatch.delenv(atlas_live.KEY_ENV, raising=False)
    with pytest.raises(MissingBackendError) as err:
        load_key()
    assert "RIPE_ATLAS_KEY" in err.value.hint and "--key-file" in err.value.hint
    monkeypatch.setenv(atlas_live.KEY_ENV, " abc-123 \n")
    assert load_key() == "abc-123"
    f = tmp_path / "key"
    f.write_text("\ufeffdef-456\n", encoding="utf-8")
    assert load_key(f) == "def-456"
    f.write_text("two words\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_key(f)


def test_library_missing_is_exit_4(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ripe(name, *args, **kwargs):
        if name.startswith("ripe"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ripe)
    with pytest.raises(MissingBackendError) as err:
        AtlasClient("k")
    assert "mistral-sov[atlas]" in err.value.hint


# ----------------------------------------------------------------------------- the command


@responses.activate
def test_atlas_measure_judges_like_from_atlas(tmp_path, monkeypatch):
    monkeypatch.setenv(atlas_live.KEY_ENV, "secret-key")
    monkeypatch.setattr(atlas_live.time, "sleep", lambda _s: None)
    policy = write_policy(tmp_path)
    results = [_result(6001, "91.12.0.10", EU_HOPS), _result(6002, "91.12.0.11", US_HOPS)]
    _api(responses.mock, results)
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
