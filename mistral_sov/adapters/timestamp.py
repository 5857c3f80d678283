"""Trusted time for evidence: RFC 3161 time-stamp tokens (``rfc3161-client``, ``httpx``).

A Time-Stamping Authority (TSA) signs "this SHA-256 existed at time T". We send it the SHA-256
of the exact bytes our Ed25519 signature covers and embed its whole answer (the DER
``TimeStampResp``, base64) in the evidence envelope::

    "timestamp": {"type": "rfc3161", "hash_algorithm": "sha-256",
                  "message_imprint": "<hex sha256 of the signed bytes>",
                  "tsa_url": "...", "gen_time": "<ISO 8601, informative>",
                  "response": "<base64 DER TimeStampResp>"}

Only ``response`` is authoritative: verification reads imprint, time and signer from the token
itself. Any third party can check it without this tool:
``openssl ts -verify -data signed-bytes.json -in response.tsr -CAfile tsa-ca.pem``.

Failures while *getting* a token (timeout, HTTP error, garbage, a refusal, a token for other
bytes or another nonce) raise ``TimestampError`` (exit 3: the TSA could not vouch, nothing
is claimed). ``check`` never raises for a bad token: it returns a ``TimestampCheck`` whose
``status`` says what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from mistral_sov.errors import InconclusiveError, InputError, Location

TYPE = "rfc3161"
HASH_NAME = "sha-256"
MAX_RESPONSE = 1 << 20  # a real TSA answer is a few KB
DEFAULT_TIMEOUT = 10.0  # seconds; MISTRAL_SOV_TSA_TIMEOUT overrides (tests)
TIMESTAMP_KEYS = frozenset({"type", "hash_algorithm", "message_imprint", "tsa_url", "gen_time", "response"})


class TimestampError(InconclusiveError):
    """The TSA did not give a usable token (exit 3)."""


class TimestampStatus(str, Enum):
    VALID = "valid"  # signed by a trusted TSA over exactly these bytes
    MISSING = "missing"  # no token: the time is only the signer's claim
    UNCHECKED = "unchecked"  # a token, but no CA bundle was given to check it against
    MISMATCH = "mismatch"  # the token covers other bytes
    UNTRUSTED = "untrusted"  # not signed by a TSA chaining to the given CA bundle (or not a TSA cert)
    MALFORMED = "malformed"  # not an RFC 3161 response, or not granted
    CONTRADICTED = "contradicted"  # valid, but the evidence claims to be made after the TSA's time


@dataclass(frozen=True)
class TimestampCheck:
    status: TimestampStatus
    message: str
    gen_time: datetime | None = None
    tsa: str = ""

    @property
    def ok(self) -> bool:
        return self.status is TimestampStatus.VALID


def check_url(url: str, where: str = "--timestamp-url") -> str:
    """A TSA URL must be http(s) with a host (the rule lives in ``core.policy``)."""
    from mistral_sov.core.policy import tsa_url_problem

    problem = tsa_url_problem(url)
    if problem:
        raise InputError(f"{where}: {problem[0]}", hint=problem[1])
    return url


def _tsa_name(response: Any) -> str:
    try:
        name = response.tst_info.name
    except (ValueError, AttributeError):
        return ""
    value = getattr(name, "value", None)
    if value is None:
        return ""
    return value.rfc4514_string() if hasattr(value, "rfc4514_string") else str(value)


def _decode(der: bytes) -> Any:
    """Parse a TimeStampResp. Many TSAs (OpenSSL with a chain, Microsoft, Bouncy Castle) list
    their certificates in chain order, which breaks DER's sorted SET OF and makes
    ``rfc3161-client`` refuse the answer; the certificate set is not covered by the signature,
    so it is re-sorted (``der_sorted_certificates``) and parsed again."""
    from rfc3161_client import decode_timestamp_response

    try:
        return decode_timestamp_response(der)
    except ValueError as exc:
        if "InvalidSetOrdering" not in str(exc):
            raise
        try:
            fixed = der_sorted_certificates(der)
        except (ValueError, IndexError):
            raise exc from None
        return decode_timestamp_response(fixed)


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    if pos + 2 > len(buf):
        raise ValueError("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F or first == 0x80:
        raise ValueError("high tag numbers and indefinite lengths are not DER")
    if first < 0x80:
        start, length = pos + 2, first
    else:
        n = first & 0x7F
        start, length = pos + 2 + n, int.from_bytes(buf[pos + 2 : pos + 2 + n], "big")
    if start + length > len(buf):
        raise ValueError("DER length beyond the data")
    return tag, start, start + length


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, element end) of each element in ``buf[start:end]``."""
    out = []
    pos = start
    while pos < end:
        tag, content, stop = _tlv(buf, pos)
        out.append((tag, pos, content, stop))
        pos = stop
    return out


