"""OIDC bearer tokens for ``local serve`` (Entra ID, AD FS), validated with PyJWT.

* Keys: the issuer's JWKS, located through its discovery document
  (``{issuer}/.well-known/openid-configuration``, whose ``issuer`` must match) and cached; or a
  JWKS file when the server is offline (``local_inference.oidc.jwks_file``).
* Checks: signature, ``iss`` (the issuer, or a listed ``token_issuers`` value: AD FS access
  tokens carry ``…/adfs/services/trust``, Entra v1 tokens ``https://sts.windows.net/{tid}/``),
  ``aud``, ``exp`` and ``nbf`` (with leeway), and the algorithm against an allow list of
  asymmetric algorithms: ``none`` and HMAC are refused before any key is looked at.
* Failure is never a pass: a bad token is 401; an identity provider that cannot be reached
  (timeout, not JSON, too large) is 503 — there is no unauthenticated fallback.

Fetches have a hard deadline (a hanging or trickling endpoint cannot hold a request longer
than ``fetch_timeout``); the JWKS is refreshed after ``refresh_seconds`` (and at most once a
minute for an unknown ``kid``: key rotation), and stale keys are used at most ``max_age_seconds``.
PyJWT and httpx are imported on first use.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mistral_sov.core.policy import Oidc

MAX_TOKEN_BYTES = 16 * 1024
MAX_DOC_BYTES = 1024 * 1024
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
USER_CLAIMS = ("preferred_username", "upn", "unique_name", "email", "sub")


class TokenRejected(Exception):
    """The request is not authenticated (HTTP 401) or the identity provider is unavailable (503)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = {401: "authentication_error", 403: "permission_error"}.get(self.status, "service_unavailable")
        return {"error": {"message": self.message, "type": kind, "code": self.code, "param": None}}


@dataclass(frozen=True)
class Identity:
    user: str  # UPN / preferred_username, else sub
    subject: str
    issuer: str
    groups: tuple[str, ...]
    groups_overage: bool = False  # Entra: too many groups to fit in the token

    @property
    def ident(self) -> str:
        """The quota and audit identity."""
        return f"user:{self.user}"


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def check_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if not (parts.scheme == "https" and parts.hostname) and not _is_loopback_http(url):
        raise ValueError(f"{what} '{url}' must be an https URL (plain http only on loopback)")


