"""OIDC bearer validation against a local issuer (discovery + JWKS over HTTP on loopback):
the failure matrix, a hanging or trickling identity provider, offline JWKS files, rotation."""

from __future__ import annotations

import json
import time

import pytest
from oidc_issuer import AUD, CASES, LocalIssuer, failure_matrix

from mistral_sov.adapters.inference.oidc import OidcValidator, TokenRejected
from mistral_sov.core.policy import Oidc


@pytest.fixture(scope="module")
def issuer():
    with LocalIssuer() as iss:
        yield iss


@pytest.fixture
def validator(issuer):
    issuer.mode = "ok"
    return OidcValidator(
        Oidc(issuer=issuer.url, audience=[AUD], model_groups={"restricted": ["doctors"]}), fetch_timeout=1.5
    )


def test_valid_token_gives_the_user_and_groups(validator, issuer):
    ident = validator.validate(issuer.token())
    assert (ident.user, ident.groups, ident.ident) == (
        "alice@klinikum.example",
        ("staff",),
        "user:alice@klinikum.example",
    )
    assert issuer.requests[-2:] == ["/.well-known/openid-configuration", "/keys"]


@pytest.mark.parametrize("case", CASES)
def test_failure_matrix_is_401_with_a_reason(validator, issuer, case):
    token, code = failure_matrix(issuer)[case]
    validator.validate(issuer.token())  # keys cached
    with pytest.raises(TokenRejected) as info:
        validator.validate(token)
    assert (info.value.status, info.value.code) == (401, code)
    body = info.value.body()["error"]
    assert body["type"] == "authentication_error" and body["message"]


@pytest.mark.parametrize("mode", ["hang", "trickle", "error"])
def test_unreachable_identity_provider_is_503_within_the_deadline(issuer, mode):
    v = OidcValidator(Oidc(issuer=issuer.url, audience=[AUD]), fetch_timeout=1.5)
    token = issuer.token()
    issuer.mode = mode
    try:
        start = time.monotonic()
        with pytest.raises(TokenRejected) as info:
            v.validate(token)
        elapsed = time.monotonic() - start
    finally:
        issuer.mode = "ok"
    assert info.value.status == 503 and info.value.code == "idp_unavailable"
    assert elapsed < 4, f"the validator waited {elapsed:.1f} s"


def test_offline_jwks_file_needs_no_network(tmp_path, issuer):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()), encoding="utf-8")
    v = OidcValidator(Oidc(issuer=issuer.url, audience=[AUD], jwks_file="jwks.json"), base_dir=tmp_path)
    issuer.requests.clear()
    assert v.validate(issuer.token()).user == "alice@klinikum.example"
    with pytest.raises(TokenRejected, match="not one of the issuer's keys"):
        v.validate(issuer.token(key=issuer.other_key, kid="rotated"))
    assert issuer.requests == []


def test_key_rotation_refetches_the_jwks_once(issuer):
    v = OidcValidator(Oidc(issuer=issuer.url, audience=[AUD]))
    v.validate(issuer.token())
    old_key, old_kid = issuer.key, issuer.kid
    v._last_attempt -= 120  # the last fetch was more than a minute ago
    issuer.key, issuer.kid = issuer.other_key, "rotated"
    try:
        assert v.validate(issuer.token()).user == "alice@klinikum.example"
    finally:
        issuer.key, issuer.kid = old_key, old_kid


def test_group_claim_restricts_models(validator, issuer):
    ident = validator.validate(issuer.token())
    validator.may_use(ident, "smollm2")  # unrestricted
    with pytest.raises(TokenRejected) as info:
        validator.may_use(ident, "restricted")
    assert info.value.status == 403 and info.value.body()["error"]["type"] == "permission_error"
    validator.may_use(validator.validate(issuer.token(groups=["doctors"])), "restricted")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"issuer": "http://idp.example.com"}, "must be an https URL"),
        ({"jwks_file": "/nonexistent/jwks.json"}, "cannot read"),
    ],
)
def test_bad_configuration_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OidcValidator(Oidc(**{"issuer": "https://idp.example.com", "audience": [AUD], **kwargs}))


def test_policy_refuses_none_and_hmac_algorithms():
    from pydantic import ValidationError

    for alg in ("none", "HS256"):
        with pytest.raises(ValidationError):
            Oidc(issuer="https://idp.example.com", audience=[AUD], algorithms=[alg])


def test_event_loop_path_never_fetches_and_background_refresher_loads_keys(issuer):
    v = OidcValidator(Oidc(issuer=issuer.url, audience=[AUD]), fetch_timeout=1.5)
    issuer.requests.clear()
    with pytest.raises(TokenRejected) as info:
        v.validate(issuer.token(), fetch=False)  # no keys yet, no network on this path
    assert info.value.status == 503 and issuer.requests == []
    assert v.start() is True
    try:
        assert v.validate(issuer.token(), fetch=False).user == "alice@klinikum.example"
        assert v.discovery["jwks_uri"] == issuer.url + "/keys"
    finally:
        v.stop()


def test_hanging_idp_at_start_leaves_tokens_at_503_without_blocking(issuer):
    v = OidcValidator(Oidc(issuer=issuer.url, audience=[AUD]), fetch_timeout=1.0)
    issuer.mode = "hang"
    try:
        start = time.monotonic()
        assert v.start() is False
        assert time.monotonic() - start < 3
        t0 = time.monotonic()
        with pytest.raises(TokenRejected) as info:
            v.validate(issuer.token(), fetch=False)
        assert time.monotonic() - t0 < 0.5
        assert info.value.status == 503 and "no answer within" in info.value.message
    finally:
        issuer.mode = "ok"
        v.stop()
