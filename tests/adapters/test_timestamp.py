"""RFC 3161 tokens from a REAL local TSA (``openssl ts -reply`` over loopback HTTP), judged by
``openssl ts -verify`` and by our own check; hostile TSAs give exit-3 errors, never a token."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tsa_helpers import LocalTSA, TestPKI, openssl_ts_verify

from mistral_sov.adapters import timestamp as ts
from mistral_sov.errors import ExitStatus, InputError

DATA = b'{"payload":"the exact bytes an Ed25519 signature covers"}'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def entry(pki: TestPKI) -> dict:
    with LocalTSA(pki) as tsa:
        return ts.request(DATA, tsa.url)


def test_openssl_accepts_our_token(pki: TestPKI, entry: dict) -> None:
    judged = openssl_ts_verify(DATA, ts.response_bytes(entry), pki.ca)
    assert judged.returncode == 0, judged.stderr
    assert "Verification: OK" in judged.stdout


def test_openssl_refuses_other_bytes_and_other_ca(pki: TestPKI, entry: dict) -> None:
    assert openssl_ts_verify(DATA + b" ", ts.response_bytes(entry), pki.ca).returncode != 0
    assert openssl_ts_verify(DATA, ts.response_bytes(entry), pki.rogue_ca).returncode != 0


def test_entry_records_what_it_covers(entry: dict) -> None:
    import hashlib

    assert set(entry) == ts.TIMESTAMP_KEYS
    assert entry["message_imprint"] == hashlib.sha256(DATA).hexdigest()
    assert entry["hash_algorithm"] == "sha-256"
    assert entry["gen_time"].endswith("Z")


def test_check_valid(pki: TestPKI, entry: dict) -> None:
    result = ts.check(entry, DATA, ts.load_ca_bundle(pki.ca))
    assert result.status is ts.TimestampStatus.VALID, result.message
    assert "CN=Test TSA" in result.tsa
    assert result.gen_time is not None


def test_check_other_bytes_is_mismatch(pki: TestPKI, entry: dict) -> None:
    result = ts.check(entry, DATA.replace(b"exact", b"EXACT"), ts.load_ca_bundle(pki.ca))
    assert result.status is ts.TimestampStatus.MISMATCH
    assert "different bytes" in result.message


def test_check_untrusted_ca(pki: TestPKI, entry: dict) -> None:
    result = ts.check(entry, DATA, ts.load_ca_bundle(pki.rogue_ca))
    assert result.status is ts.TimestampStatus.UNTRUSTED
    assert "unable to get local issuer certificate" in result.message


def test_check_without_ca_is_unchecked_not_valid(entry: dict) -> None:
    result = ts.check(entry, DATA, None)
    assert result.status is ts.TimestampStatus.UNCHECKED
    assert not result.ok


def test_check_missing_says_no_trusted_time() -> None:
    result = ts.check(None, DATA, None)
    assert result.status is ts.TimestampStatus.MISSING
    assert "no trusted time" in result.message


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: {**e, "response": "!!!not base64"},
        lambda e: {**e, "response": base64.b64encode(b"\x30\x03\x02\x01\x00").decode()},
        lambda e: {**e, "type": "other"},
        lambda e: {**e, "extra": 1},
        lambda e: "a string",
        lambda e: {**e, "response": base64.b64encode(base64.b64decode(e["response"])[:-7]).decode()},
    ],
)
def test_check_malformed_entries(pki: TestPKI, entry: dict, mutate) -> None:  # type: ignore[no-untyped-def]
    result = ts.check(mutate(dict(entry)), DATA, ts.load_ca_bundle(pki.ca))
    assert result.status in (ts.TimestampStatus.MALFORMED, ts.TimestampStatus.UNTRUSTED)
    assert not result.ok


def test_recorded_imprint_must_match_token(pki: TestPKI, entry: dict) -> None:
    result = ts.check({**entry, "message_imprint": "00" * 32}, DATA, ts.load_ca_bundle(pki.ca))
    assert result.status is ts.TimestampStatus.MISMATCH


def test_rogue_tsa_token_is_untrusted(pki: TestPKI) -> None:
    with LocalTSA(pki, "rogue") as tsa:
        rogue = ts.request(DATA, tsa.url)
    assert ts.check(rogue, DATA, ts.load_ca_bundle(pki.ca)).status is ts.TimestampStatus.UNTRUSTED
    assert openssl_ts_verify(DATA, ts.response_bytes(rogue), pki.ca).returncode != 0


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("garbage", "did not send an RFC 3161 time-stamp response"),
        ("slow", "did not answer within"),
        ("http500", "answered HTTP 500"),
        ("replay", "other bytes than the ones sent"),
    ],
)
def test_hostile_tsa_is_exit_3(pki: TestPKI, mode: str, words: str) -> None:
    with LocalTSA(pki, mode) as tsa, pytest.raises(ts.TimestampError) as info:
        ts.request(DATA, tsa.url, timeout=1.0)
    assert words in info.value.message
    assert info.value.exit_status is ExitStatus.INCONCLUSIVE
    assert info.value.hint


def test_unreachable_tsa_is_exit_3() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ts.TimestampError, match="cannot reach"):
        ts.request(DATA, f"http://127.0.0.1:{port}/", timeout=1.0)


@pytest.mark.parametrize("url", ["ftp://tsa.example", "tsa.example.eu", "https://", "https://u:p@tsa.example/x", ""])
def test_bad_url_is_input_error(url: str) -> None:
    with pytest.raises(InputError):
        ts.request(DATA, url)


def test_ca_bundle_errors(tmp_path: Path, pki: TestPKI) -> None:
    with pytest.raises(InputError, match="cannot read"):
        ts.load_ca_bundle(tmp_path / "absent.pem")
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(InputError, match="not a PEM or DER"):
        ts.load_ca_bundle(junk)
    der = tmp_path / "ca.der"
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der.write_bytes(x509.load_pem_x509_certificate(pki.ca.read_bytes()).public_bytes(Encoding.DER))
    assert len(ts.load_ca_bundle(der)) == 1


def test_tsa_embedding_its_chain_in_chain_order(pki: TestPKI) -> None:
    """Certificates in chain order break DER's SET OF ordering; rfc3161-client refuses such an
    answer as is: the certificate set is re-sorted (every length unchanged) and accepted."""
    with LocalTSA(pki, "chain") as tsa:
        entry = ts.request(DATA, tsa.url)
    der = ts.response_bytes(entry)
    assert ts.check(entry, DATA, ts.load_ca_bundle(pki.ca)).status is ts.TimestampStatus.VALID
    assert openssl_ts_verify(DATA, der, pki.ca).returncode == 0  # embedded as the TSA sent it
    fixed = ts.der_sorted_certificates(der)
    assert len(fixed) == len(der) and sorted(fixed) == sorted(der)
    assert ts.der_sorted_certificates(fixed) == fixed  # idempotent
    # both chain orders normalise to the same bytes
    certs = _cert_elements(fixed)
    assert len(certs) == 2
    swapped = fixed.replace(certs[0] + certs[1], certs[1] + certs[0])
    assert swapped != fixed and ts.der_sorted_certificates(swapped) == fixed
    from rfc3161_client import decode_timestamp_response

    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        decode_timestamp_response(swapped)
    assert ts.check({**entry, "response": base64.b64encode(swapped).decode()}, DATA, ts.load_ca_bundle(pki.ca)).ok


def _cert_elements(der: bytes) -> list[bytes]:
    _, c0, e0 = ts._tlv(der, 0)
    _, _, c1, e1 = ts._children(der, c0, e0)[1]
    _, _, c2, _ = ts._children(der, c1, e1)[1]
    _, c3, e3 = ts._tlv(der, c2)
    _tag, _, content, stop = next(x for x in ts._children(der, c3, e3) if x[0] == 0xA0)
    return [der[p:q] for _t, p, _c, q in ts._children(der, content, stop)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300)
    | st.sampled_from([b"\x30\x80\x00\x00", b"\x30\x05\x30\x00\x30\x01", b"\x30\x03\x02\x01\x00"])
)
def test_hostile_token_bytes_are_malformed_never_a_crash(junk: bytes) -> None:
    entry = {"type": "rfc3161", "response": base64.b64encode(junk).decode()}
    result = ts.check(entry, DATA, None)
    assert result.status is ts.TimestampStatus.MALFORMED
