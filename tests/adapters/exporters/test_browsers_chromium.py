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
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import MARKER, LoopbackSite, free_port, installed, require, stop

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters.browsers import EXPORTER
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"
POLICY_DIR = Path("/etc/chromium/policies/managed")
POLICY_FILE = POLICY_DIR / "zz-mistral-sov-test.json"

# the JavaScript the policy page is read with: every row of every (shadow-DOM) policy table
ROWS_JS = r"""(() => {
  const out = [];
  function walk(root) {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.classList && el.classList.contains('policy') && el.classList.contains('row')) {
        out.push(el.innerText.replace(/\s+/g, ' ').trim());
      }
    }
  }
  walk(document);
  return JSON.stringify(out);
})()"""


class Chromium:
    """One headless Chromium driven over the DevTools protocol (websocket)."""

    def __init__(self, site_port: int) -> None:
        import websocket

        binary = require("chromium")
        self.port = free_port()
        self.profile = tempfile.TemporaryDirectory(prefix="mistral-sov-chromium-", ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={self.profile.name}",
                f"--remote-debugging-port={self.port}",
                f"--host-resolver-rules=MAP * 127.0.0.1:{site_port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        targets: list[dict] = []
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json", timeout=2) as resp:
                    targets = json.load(resp)
                if any(t.get("type") == "page" for t in targets):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        page = next((t for t in targets if t.get("type") == "page"), None)
        if page is None:
            self.close()
            pytest.fail("Chromium did not open its DevTools endpoint within 30 s")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.call("Page.enable")

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def navigate(self, url: str) -> str:
        """Navigate and wait for the load; returns the network error text ('' when it loaded)."""
        result = self.call("Page.navigate", url=url)
        error = str(result.get("errorText", ""))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = self.evaluate("document.readyState")
            if state == "complete":
                break
            time.sleep(0.05)
        return error

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        stop(self.proc)
        self.profile.cleanup()


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


def policy_rows(chromium: Chromium) -> dict[str, str]:
    chromium.navigate("chrome://policy")
    rows: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rows = json.loads(str(chromium.evaluate(ROWS_JS)))
        if any("Mandatory" in r for r in rows):
            break
        time.sleep(0.3)
    out = {}
    for row in rows:
        name, _, rest = row.partition(" ")
        out[name] = rest
    return out


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
