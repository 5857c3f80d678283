"""Headless Firefox ESR is the judge of ``browsers/firefox-policies.json``: the exported file is
installed in the installation's ``distribution/`` folder; the policy engine must be active with
exactly the exported policies and values, ``about:policies`` must show them with no error,
blocked catalog hosts must be refused by policy (``blockedByPolicy``, the request never reaches
the server) while the approved endpoints, their sub-paths and look-alike hosts load.

Firefox is driven through Marionette (PyPI ``marionette-driver``); every host goes to one
loopback server through an HTTP proxy preference. A second, deliberately broken file proves
that the error check sees errors (the judge is not blind).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from browser_helpers import MARKER, LoopbackSite, free_port, installed, require, stop

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters.browsers import EXPORTER
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"
POLICIES_JSON = Path("/usr/lib/firefox-esr/distribution/policies.json")
ACTIVE = 1  # nsIEnterprisePolicies.ACTIVE

READ_ABOUT_POLICIES = """
const errorsHidden = document.getElementById('category-errors').hidden;
const errors = [...document.querySelectorAll('#errorsContent tr')].map(r => r.innerText.trim());
const active = [...document.querySelectorAll('#activeContent > tr, #activeContent tbody > tr')]
  .map(r => (r.querySelector('td') || {innerText: ''}).innerText.trim()).filter(Boolean);
return {errorsHidden, errors, active};
"""


class Firefox:
    def __init__(self, site_port: int) -> None:
        from marionette_driver.marionette import Marionette

        binary = require("firefox-esr")
        self.profile = tempfile.TemporaryDirectory(prefix="mistral-sov-firefox-", ignore_cleanup_errors=True)
        port = free_port()
        prefs = {
            "marionette.port": port,
            "network.proxy.type": 1,
            "network.proxy.http": "127.0.0.1",
            "network.proxy.http_port": site_port,
            "network.proxy.no_proxies_on": "",
            "network.proxy.allow_hijacking_localhost": True,
            "browser.shell.checkDefaultBrowser": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "toolkit.telemetry.reportingpolicy.firstRun": False,
            "app.update.disabledForTesting": True,
            "browser.startup.homepage_override.mstone": "ignore",
        }
        (Path(self.profile.name) / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()), encoding="utf-8"
        )
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--marionette",
                "-remote-allow-system-access",
                "--no-remote",
                "--profile",
                self.profile.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self.m = Marionette(host="127.0.0.1", port=port)
            self.m.raise_for_port(timeout=60)
            self.m.start_session()
        except Exception:
            self.close()
            raise

    def engine(self) -> tuple[int, dict]:
        with self.m.using_context("chrome"):
            status, active = self.m.execute_script(
                "return [Services.policies.status, JSON.parse(JSON.stringify(Services.policies.getActivePolicies()))]"
            )
        return int(status), active

    def about_policies(self) -> dict:
        self.m.navigate("about:policies")
        time.sleep(0.5)
        return dict(self.m.execute_script(READ_ABOUT_POLICIES))

    def load(self, url: str) -> str:
        """The page text, or ``error: <about:neterror…>`` when Firefox shows an error page."""
        from marionette_driver.errors import MarionetteException

        try:
            self.m.navigate(url)
        except MarionetteException as exc:
            return f"error: {exc.message}"
        return str(self.m.execute_script("return document.body ? document.body.innerText : ''"))

    def close(self) -> None:
        try:
            self.m.delete_session()
        except Exception:
            pass
        stop(self.proc)
        self.profile.cleanup()


@pytest.fixture(scope="module")
def exported() -> dict:
    policy = load_policy(DATA, load_catalog()).policy
    files = {a.path: a.data for a in EXPORTER.render(policy, load_catalog(), ExportOptions())}
    return {
        "bytes": files["browsers/firefox-policies.json"],
        "doc": json.loads(files["browsers/firefox-policies.json"]),
    }


@pytest.fixture(scope="module")
def browser(exported):
    require("firefox-esr")
    with LoopbackSite() as site, installed(POLICIES_JSON, exported["bytes"]):
        firefox = Firefox(site.port)
        try:
            yield firefox, site
        finally:
            firefox.close()


def test_policy_engine_active_with_exactly_the_exported_policies(browser, exported):
    firefox, _site = browser
    status, active = firefox.engine()
    assert status == ACTIVE
    assert active == exported["doc"]["policies"]  # names and values, as Firefox parsed them
    assert set(active) == {"AIControls", "DNSOverHTTPS", "WebsiteFilter"}


def test_about_policies_shows_them_with_no_errors(browser, exported):
    firefox, _site = browser
    page = firefox.about_policies()
    assert page["errors"] == [] and page["errorsHidden"] is True, page["errors"]
    assert set(exported["doc"]["policies"]) <= set(page["active"]), page["active"]


@pytest.mark.parametrize(
    "url",
    ["http://chatgpt.com/", "http://sub.chatgpt.com/c/1", "http://claude.ai/", "http://chat.example-ai.com/x"],
)
def test_blocked_hosts_are_refused_by_policy(browser, url):
    firefox, site = browser
    before = len(site.seen)
    text = firefox.load(url)
    assert text.startswith("error: ") and "blockedByPolicy" in text, (url, text[:200])
    assert len(site.seen) == before, f"{url} reached the server: {site.seen[before:]}"


@pytest.mark.parametrize(
    "url",
    [
        "http://api.mistral.ai/",
        "http://api.mistral.ai/v1/chat/completions",
        "http://llm.klinikum-beispiel.de/v1/models",
        "http://chatgpt.com.evil.example/",
        "http://notchatgpt.com/",
    ],
)
def test_approved_and_lookalike_hosts_load(browser, url):
    firefox, _site = browser
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3]
    assert firefox.load(url) == f"{MARKER} {host} {path}"


def test_the_error_check_sees_errors(tmp_path):
    """A policies.json Firefox rejects shows up as an error: the check above is not blind."""
    require("firefox-esr")
    broken = json.dumps({"policies": {"WebsiteFilter": {"Block": "chatgpt.com"}, "NoSuchPolicy": True}}).encode()
    with LoopbackSite() as site, installed(POLICIES_JSON, broken):
        firefox = Firefox(site.port)
        try:
            page = firefox.about_policies()
        finally:
            firefox.close()
    assert page["errorsHidden"] is False and page["errors"], page
    assert any("NoSuchPolicy" in e for e in page["errors"]), page["errors"]
