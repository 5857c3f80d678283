"""Real browsers as judges of the exported policies (marker ``browser``).

- ``LoopbackSite``: one HTTP server on 127.0.0.1 that answers every host with a marker page
  naming the Host header and path, and records every request it sees (a URL a policy blocks
  never reaches it).
- ``installed(path, data)``: installs a policy file the test owns, refusing to overwrite a file
  it did not write, and removes it afterwards.
- ``require(binary)``: the browser must be installed; a skip locally, a failure under CI=true
  (``.ci/run`` installs chromium and firefox-esr).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

MARKER = "MISTRAL-SOV-LOOPBACK-OK"


def require(binary: str) -> str:
    found = shutil.which(binary)
    if not found:
        message = f"{binary} is not installed (apt-get install {binary}); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        pytest.skip("installing machine policy needs root")
    return found


def stop(proc: subprocess.Popen) -> None:
    """End a browser started with ``start_new_session=True`` and every process it spawned
    (its own process group only), then reap it."""
    import signal

    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
    time.sleep(0.2)  # let the group's other processes exit before the profile is removed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackSite:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                path = self.path
                if path.startswith("http://"):  # proxy-style request line
                    rest = path[len("http://") :]
                    host, _, tail = rest.partition("/")
                    host, path = host.split(":")[0].lower(), "/" + tail
                site.seen.append((host, path))
                body = f"<html><body><p id='m'>{MARKER} {host} {path}</p></body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def hosts(self) -> set[str]:
        return {h for h, _ in self.seen}


@contextlib.contextmanager
def installed(path: Path, data: bytes) -> Iterator[Path]:
    """Write ``data`` at ``path`` for the duration; never replace a file someone else wrote
    (a sidecar ``<name>.mistral-sov-test`` marks files this suite wrote, e.g. after a crash)."""
    sidecar = path.with_name(path.name + ".mistral-sov-test")
    if path.exists() and not sidecar.exists():
        pytest.fail(f"{path} exists and was not written by this test suite; remove it or test elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_bytes(b"")
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)


# --------------------------------------------------------------------------- Chromium

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