def der_sorted_certificates(der: bytes) -> bytes:
    """The same TimeStampResp with SignedData's ``certificates`` in DER SET OF order (X.690
    11.6). Only the order of whole certificates changes, so every length stays the same."""
    _, c0, e0 = _tlv(der, 0)  # TimeStampResp
    resp = _children(der, c0, e0)
    if len(resp) < 2:
        return der
    _, _, c1, e1 = resp[1]  # timeStampToken: ContentInfo
    info = _children(der, c1, e1)
    _, _, c2, _end = info[1]  # [0] EXPLICIT content
    _, c3, e3 = _tlv(der, c2)  # SignedData
    for tag, _pos, content, stop in _children(der, c3, e3):
        if tag == 0xA0:  # [0] IMPLICIT CertificateSet
            certs = [der[p:q] for _t, p, _c, q in _children(der, content, stop)]
            width = max(len(c) for c in certs)
            ordered = sorted(certs, key=lambda c: c.ljust(width, b"\0"))
            return der[:content] + b"".join(ordered) + der[stop:]
    return der


def request(data: bytes, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Ask the TSA at ``url`` to time-stamp SHA-256(``data``); return the envelope's ``timestamp``
    object. Checks that the answer is granted, covers exactly ``data`` and echoes our nonce."""
    import httpx
    from rfc3161_client import HashAlgorithm, PKIStatus, TimestampRequestBuilder

    check_url(url)
    try:
        timeout = float(os.environ.get("MISTRAL_SOV_TSA_TIMEOUT") or timeout)
    except ValueError:
        raise InputError("MISTRAL_SOV_TSA_TIMEOUT is not a number of seconds", hint="e.g. 10") from None
    digest = hashlib.sha256(data).digest()
    tsq = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).cert_request(cert_request=True)
    query = tsq.build()
    hint = "check the URL and the network, or sign without --timestamp-url (the evidence then says 'no trusted time')"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            reply = client.post(
                url,
                content=query.as_bytes(),
                headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
            )
    except httpx.TimeoutException:
        raise TimestampError(f"the TSA {url} did not answer within {timeout:g} s", hint=hint) from None
    except httpx.HTTPError as exc:
        raise TimestampError(f"cannot reach the TSA {url}: {exc}", hint=hint) from None
    if reply.status_code != 200:
        raise TimestampError(f"the TSA {url} answered HTTP {reply.status_code}", hint=hint)
    der = reply.content
    if not der or len(der) > MAX_RESPONSE:
        raise TimestampError(f"the TSA {url} sent {len(der)} bytes: not a time-stamp response", hint=hint)
    try:
        response = _decode(der)
    except ValueError as exc:
        raise TimestampError(f"the TSA {url} did not send an RFC 3161 time-stamp response ({exc})", hint=hint) from None
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        text = "; ".join(response.status_string) or "no reason given"
        raise TimestampError(f"the TSA {url} refused the request (status {response.status}: {text})", hint=hint)
    info = response.tst_info
    if info.message_imprint.message != digest:
        raise TimestampError(
            f"the TSA {url} time-stamped other bytes than the ones sent (message imprint differs)", hint=hint
        )
    if query.nonce is not None and info.nonce != query.nonce:
        raise TimestampError(f"the TSA {url} answered another request (nonce differs): a replayed answer?", hint=hint)
    return {
        "type": TYPE,
        "hash_algorithm": HASH_NAME,
        "message_imprint": digest.hex(),
        "tsa_url": url,
        "gen_time": _iso(info.gen_time),
        "response": base64.b64encode(der).decode("ascii"),
    }


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def load_ca_bundle(path: Path) -> list[Any]:
    """Certificates (PEM bundle, or one DER certificate) trusted as TSA roots/intermediates."""
    from cryptography import x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the TSA CA bundle '{path}': {exc.strerror}",
            location=Location(str(path)),
            hint="pass the PEM file of the CA that issued your TSA's certificate",
        ) from None
    try:
        certs = (
            x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
        )
    except ValueError as exc:
        raise InputError(
            f"'{path}' is not a PEM or DER certificate bundle ({exc})",
            location=Location(str(path)),
            hint="pass the PEM file of the CA that issued your TSA's certificate",
        ) from None
    if not certs:
        raise InputError(f"'{path}' holds no certificate", location=Location(str(path)), hint="pass a PEM bundle")
    return certs


_Status = TimestampStatus


def check(entry: Any, data: bytes, ca_certs: list[Any] | None) -> TimestampCheck:
    """Check an envelope's ``timestamp`` object against ``data`` (the signed bytes) and the CA
    bundle. Without a bundle only the imprint is checked and the status is UNCHECKED."""
    if entry is None:
        return TimestampCheck(
            TimestampStatus.MISSING, "no trusted time: the time in the evidence is the signer's claim"
        )
    if not isinstance(entry, dict) or entry.get("type") != TYPE or not isinstance(entry.get("response"), str):
        return TimestampCheck(
            TimestampStatus.MALFORMED, "the timestamp is not an RFC 3161 entry written by mistral-sov"
        )
    unknown = sorted(set(entry) - TIMESTAMP_KEYS)
    if unknown:
        return TimestampCheck(_Status.MALFORMED, f"unknown keys in the timestamp: {', '.join(unknown)}")
    try:
        der = base64.b64decode(entry["response"], validate=True)
        response = _decode(der)
    except (binascii.Error, ValueError) as exc:
        return TimestampCheck(_Status.MALFORMED, f"the timestamp token cannot be decoded ({exc})")
    from rfc3161_client import PKIStatus

    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        return TimestampCheck(_Status.MALFORMED, f"the time-stamp response is not granted ({response.status})")
    info = response.tst_info
    gen_time, tsa = info.gen_time, _tsa_name(response)
    if gen_time.tzinfo is None:
        gen_time = gen_time.replace(tzinfo=timezone.utc)
    algorithms = {"2.16.840.1.101.3.4.2.1": hashlib.sha256, "2.16.840.1.101.3.4.2.2": hashlib.sha384}
    algorithms["2.16.840.1.101.3.4.2.3"] = hashlib.sha512
    hasher = algorithms.get(info.message_imprint.hash_algorithm.dotted_string)
    if hasher is None:
        return TimestampCheck(_Status.MALFORMED, "the token uses an unsupported hash algorithm", gen_time, tsa)
    if info.message_imprint.message != hasher(data).digest():
        return TimestampCheck(
            TimestampStatus.MISMATCH,
            "the timestamp covers different bytes: the evidence was changed after it was time-stamped",
            gen_time,
            tsa,
        )
    if entry.get("message_imprint") not in (None, info.message_imprint.message.hex()):
        return TimestampCheck(
            TimestampStatus.MISMATCH, "the recorded message_imprint is not the token's", gen_time, tsa
        )
    if not ca_certs:
        return TimestampCheck(
            TimestampStatus.UNCHECKED,
            f"a timestamp of {_iso(gen_time)} covers these bytes, but its TSA was not checked (pass --tsa-ca)",
            gen_time,
            tsa,
        )
    from rfc3161_client import VerificationError, VerifierBuilder

    builder = VerifierBuilder()
    for cert in ca_certs:
        if cert.issuer == cert.subject:
            builder = builder.add_root_certificate(cert)
        else:
            builder = builder.add_intermediate_certificate(cert)
    try:
        builder.build().verify_message(response, data)
    except ValueError as exc:  # no self-signed root in the bundle
        return TimestampCheck(
            TimestampStatus.UNTRUSTED, f"the CA bundle has no root certificate ({exc})", gen_time, tsa
        )
    except VerificationError as exc:
        return TimestampCheck(
            TimestampStatus.UNTRUSTED,
            f"the timestamp is not vouched for by a TSA of the given CA bundle ({_reason(exc)})",
            gen_time,
            tsa,
        )
    who = f" by {tsa}" if tsa else ""
    return TimestampCheck(_Status.VALID, f"trusted time {_iso(gen_time)}{who}", gen_time, tsa)


def _reason(exc: Exception) -> str:
    """OpenSSL's verify reason out of rfc3161-client's error stack, e.g. 'unable to get local issuer certificate'."""
    text = str(exc)
    marker = "Verify error: "
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0]
    return text


def response_bytes(entry: dict[str, Any]) -> bytes:
    """The DER ``TimeStampResp`` of an entry (for ``openssl ts -verify -in``)."""
    return base64.b64decode(entry["response"], validate=True)
