"""Live RIPE Atlas through ripe-atlas-cousteau: recorded API answers, in the shapes the Atlas
API documents (creation, status, results, probes, errors), replayed through the library's own
HTTP layer (requests, intercepted by ``responses``). The commands: tests/cli/test_atlas.py."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from atlas_api_samples import API, EU_HOPS, MSM, api, result

from mistral_sov.adapters import atlas_live
from mistral_sov.adapters.atlas_live import AtlasClient, AtlasError, Selection, load_key
from mistral_sov.errors import InputError, MissingBackendError


@responses.activate
def test_create_wait_results_probes_through_the_library():
    api(responses.mock, [result(6001, "91.12.0.10", EU_HOPS)])
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
