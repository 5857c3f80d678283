"""The API server's ``Authenticator`` for OIDC single sign-on (``local_inference.oidc``):
JWT bearers are validated by ``oidc.OidcValidator`` without network I/O on the request path;
other bearers must be static API keys (service accounts)."""

from __future__ import annotations

from typing import Any

from mistral_sov.adapters.inference.oidc import MAX_TOKEN_BYTES, OidcValidator, TokenRejected, looks_like_jwt


class OidcAuth:
    """The server's ``Authenticator`` when ``local_inference.oidc`` is set: a JWT bearer is
    validated (never with network I/O on the request path), anything else must be a static API
    key (service accounts). No token and no key is 401, even on loopback."""

    def __init__(self, validator: OidcValidator, api_keys: list[str], model: str) -> None:
        from mistral_sov.adapters.inference.server.auth import ApiKeyAuth

        self.validator = validator
        self.keys = ApiKeyAuth(api_keys) if api_keys else None
        self.model = model

    def identify(self, headers: Any) -> str:
        from mistral_sov.adapters.inference.server.auth import presented_key
        from mistral_sov.adapters.inference.server.problems import HTTPProblem

        presented = presented_key(headers)
        if looks_like_jwt(presented) or len(presented) > MAX_TOKEN_BYTES:
            try:
                identity = self.validator.validate(presented, fetch=False)
                self.validator.may_use(identity, self.model)
            except TokenRejected as exc:
                kind = {401: "authentication_error", 403: "permission_error"}.get(exc.status, "service_unavailable")
                extra = (
                    {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.code}"'}
                    if exc.status == 401
                    else ({"Retry-After": "30"} if exc.status == 503 else {})
                )
                raise HTTPProblem(exc.status, exc.message, kind, extra) from None
            return identity.ident
        if self.keys is not None and presented:
            return self.keys.identify(headers)
        raise HTTPProblem(
            401,
            "sign in: this server needs an OIDC bearer token from "
            f"{self.validator.config.issuer}" + (" or a service API key" if self.keys else ""),
            "authentication_error",
            {"WWW-Authenticate": "Bearer"},
        )
