"""The chat page in headless Chromium: page assets from the wheel's templates, a streamed
answer rendered as it arrives, a strict CSP that blocks injected scripts (external and inline),
and a screenshot kept as a CI artifact. The answer here comes from a scripted SSE endpoint; the
real-model run is in test_chat_page_llm.py."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cdp import Browser

from mistral_sov.adapters.inference.chat_page import ChatInfo, chat_routes, content_security_policy

SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WORDS = ["Article", " 5", " GDPR", " sets", " the", " principles", " of", " processing", "."]


def scripted_app(seen: list[dict[str, Any]]) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def completions(request: Any) -> Any:
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})

        async def events():  # type: ignore[no-untyped-def]
            for word in WORDS:
                chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": word}}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                await asyncio.sleep(0.15)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    info = ChatInfo(
        "smollm2",
        "apache-2.0",
        SHA,
        sealed=True,
        organization="Klinikum Beispielstadt",
        enforce_local_only=True,
        managed_sources=["HKLM\\Software\\Policies\\Mistral AI\\Sovereign"],
    )
    return Starlette(routes=[*chat_routes(info), Route("/v1/chat/completions", completions, methods=["POST"])])


class EvilServer:
    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits.append(self.path)
                body = b"window.pwned = true;"
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def served():
    from mistral_sov.adapters.inference.server import ServerThread

    seen: list[dict[str, Any]] = []
    with ServerThread(scripted_app(seen)) as server:
        yield server.url, seen


def test_page_headers_and_assets(served):
    url, _ = served
    with urllib.request.urlopen(url + "/") as r:
        html = r.read().decode()
        assert r.headers["Content-Security-Policy"] == content_security_policy()
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # no external asset
    for asset in ("/chat/app.js", "/chat/app.css"):
        with urllib.request.urlopen(url + asset) as r:
            assert r.status == 200 and "no-store" in r.headers["Cache-Control"]
    with urllib.request.urlopen(url + "/chat/info") as r:
        info = json.load(r)
    assert info["model"] == {"name": "smollm2", "license": "apache-2.0", "sha256": SHA, "sealed": True}


@pytest.mark.browser
def test_chromium_types_a_prompt_and_sees_a_streamed_answer_and_csp_blocks_injection(served):
    url, seen = served
    evil = EvilServer()
    try:
        with Browser() as b:
            b.navigate(url + "/")
            b.wait_for("document.body.dataset.ready === 'true'", 20)
            assert b.evaluate("document.getElementById('model-sha').textContent") == SHA
            assert "Local only" in b.evaluate("document.getElementById('status').textContent")
            # count text updates of the answer as they arrive: streamed, not all at once
            b.evaluate(
                "window.updates = 0; new MutationObserver(() => window.updates++)"
                ".observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true})"
            )
            b.evaluate("document.getElementById('prompt').focus()")
            b.send("Input.insertText", text="Summarise GDPR article 5")
            b.evaluate("document.getElementById('send').click()")
            b.wait_for("!!document.querySelector('li.assistant[data-done]')", 20)
            answer = b.evaluate("document.querySelector('li.assistant').textContent")
            assert answer == "".join(WORDS)
            assert b.evaluate("window.updates") >= len(WORDS)
            assert seen[-1]["body"]["stream"] is True
            assert seen[-1]["body"]["messages"] == [{"role": "user", "content": "Summarise GDPR article 5"}]
            shot = b.screenshot("chat-page-scripted.png")
            assert shot.stat().st_size > 10_000

            # injected scripts: an external one and an inline one
            b.evaluate(
                f"(() => {{ const s = document.createElement('script'); s.src = '{evil.url}/evil.js';"
                " document.head.appendChild(s);"
                " const i = document.createElement('script'); i.textContent = 'window.inlined = true';"
                " document.head.appendChild(i); })()"
            )
            import time

            time.sleep(1.5)
            assert b.evaluate("window.pwned === undefined && window.inlined === undefined")
            assert evil.hits == [], "the browser fetched the injected script"
            csp_reports = [m for m in b.console_messages() if "Content Security Policy" in m]
            assert len(csp_reports) >= 2, b.console_messages()
    finally:
        evil.close()