class OidcValidator:
    """Validates bearer JWTs against one issuer. Thread-safe; blocking (run it in a thread)."""

    def __init__(
        self,
        config: Oidc,
        *,
        base_dir: Path | None = None,
        fetch_timeout: float = 5.0,
        refresh_seconds: float = 3600.0,
        max_age_seconds: float = 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        bad = [a for a in config.algorithms if a not in ASYMMETRIC]
        if bad:
            raise ValueError(f"algorithms {bad} are not allowed: only asymmetric signatures (RS*, PS*, ES*)")
        check_url(config.issuer, "oidc.issuer")
        self.config = config
        self.issuers = [config.issuer, *config.token_issuers]
        self.fetch_timeout = fetch_timeout
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}  # kid -> PyJWK
        self._fetched_at = 0.0
        self._last_attempt = -1e18
        self._jwks_uri: str | None = None
        self._file: Path | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""
        self._discovery: dict[str, Any] = {}
        if config.jwks_file:
            path = Path(config.jwks_file)
            self._file = path if path.is_absolute() or base_dir is None else base_dir / path
            self._load_keys(self._read_file(self._file), str(self._file))
            self._fetched_at = float("inf")

    # -- key material --------------------------------------------------------------------
    def _read_file(self, path: Path) -> dict[str, Any]:
        try:
            data = path.read_bytes()[: MAX_DOC_BYTES + 1]
        except OSError as exc:
            raise ValueError(f"cannot read oidc.jwks_file {path}: {exc.strerror}") from None
        return self._parse_json(data, str(path), ValueError)

    @staticmethod
    def _parse_json(data: bytes, where: str, error: Callable[[str], Exception]) -> dict[str, Any]:
        if len(data) > MAX_DOC_BYTES:
            raise error(f"{where} is larger than 1 MiB")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise error(f"{where} is not JSON") from None
        if not isinstance(doc, dict):
            raise error(f"{where} is not a JSON object")
        return doc

    def _load_keys(self, jwks: dict[str, Any], where: str) -> None:
        import jwt

        keys: dict[str, Any] = {}
        for raw in jwks.get("keys", []) if isinstance(jwks.get("keys"), list) else []:
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig" or not raw.get("kid"):
                continue
            try:
                keys[str(raw["kid"])] = jwt.PyJWK(raw)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue  # an unusable key (e.g. an algorithm PyJWT lacks) is skipped, not fatal
        if not keys:
            raise ValueError(f"{where} holds no usable signing key")
        self._keys = keys

    def _fetch(self, url: str) -> dict[str, Any]:
        """GET a JSON document with a hard deadline; any failure is a 503."""
        import httpx

        deadline = time.monotonic() + self.fetch_timeout

        def unavailable(reason: str) -> TokenRejected:
            return TokenRejected(503, f"the identity provider is unavailable: {reason} ({url})", "idp_unavailable")

        try:
            with (
                httpx.Client(timeout=self.fetch_timeout, follow_redirects=False) as client,
                client.stream("GET", url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise unavailable(f"HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOC_BYTES:
                        raise unavailable("the document is larger than 1 MiB")
                    if time.monotonic() > deadline:
                        raise unavailable(f"no complete answer within {self.fetch_timeout:g} s")
        except httpx.TimeoutException:
            raise unavailable(f"no answer within {self.fetch_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise unavailable(type(exc).__name__) from None
        return self._parse_json(bytes(body), url, unavailable)

    def _refresh(self) -> None:
        self._last_attempt = self.clock()
        if self._jwks_uri is None:
            base = self.config.issuer.rstrip("/")
            doc = self._fetch(base + "/.well-known/openid-configuration")
            if str(doc.get("issuer", "")).rstrip("/") != base:
                raise TokenRejected(
                    503, f"the discovery document names issuer '{doc.get('issuer')}', not '{base}'", "idp_mismatch"
                )
            uri = doc.get("jwks_uri")
            if not isinstance(uri, str):
                raise TokenRejected(503, "the discovery document has no jwks_uri", "idp_unavailable")
            try:
                check_url(uri, "jwks_uri")
            except ValueError as exc:
                raise TokenRejected(503, str(exc), "idp_unavailable") from None
            if isinstance(doc.get("access_token_issuer"), str):  # AD FS
                self.issuers.append(doc["access_token_issuer"])
            self._jwks_uri = uri
            self._discovery = doc
        jwks = self._fetch(self._jwks_uri)
        try:
            self._load_keys(jwks, self._jwks_uri)
        except ValueError as exc:
            raise TokenRejected(503, str(exc), "idp_unavailable") from None
        self._fetched_at = self.clock()

    def _key_for(self, kid: str, fetch: bool) -> Any:
        with self._lock:
            now = self.clock()
            if self._file is None and now - self._fetched_at > self.refresh_seconds:
                if fetch:
                    try:
                        self._refresh()
                    except TokenRejected:
                        if not self._keys or now - self._fetched_at > self.max_age_seconds:
                            raise
                else:
                    self._wake.set()
                    if not self._keys or now - self._fetched_at > self.max_age_seconds:
                        reason = self.last_error or "its keys are being fetched"
                        raise TokenRejected(503, f"the identity provider is unavailable: {reason}", "idp_unavailable")
            key = self._keys.get(kid)
            if key is None and self._file is None and now - self._last_attempt > 60:
                if fetch:
                    self._refresh()  # key rotation: fetch once more
                    key = self._keys.get(kid)
                else:
                    self._wake.set()  # the background refresher fetches the new keys
            if key is None:
                raise TokenRejected(
                    401, f"the token's signing key '{kid}' is not one of the issuer's keys", "unknown_kid"
                )
            return key

    def refresh_now(self) -> bool:
        """Fetch discovery + JWKS now (bounded by the deadline); False (and ``last_error``) on failure."""
        if self._file is not None:
            return True
        try:  # not under the lock: validate(fetch=False) on the event loop must never wait for I/O
            self._refresh()
        except TokenRejected as exc:
            self.last_error = exc.message
            return False
        self.last_error = ""
        return True

    def start(self) -> bool:
        """Load the keys once (bounded), then keep them fresh in a daemon thread: on schedule,
        and at most once a minute when a token names an unknown ``kid``. Returns whether keys
        are loaded; without keys, tokens get 503 until the identity provider answers."""
        ok = self.refresh_now()
        if self._file is None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mistral-sov-oidc-keys", daemon=True)
            self._thread.start()
        return ok

    def _run(self) -> None:
        while not self._stop.is_set():
            woke = self._wake.wait(timeout=self.refresh_seconds if not self.last_error else 30)
            self._wake.clear()
            if self._stop.is_set():
                return
            if woke and self.clock() - self._last_attempt < 60:
                continue  # rotation refetches are rate-limited
            self.refresh_now()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def discovery(self) -> dict[str, Any]:
        return dict(self._discovery)

    # -- validation ----------------------------------------------------------------------
    def validate(self, token: str, *, fetch: bool = True) -> Identity:
        """The token's identity, or TokenRejected. ``fetch=False`` never does network I/O (the
        server's event loop): keys come from the background refresher (``start``)."""
        import jwt

        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRejected(401, f"the bearer token is larger than {MAX_TOKEN_BYTES} bytes", "token_too_large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejected(401, "the bearer token is not a valid JWT", "invalid_token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.config.algorithms:
            raise TokenRejected(
                401,
                f"token algorithm '{alg}' is not allowed (allowed: {', '.join(self.config.algorithms)})",
                "invalid_algorithm",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected(401, "the token names no signing key (kid)", "unknown_kid")
        key = self._key_for(kid, fetch)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.issuers,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected(401, "the token has expired", "token_expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected(
                401, "the token is not valid yet (nbf/iat in the future)", "token_not_yet_valid"
            ) from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(
                401,
                f"the token is not for this server (audience must be {', '.join(self.config.audience)})",
                "invalid_audience",
            ) from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(401, f"the token was not issued by {self.config.issuer}", "invalid_issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(401, f"the token lacks the '{exc.claim}' claim", "invalid_token") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected(401, "the token's signature does not verify", "invalid_signature") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(401, f"the token is invalid: {exc}", "invalid_token") from None
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        user = ""
        for name in (self.config.user_claim, *USER_CLAIMS):
            value = claims.get(name)
            if isinstance(value, str) and value:
                user = value
                break
        if not user:
            raise TokenRejected(401, "the token names no user (sub/upn)", "invalid_token")
        raw = claims.get(self.config.group_claim, [])
        groups = tuple(str(g) for g in raw) if isinstance(raw, list) else ((str(raw),) if raw else ())
        overage = self.config.group_claim == "groups" and "groups" in (claims.get("_claim_names") or {})
        return Identity(user, str(claims.get("sub", "")), str(claims.get("iss", "")), groups, overage)

    def may_use(self, identity: Identity, model: str) -> None:
        """Raise 403 when ``oidc.model_groups`` restricts ``model`` to groups the user is not in."""
        allowed = self.config.model_groups.get(model)
        if allowed is None or set(allowed) & set(identity.groups):
            return
        hint = (
            " (the token carries too many groups: emit app roles instead, group_claim: roles)"
            if identity.groups_overage
            else ""
        )
        raise TokenRejected(403, f"user '{identity.user}' may not use model '{model}'{hint}", "model_not_permitted")
