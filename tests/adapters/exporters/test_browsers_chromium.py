"""Headless Chromium is the judge of ``browsers/chrome-managed.json``: the exported file is
installed as machine policy (``/etc/chromium/policies/managed/``), Chromium's own policy page
must report every exported policy as applied (``OK``: no error, warning, conflict, deprecation
or unknown name), blocked catalog hosts must be refused by policy (``ERR_BLOCKED_BY_ADMINISTRATOR``,
and the request never reaches the server), the approved endpoints and their sub-paths must
load, and look-alike hosts must not be confused with either.

Every host resolves to one loopback server (``--host-resolver-rules``). One browser launch
serves the whole module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import MARKER, POLICY_FILE, Chromium, LoopbackSite, installed, policy_rows, require

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters.browsers import EXPORTER
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"


@pytest.fixture(scope="module")
def exported() -> dict:
    policy = load_policy(DATA, load_catalog()).policy
    files = {a.path: a.data for a in EXPORTER.render(policy, load_catalog(), ExportOptions())}
    return {"bytes": files["browsers/chrome-managed.json"], "doc": json.loads(files["browsers/chrome-managed.json"])}


@pytest.fixture(scope="module")
def browser(exported):
    require("chromium")
    with LoopbackSite() as site, installed(POLICY_FILE, exported["bytes"]):
        chromium = Chromium(site.port)
        try:
            yield chromium, site
        finally:
            chromium.close()


def test_chrome_policy_page_reports_every_exported_policy_ok(browser, exported):
    chromium, _site = browser
    rows = policy_rows(chromium)
    assert len(rows) > 300, "chrome://policy did not list Chromium's policies"
    exported_names = set(exported["doc"])
    assert len(exported_names) >= 15
    for name in sorted(exported_names):
        assert name in rows, f"{name}: unknown to Chromium (not on chrome://policy)"
        status = rows[name]
        assert "Platform Machine Mandatory" in status, (name, status)
        assert status.endswith(" OK"), f"{name}: {status}"  # not Error / Warning / Conflict / Deprecated
    set_rows = {n for n, s in rows.items() if "Not set" not in s}
    assert set_rows == exported_names, f"unexpected policies set: {set_rows ^ exported_names}"
    # the cloud-only switch is not in the file (Chromium would say 'Error': not from a cloud source)
    assert "GenAiDefaultSettings" not in exported_names


@pytest.mark.parametrize(
    "url",
    [
        "http://chatgpt.com/",
        "http://chatgpt.com/c/abc?q=1",
        "http://sub.chatgpt.com/",
        "http://claude.ai/new",
        "http://chat.example-ai.com/",
        "http://gemini.google.com/app",
    ],
)
def test_blocked_hosts_are_refused_by_policy(browser, url):
    chromium, site = browser
    before = len(site.seen)
    error = chromium.navigate(url)
    assert error == "net::ERR_BLOCKED_BY_ADMINISTRATOR", (url, error)
    assert len(site.seen) == before, f"{url} reached the server: {site.seen[before:]}"


@pytest.mark.parametrize(
    "url",
    [
        "http://api.mistral.ai/",
        "http://api.mistral.ai/v1/chat/completions",
        "http://llm.klinikum-beispiel.de/v1/models",
        # look-alikes are neither blocked nor confused with the approved endpoint
        "http://chatgpt.com.evil.example/",
        "http://notchatgpt.com/",
        "http://api.mistral.ai.evil.example/",
    ],
)
def test_approved_and_lookalike_hosts_load(browser, url):
    chromium, site = browser
    error = chromium.navigate(url)
    assert error == "", (url, error)
    text = str(chromium.evaluate("document.body ? document.body.innerText : ''"))
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3]
    assert text == f"{MARKER} {host} {path}", (url, text)
    assert (host, path) in site.seen
