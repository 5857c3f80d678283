"""Edge is not in Debian, but it is built on Chromium's policy engine: with
``browsers/edge-managed.json`` installed as Chromium machine policy, every policy the two
browsers share must be applied (``OK``) and its URL filters must block and allow exactly as
Chrome's; the names Chromium does not know must be exactly the Edge-only rows of the controls
table, each of which is a setting in Microsoft's tracked definition list (the snapshot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import POLICY_FILE, Chromium, LoopbackSite, installed, policy_rows, require

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import catalog_ids
from mistral_sov.adapters.exporters.browsers import EXPORTER
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"


def test_edge_file_in_the_chromium_engine():
    require("chromium")
    policy = load_policy(DATA, load_catalog()).policy
    files = {a.path: a.data for a in EXPORTER.render(policy, load_catalog(), ExportOptions())}
    edge = json.loads(files["browsers/edge-managed.json"])
    chrome = json.loads(files["browsers/chrome-managed.json"])
    with LoopbackSite() as site, installed(POLICY_FILE, files["browsers/edge-managed.json"]):
        chromium = Chromium(site.port)
        try:
            rows = policy_rows(chromium)
            blocked = chromium.navigate("http://chatgpt.com/")
            allowed = chromium.navigate("http://api.mistral.ai/v1/models")
        finally:
            chromium.close()
    shared = {name for name in edge if name in chrome}
    assert {"URLBlocklist", "URLAllowlist", "DnsOverHttpsMode", "BuiltInAIAPIsEnabled"} <= shared
    applied = {name for name in edge if rows.get(name, "").endswith(" OK")}
    assert applied == shared, {n: rows.get(n) for n in applied ^ shared}
    edge_only = set(edge) - shared
    assert edge_only, "the Edge file has Edge-specific switches"
    for name in edge_only:  # Chromium reports a name it does not know as an error row
        assert rows.get(name, "").endswith(" Error"), (name, rows.get(name))
    snapshot = catalog_ids.snapshot()
    for name in edge_only:
        assert any("microsoft_edge" in sid and sid.endswith("_" + name.lower()) for sid in snapshot), name
    assert blocked == "net::ERR_BLOCKED_BY_ADMINISTRATOR" and allowed == ""
    assert ("chatgpt.com", "/") not in site.seen and ("api.mistral.ai", "/v1/models") in site.seen
