"""Residency fields of the policy: region or vantage outside allowed_countries is a located
error (exit 2); 'global' deployments; evidence.max_data_age keys."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clihelp import run_cli

BASE = "version: 1\norganization: T\nzones: {allowed_countries: [EU]}\n"


def validate(tmp_path, text):
    path = tmp_path / "sovereignty.yaml"
    path.write_text(text, encoding="utf-8")
    return run_cli("policy", "validate", "-p", str(path))


def test_region_outside_the_zone_is_a_located_error(tmp_path):
    res = validate(
        tmp_path,
        BASE + "endpoints:\n  - name: ch\n    url: https://ch.example.eu\n    region: azure:switzerlandnorth\n",
    )
    assert res.code == 2
    assert "sovereignty.yaml:7:13: error: endpoints[0].region: region 'azure:switzerlandnorth' is in CH" in res.err
    ok = validate(
        tmp_path,
        BASE + "endpoints:\n  - name: de\n    url: https://de.example.eu\n    region: azure:germanywestcentral\n",
    )
    assert ok.code == 0, ok.err


def test_vantage_outside_the_zone_is_a_located_error(tmp_path):
    res = validate(tmp_path, BASE + "vantage: {city: Zurich}\n")
    assert res.code == 2 and "sovereignty.yaml:4:" in res.err and "outside zones.allowed_countries" in res.err
    res = validate(tmp_path, BASE + "vantage: {lat: 40.71, lon: -74.0}\n")
    assert res.code == 2 and "vantage.lat" in res.err
    assert validate(tmp_path, BASE + "vantage: {lat: 50.11, lon: 8.68}\n").code == 0
    assert validate(tmp_path, BASE + "vantage: {city: Frankfurt}\n").code == 0


def test_global_deployment_warns_and_max_data_age_keys_are_checked(tmp_path):
    res = validate(tmp_path, BASE + "endpoints:\n  - name: g\n    url: https://g.example.eu\n    deployment: global\n")
    assert res.code == 0 and "warning: endpoints[0].deployment" in res.err
    res = validate(
        tmp_path,
        BASE.replace("[EU]", "[DE]")
        + "endpoints:\n  - name: dz\n    url: https://dz.example.eu\n    region: azure:germanywestcentral\n"
        "    deployment: datazone\n",
    )
    assert res.code == 0 and "warning: endpoints[0].deployment" in res.err and "EU data zone" in res.err
    res = validate(tmp_path, BASE + "evidence:\n  max_data_age: {rangez: 3}\n")
    assert res.code == 2 and "rangez" in res.err
    res = validate(tmp_path, BASE + "evidence:\n  max_data_age: {ranges: 0}\n")
    assert res.code == 2
    assert validate(tmp_path, BASE + "evidence:\n  physics: fail\n  max_data_age: {ranges: 7}\n").code == 0
