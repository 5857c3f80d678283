"""Trusted time on signed evidence envelopes: get an RFC 3161 token over the signed bytes
(``stamp``, ``sign_report``), check it (``check_envelope``), and export the pieces for OpenSSL
(``export_files``). The TSA protocol itself is ``adapters.timestamp``; the envelope is
``adapters.evidence`` (its optional ``timestamp`` field). docs/audit.md explains the choices.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mistral_sov.adapters.timestamp import (
    DEFAULT_TIMEOUT,
    TimestampCheck,
    TimestampError,
    TimestampStatus,
    _iso,
    check,
    check_url,
    request,
    response_bytes,
)
from mistral_sov.errors import InputError, Location

_DEFERRED: list[TimestampError] = []


def choose_url(flag: str | None, policy_tsa: str | None, signing: bool) -> str | None:
    """The TSA to use: ``--timestamp-url``, else the policy's ``evidence.tsa``; only when signing
    (a token covers signed bytes). A flag without signing is a usage error (exit 2)."""
    _DEFERRED.clear()  # a new run: failures of an earlier in-process run are not ours
    if flag is not None and not signing:
        raise InputError("--timestamp-url needs --sign-key", hint="a TSA time-stamps signed evidence only")
    url = flag or policy_tsa
    if url is None or not signing:
        return None
    return check_url(url, "--timestamp-url" if flag else "evidence.tsa")


CLOCK_TOLERANCE_S = 300  # the signer's clock may run this far ahead of the TSA's


_TOKENS: dict[tuple[str, str], dict[str, Any]] = {}


def stamp(envelope: dict[str, Any], url: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Embed a token over the envelope's signed bytes (RFC 8785 form of the payload). One token
    per signed content and TSA in a run: the report file and the stdout copy carry the same one."""
    from mistral_sov.adapters import evidence

    signed = evidence.canonical(envelope["payload"])
    key = (hashlib.sha256(signed).hexdigest(), url)
    if key not in _TOKENS:
        _TOKENS[key] = request(signed, url, timeout=timeout)
    envelope["timestamp"] = dict(_TOKENS[key])
    return envelope


def sign_report(report_json: bytes, key_path: Path, url: str | None) -> bytes:
    """A JSON report as a signed evidence envelope; with ``url``, RFC 3161 time-stamped.

    When the TSA fails the report is still signed (it then says "no trusted time": a trace is
    never lost to a TSA outage) and the error is kept for ``raise_deferred`` (exit 3)."""
    import json

    from mistral_sov.adapters import evidence

    envelope = evidence.sign(json.loads(report_json), evidence.load_private_key(key_path))
    if url:
        try:
            envelope = stamp(envelope, url)
        except TimestampError as exc:
            _DEFERRED.append(exc)
    return evidence.dump(envelope)


def settle(status: int) -> int:
    """After the reports are written: a TSA failure of ``sign_report`` turns a passing exit
    status into 3 (TimestampError); a failing status (1, 3) stays, and the failure is a warning."""
    if not _DEFERRED:
        return status
    first = _DEFERRED[0]
    _DEFERRED.clear()
    error = TimestampError(first.message + "; the evidence was written signed, without trusted time", hint=first.hint)
    if status == 0:
        raise error
    import sys

    sys.stderr.write(f"warning: {error.message}\n    hint: {error.hint}\n")
    return status


def _envelope(data: bytes, file: str) -> tuple[Any, dict[str, Any], Any, bytes]:
    """(payload, signature block, timestamp entry or None, signed bytes) of a signed evidence file,
    parsed by ``adapters.evidence`` (strict: exit 2 when it is not exactly an envelope)."""
    from mistral_sov.adapters import evidence

    envelope = evidence.parse_envelope(data, file)
    return envelope.payload, envelope.signature, envelope.optional.get("timestamp"), envelope.signed_bytes()


def check_envelope(data: bytes, file: str, ca_certs: list[Any] | None) -> TimestampCheck:
    """Check the ``timestamp`` of a signed evidence file, and that the time the evidence claims
    (``payload.generated_at``) is not after the TSA's time (contradictory evidence)."""

    payload, _signature, entry, signed = _envelope(data, file)
    result = check(entry, signed, ca_certs)
    claimed = payload.get("generated_at") if isinstance(payload, dict) else None
    if (
        result.gen_time is None
        or not isinstance(claimed, str)
        or result.status not in (TimestampStatus.VALID, TimestampStatus.UNCHECKED)
    ):
        return result
    try:
        when = datetime.fromisoformat(claimed.replace("Z", "+00:00"))
    except ValueError:
        return result
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if (when - result.gen_time).total_seconds() > CLOCK_TOLERANCE_S:
        return TimestampCheck(
            TimestampStatus.CONTRADICTED,
            f"the evidence says it was made at {claimed}, after the TSA's time {_iso(result.gen_time)}: "
            "contradictory (the signer's clock was wrong, or the time was edited before signing)",
            result.gen_time,
            result.tsa,
        )
    return result


README = """Independent checks of {name} (no mistral-sov needed):

  signed-bytes.json  the exact bytes the Ed25519 signature covers (RFC 8785 canonical JSON of the payload)
  signature.bin      the raw Ed25519 signature (64 bytes)
  timestamp.tsr      the RFC 3161 time-stamp response over SHA-256(signed-bytes.json), if any

Signature (with the signer's public key, PEM):
  openssl pkeyutl -verify -pubin -inkey SIGNER.pub -rawin -in signed-bytes.json -sigfile signature.bin
Trusted time (with the TSA's CA certificate):
  openssl ts -verify -data signed-bytes.json -in timestamp.tsr -CAfile TSA-CA.pem
  openssl ts -reply -in timestamp.tsr -text     (shows the time and the TSA)
Signer key fingerprint (SHA-256 of the raw public key): {fingerprint}
"""


def export_files(file: Path, out: Path) -> list[Path]:
    """Write signed-bytes.json, signature.bin, timestamp.tsr (when present) and README.txt into
    ``out`` (which must not already hold those names: nothing is overwritten)."""
    from mistral_sov.adapters.fileio import atomic_write_bytes

    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read '{file}': {exc.strerror}", location=Location(str(file))) from None
    _payload, signature, entry, signed = _envelope(data, str(file))
    try:
        raw_signature = base64.b64decode(signature["value"], validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"the signature of '{file}' is not valid base64", location=Location(str(file))) from None
    files = {
        "signed-bytes.json": signed,
        "signature.bin": raw_signature,
        "README.txt": README.format(name=Path(file).name, fingerprint=signature.get("public_key_sha256", "?")).encode(
            "utf-8"
        ),
    }
    if isinstance(entry, dict) and isinstance(entry.get("response"), str):
        try:
            files["timestamp.tsr"] = response_bytes(entry)
        except (binascii.Error, ValueError):
            raise InputError(f"the timestamp of '{file}' is not valid base64", location=Location(str(file))) from None
    out = Path(out)
    clash = [name for name in files if (out / name).exists()]
    if clash:
        raise InputError(
            f"'{out}' already holds {', '.join(clash)}; refusing to overwrite",
            location=Location(str(out)),
            hint="pass --out with a new or empty directory",
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        atomic_write_bytes(out / name, content)
        written.append(out / name)
    return written
