"""The chat page at ``/`` of ``local serve``: plain HTML/JS/CSS shipped under
``templates/chat/`` (read through ``resources``), no external asset, a strict
Content-Security-Policy, streaming answers over the server's own OpenAI API.

``/chat/info`` (public) tells the page the model's name, licence and SHA-256, whether the
weights are sealed, the sovereignty status and how to sign in (none, API key, or OIDC with the
authorization-code + PKCE flow against the identity provider). The page inserts every text with
``textContent``; the CSP forbids inline and foreign scripts, so an injected ``<script>`` runs
nowhere. starlette is imported on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ASSETS = {"/chat/app.js": ("chat/app.js", "text/javascript"), "/chat/app.css": ("chat/app.css", "text/css")}


def content_security_policy(connect_extra: list[str] | tuple[str, ...] = ()) -> str:
    connect = " ".join(["'self'", *connect_extra])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@dataclass
class ChatInfo:
    """What the page shows. ``auth``: ``{"mode": "none"|"api-key"|"oidc", ...}``."""

    model_name: str
    license: str
    sha256: str
    sealed: bool = False
    organization: str = ""
    enforce_local_only: bool = False
    managed_sources: list[str] = field(default_factory=list)
    auth: dict[str, Any] = field(default_factory=lambda: {"mode": "none"})

    def as_json(self) -> dict[str, Any]:
        summary = "Local only: this assistant runs on this machine; prompts and answers do not leave it."
        if self.enforce_local_only:
            summary += " Cloud AI services are blocked by policy."
        if self.managed_sources:
            summary += " Policy managed by your administrator."
        return {
            "organization": self.organization,
            "model": {"name": self.model_name, "license": self.license, "sha256": self.sha256, "sealed": self.sealed},
            "sovereignty": {
                "local_only": True,
                "enforce_local_only": self.enforce_local_only,
                "managed_policy": self.managed_sources,
                "summary": summary,
            },
            "auth": self.auth,
        }

    def connect_origins(self) -> list[str]:
        """Origins the page may call besides its own: the IdP token endpoint for sign-in."""
        token = self.auth.get("token_endpoint") if self.auth.get("mode") == "oidc" else None
        if not token:
            return []
        parts = urlsplit(str(token))
        return [f"{parts.scheme}://{parts.netloc}"]


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def chat_routes(info: ChatInfo) -> list[Any]:
    """Starlette routes for the page, its two assets and ``/chat/info``."""
    from starlette.responses import Response
    from starlette.routing import Route

    from mistral_sov import resources

    headers = security_headers(content_security_policy(info.connect_origins()))
    page = resources.read_bytes("chat/index.html")
    assets = {path: (resources.read_bytes(rel), media) for path, (rel, media) in ASSETS.items()}
    info_body = json.dumps(info.as_json(), ensure_ascii=False).encode("utf-8")

    async def index(request: Any) -> Any:
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    async def asset(request: Any) -> Any:
        data, media = assets[request.url.path]
        return Response(data, media_type=f"{media}; charset=utf-8", headers=headers)

    async def chat_info(request: Any) -> Any:
        return Response(info_body, media_type="application/json", headers=headers)

    return [
        Route("/", index, methods=["GET"]),
        *(Route(path, asset, methods=["GET"]) for path in ASSETS),
        Route("/chat/info", chat_info, methods=["GET"]),
    ]
