"""Signed evidence records: canonical JSON + Ed25519 (``cryptography``).

A signed file is an envelope::

    {"format": "mistral-sov-signed-evidence/1",
     "payload": {...the JSON report...},
     "signature": {"algorithm": "Ed25519", "public_key_sha256": "<hex>", "value": "<base64>"}}

The signature covers the *canonical* JSON of ``payload``: keys sorted, no insignificant
white space (``,`` and ``:`` separators), UTF-8, no NaN/Infinity. Re-serialising a parsed
payload gives the same bytes, so any change to any value is detected.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mistral_sov.adapters.fileio import atomic_write_bytes
from mistral_sov.errors import InputError, Location

ENVELOPE_FORMAT = "mistral-sov-signed-evidence/1"
PRIVATE_NAME = "mistral-sov-evidence.key"
PUBLIC_NAME = "mistral-sov-evidence.pub"


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{what} '{path}' not found",
            location=Location(str(path)),
            hint="create a key pair with `mistral-sov keys generate`",
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read '{path}': {exc.strerror}",
            location=Location(str(path)),
            hint="check the path and its permissions",
        ) from None


def load_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"'{path}' is not an unencrypted PEM private key ({exc})",
            location=Location(str(path)),
            hint="pass the .key file written by `mistral-sov keys generate`",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"'{path}' is not an Ed25519 key",
            location=Location(str(path)),
            hint="evidence is signed with Ed25519: `mistral-sov keys generate`",
        )
    return key


def load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"'{path}' is not a PEM public key ({exc})",
            location=Location(str(path)),
            hint="pass the .pub file written by `mistral-sov keys generate`",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(
            f"'{path}' is not an Ed25519 public key",
            location=Location(str(path)),
            hint="pass the .pub file written by `mistral-sov keys generate`",
        )
    return key


def _public_fingerprint(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Write an Ed25519 key pair as PEM (private key mode 0600 where the OS supports it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    directory = Path(directory)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if private_path.exists():
        raise InputError(
            f"'{private_path}' already exists",
            location=Location(str(private_path)),
            hint="choose another --out directory; never overwrite a signing key",
        )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    directory.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(private_path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    if os.name == "posix":
        private_path.chmod(0o600)
    atomic_write_bytes(public_path, public_pem)
    return private_path, public_path


def sign(payload: dict[str, Any], private_key: Any) -> dict[str, Any]:
    signature = private_key.sign(canonical(payload))
    return {
        "format": ENVELOPE_FORMAT,
        "payload": payload,
        "signature": {
            "algorithm": "Ed25519",
            "public_key_sha256": _public_fingerprint(private_key.public_key()),
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }


def dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def verify(data: bytes, public_key: Any, file: str = "<evidence>") -> tuple[bool, str]:
    """(True, why) when the envelope's signature matches ``public_key``; (False, why) when it
    does not; InputError when the file is not a signed evidence envelope at all."""
    from cryptography.exceptions import InvalidSignature

    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, col = (exc.lineno, exc.colno) if isinstance(exc, json.JSONDecodeError) else (0, 0)
        raise InputError(
            f"'{Path(file).name}' is not JSON ({exc})",
            location=Location(file, line, col),
            hint="pass a report written with --sign-key",
        ) from None
    sig = doc.get("signature") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != ENVELOPE_FORMAT
        or not isinstance(sig, dict)
        or "payload" not in doc
    ):
        raise InputError(
            f"'{Path(file).name}' is not a signed evidence envelope",
            location=Location(file),
            hint="sign reports with `verify-residency --report json:FILE --sign-key KEY`",
        )
    if sig.get("algorithm") != "Ed25519" or not isinstance(sig.get("value"), str):
        raise InputError(
            "unsupported or missing signature",
            location=Location(file),
            hint="only Ed25519 signatures written by mistral-sov are supported",
        )
    try:
        value = base64.b64decode(sig["value"], validate=True)
    except ValueError:
        return False, "the signature is not valid base64"
    if sig.get("public_key_sha256") != _public_fingerprint(public_key):
        return False, "signed with a different key (public key fingerprint differs)"
    try:
        public_key.verify(value, canonical(doc["payload"]))
    except InvalidSignature:
        return False, "the signature does not match the content: the evidence was changed"
    except ValueError as exc:
        return False, f"the payload cannot be canonicalised ({exc})"
    return True, f"valid Ed25519 signature by key {sig['public_key_sha256'][:16]}…"
