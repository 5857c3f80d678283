"""A local OpenID Connect issuer for tests: discovery document and JWKS over HTTP on loopback,
with generated RSA keys, and switches for hostile behaviour (hang, trickle, errors)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUD = "api://mistral-sov-local"


class LocalIssuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.mode = "ok"  # ok | hang | trickle | error
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if issuer.mode == "hang":
                    time.sleep(30)
                    return
                if self.path.startswith("/authorize?"):
                    self._authorize()
                    return
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps(
                        {
                            "issuer": issuer.url,
                            "jwks_uri": issuer.url + "/keys",
                            "authorization_endpoint": issuer.url + "/authorize",
                            "token_endpoint": issuer.url + "/token",
                        }
                    ).encode()
                elif self.path == "/keys":
                    body = json.dumps(issuer.jwks()).encode()
                else:
                    self.send_error(404)
                    return
                if issuer.mode == "error":
                    self.send_error(500)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if issuer.mode == "trickle":
                    try:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.5)
                    except OSError:
                        pass  # the client gave up, as it should
                    return
                self.wfile.write(body)

            def _authorize(self) -> None:
                """Sign the (only) test user in at once: redirect back with a code."""
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                    self.send_error(400)
                    return
                code = secrets.token_urlsafe(16)
                issuer.codes[code] = q
                target = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # the token endpoint (authorization code + PKCE)
                issuer.requests.append(self.path)
                form = dict(
                    urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                )
                asked = issuer.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "").encode()
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
                ok = (
                    self.path == "/token"
                    and asked is not None
                    and form.get("grant_type") == "authorization_code"
                    and form.get("redirect_uri") == asked["redirect_uri"]
                    and form.get("client_id") == asked["client_id"]
                    and challenge == asked["code_challenge"]
                )
                answer = (
                    {"access_token": issuer.token(), "token_type": "Bearer", "expires_in": 600}
                    if ok
                    else {"error": "invalid_grant"}
                )
                body = json.dumps(answer).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def token(self, *, key: Any = None, kid: str | None = None, alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": "api://mistral-sov-local",
            "sub": "00000000-0000-0000-0000-000000000001",
            "preferred_username": "alice@klinikum.example",
            "groups": ["staff"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm=alg, headers={"kid": kid or self.kid})

    def __enter__(self) -> LocalIssuer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tamper(token: str) -> str:
    head, body, sig = token.split(".")
    i = len(sig) // 2
    return f"{head}.{body}.{sig[:i]}{'A' if sig[i] != 'A' else 'B'}{sig[i + 1 :]}"


def failure_matrix(issuer: LocalIssuer) -> dict[str, tuple[str, str]]:
    """Hostile tokens and the reason code each must be refused with."""
    now = int(time.time())
    forged_claims = _b64({"iss": issuer.url, "aud": AUD, "sub": "x", "exp": now + 600, "preferred_username": "mallory"})
    return {
        "expired": (issuer.token(exp=now - 3600, iat=now - 7200, nbf=now - 7200), "token_expired"),
        "not yet valid": (issuer.token(nbf=now + 3600), "token_not_yet_valid"),
        "wrong audience": (issuer.token(aud="api://someone-else"), "invalid_audience"),
        "wrong issuer": (issuer.token(iss="https://login.evil.example/v2.0"), "invalid_issuer"),
        "unknown kid": (issuer.token(key=issuer.other_key, kid="rogue-key"), "unknown_kid"),
        "alg none": (
            _b64({"alg": "none", "kid": issuer.kid, "typ": "JWT"}) + "." + forged_claims + ".",
            "invalid_algorithm",
        ),
        "alg HS256 (key confusion)": (
            jwt.encode(
                {"iss": issuer.url, "aud": AUD, "exp": now + 600, "sub": "x"},
                "secret",
                algorithm="HS256",
                headers={"kid": issuer.kid},
            ),
            "invalid_algorithm",
        ),
        "tampered signature": (_tamper(issuer.token()), "invalid_signature"),
        "tampered claims": (
            issuer.token().split(".")[0] + "." + forged_claims + "." + issuer.token().split(".")[2],
            "invalid_signature",
        ),
        "signed by another key, same kid": (issuer.token(key=issuer.other_key), "invalid_signature"),
        "no exp": (issuer.token(exp=None), "invalid_token"),
        "10 MB token": ("eyJ" + "A" * (10 * 1024 * 1024) + ".e30.", "token_too_large"),
        "not a JWT": ("eyJhbGciOi.not-base64!.x", "invalid_token"),
    }


CASES = [
    "expired", "not yet valid", "wrong audience", "wrong issuer", "unknown kid", "alg none",
    "alg HS256 (key confusion)", "tampered signature", "tampered claims", "signed by another key, same kid",
    "no exp", "10 MB token", "not a JWT",
]  # fmt: skip
