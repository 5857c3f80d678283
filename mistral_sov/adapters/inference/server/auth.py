"""Who is calling: the one place that turns a request into an identity.

``Authenticator.identify(headers) -> str`` returns the identity used for quotas and the audit log
(``key_id`` for API keys, never the key) or raises ``HTTPProblem(401)``. Other schemes (OIDC
bearer tokens, mTLS) plug in by implementing the same method and being passed to ``LocalServer``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Protocol

from mistral_sov.adapters.inference.server.problems import HTTPProblem

ANONYMOUS = "loopback"
USER_PREFIX = "user:"  # identities of single-sign-on users (adapters/inference/oidc.py)


class Authenticator(Protocol):
    def identify(self, headers: Mapping[str, str]) -> str: ...


def key_id(key: str) -> str:
    """A stable, non-reversible identifier for an API key (safe to log)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def is_loopback_host(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def presented_key(headers: Mapping[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-api-key", "")


class ApiKeyAuth:
    """Static API keys compared in constant time; no keys = anonymous loopback use."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [(k.encode("utf-8"), key_id(k)) for k in keys if k]

    def identify(self, headers: Mapping[str, str]) -> str:
        if not self._keys:
            return ANONYMOUS
        presented = presented_key(headers)
        if not presented:
            raise HTTPProblem(
                401,
                "missing API key (Authorization: Bearer KEY)",
                "authentication_error",
                {"WWW-Authenticate": "Bearer"},
            )
        given = presented.encode("utf-8", errors="surrogateescape")
        match = ""
        for key, ident in self._keys:  # compare with every key: time does not reveal which matched
            if hmac.compare_digest(given, key):
                match = ident
        if not match:
            raise HTTPProblem(401, "invalid API key", "authentication_error", {"WWW-Authenticate": "Bearer"})
        return match


def audit_identity(ident: str) -> dict[str, str]:
    """The audit-log fields for one caller: ``identity`` always (what quotas are counted by);
    ``user`` for a single-sign-on user (``user:<upn>``), ``key_id`` for an API key (the hash,
    never the key) and neither for the anonymous loopback caller (``loopback``) or a request
    refused before it was identified (``-``)."""
    fields = {"identity": ident}
    if ident.startswith(USER_PREFIX):
        fields["user"] = ident[len(USER_PREFIX) :]
    elif ident not in (ANONYMOUS, "-"):
        fields["key_id"] = ident
    return fields
