"""Signed evidence records: RFC 8785 canonical JSON (JCS, the ``rfc8785`` package) + Ed25519
(``cryptography``).

A signed file is an envelope (format 2)::

    {"format": "mistral-sov-signed-evidence/2",
     "payload": {...the JSON report...},
     "signature": {"algorithm": "Ed25519", "canonicalization": "RFC8785",
                   "public_key_sha256": "<hex>", "value": "<base64>"}}

The signature covers ``signed_bytes``: the RFC 8785 (JSON Canonicalization Scheme) form of
``payload`` — keys sorted by UTF-16 code units, no white space, numbers in the ECMAScript
shortest form (so RTTs such as ``12.5`` or ``0.1`` serialise the same in every language),
UTF-8. Any JCS implementation (JavaScript ``canonicalize``, Go ``gowebpki/jcs``, Java
``erdtman/java-json-canonicalization``) rebuilds the same bytes; a test proves it with the
npm package.

Reading is strict, so a verifier sees exactly what was signed: duplicate keys anywhere in
the file, envelope or signature keys not listed here, a number that cannot be represented
(NaN, a 5,000-digit integer) or nesting deeper than ``MAX_DEPTH`` are refused (exit 2).

Optional, unsigned envelope fields (``OPTIONAL_FIELDS``) — each one's meaning documented
there and checked by its own verifier, never trusted by being present:

* ``timestamp``: an RFC 3161 time-stamp token over the SHA-256 of ``signed_bytes``
  (``adapters/timestamp.py``).

Format 1 (``mistral-sov-signed-evidence/1``: Python ``json.dumps(sort_keys=True)``, which
other languages do not reproduce for floats) is still verified, and reported as legacy.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistral_sov.adapters.fileio import atomic_write_bytes, create_exclusive
from mistral_sov.errors import InputError, Location

ENVELOPE_FORMAT = "mistral-sov-signed-evidence/2"
LEGACY_FORMAT = "mistral-sov-signed-evidence/1"
CANONICALIZATION = "RFC8785"
PRIVATE_NAME = "mistral-sov-evidence.key"
PUBLIC_NAME = "mistral-sov-evidence.pub"
MAX_DEPTH = 200
# unsigned envelope fields a reader may meet, and what they are (documented above)
OPTIONAL_FIELDS: dict[str, str] = {
    "timestamp": "RFC 3161 time-stamp token over the SHA-256 of the signed bytes",
}
_ENVELOPE_KEYS = {"format", "payload", "signature"}
_SIGNATURE_KEYS = {"algorithm", "canonicalization", "public_key_sha256", "value"}
_LEGACY_SIGNATURE_KEYS = {"algorithm", "public_key_sha256", "value"}


def canonical(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes of ``obj``: what format 2 signs."""
    import rfc8785

    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise InputError(
            f"the evidence cannot be canonicalised (RFC 8785): {exc}",
            hint="JCS allows finite numbers and integers within +-2^53 only",
        ) from None


def legacy_canonical(obj: Any) -> bytes:
    """Format 1's canonical form (Python only; kept to verify old files)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


@dataclass(frozen=True)
class Envelope:
    """A strictly parsed signed-evidence file."""

    format: str
    payload: Any
    signature: dict[str, Any]
    optional: dict[str, Any]

    @property
    def legacy(self) -> bool:
        return self.format == LEGACY_FORMAT

    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers."""
        return legacy_canonical(self.payload) if self.legacy else canonical(self.payload)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strict_json(data: bytes, file: str) -> Any:
    """Parse JSON refusing duplicate keys, NaN/Infinity, huge integers and deep nesting."""
    name = Path(file).name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"'{name}' is not UTF-8 text", location=Location(file), hint="pass the evidence file"
        ) from None
    if _depth(text) > MAX_DEPTH:
        raise InputError(
            f"'{name}' nests deeper than {MAX_DEPTH} levels",
            location=Location(file),
            hint="this is not mistral-sov evidence",
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _Duplicate as exc:
        raise InputError(
            f"'{name}' has the key '{exc.key}' twice in one object; a verifier cannot tell which one was signed",
            location=Location(file),
            hint="evidence with duplicate keys is refused: obtain the original file from the signer",
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"'{name}' is not JSON ({exc.msg})",
            location=Location(file, exc.lineno, exc.colno),
            hint="pass a signed evidence file",
        ) from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit integers, NaN
        raise InputError(
            f"'{name}' holds a value JSON evidence cannot carry ({exc})",
            location=Location(file),
            hint="pass a signed evidence file",
        ) from None


def parse_envelope(data: bytes, file: str = "<evidence>") -> Envelope:
    """The envelope, or InputError (exit 2) when it is not exactly a signed-evidence file."""
    doc = strict_json(data, file)
    name = Path(file).name
    where = Location(file)
    if not isinstance(doc, dict) or doc.get("format") not in (ENVELOPE_FORMAT, LEGACY_FORMAT) or "payload" not in doc:
        raise InputError(
            f"'{name}' is not a signed evidence envelope",
            location=where,
            hint="sign reports with `verify-residency --report json:FILE --sign-key KEY`",
        )
    fmt = doc["format"]
    unknown = sorted(set(doc) - _ENVELOPE_KEYS - set(OPTIONAL_FIELDS))
    if unknown or (fmt == LEGACY_FORMAT and set(doc) - _ENVELOPE_KEYS):
        extra = unknown or sorted(set(doc) - _ENVELOPE_KEYS)
        raise InputError(
            f"'{name}' has unsigned fields outside the signature: {', '.join(extra)}",
            location=where,
            hint="only the payload is signed; evidence with extra envelope fields is refused",
        )
    sig = doc.get("signature")
    allowed = _LEGACY_SIGNATURE_KEYS if fmt == LEGACY_FORMAT else _SIGNATURE_KEYS
    if not isinstance(sig, dict) or set(sig) - allowed:
        raise InputError(
            "unsupported or malformed signature block"
            + (f" (unknown keys: {', '.join(sorted(set(sig) - allowed))})" if isinstance(sig, dict) else ""),
            location=where,
            hint="only Ed25519 signatures written by mistral-sov are supported",
        )
    if (
        sig.get("algorithm") != "Ed25519"
        or not isinstance(sig.get("value"), str)
        or (fmt == ENVELOPE_FORMAT and sig.get("canonicalization") != CANONICALIZATION)
    ):
        raise InputError(
            "unsupported or missing signature",
            location=where,
            hint="only Ed25519 signatures over RFC 8785 JSON written by mistral-sov are supported",
        )
    optional = {k: doc[k] for k in OPTIONAL_FIELDS if k in doc}
    return Envelope(fmt, doc["payload"], sig, optional)


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
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from mistral_sov.adapters.fileio import translate_os_error

        raise translate_os_error(exc, directory, "create") from None
    # the private key appears complete or not at all: a full disk never leaves a 0-byte key
    create_exclusive(private_path, private_pem, mode=0o600)
    try:
        atomic_write_bytes(public_path, public_pem)
    except Exception:
        private_path.unlink()  # no half pair: a retry starts clean
        raise
    return private_path, public_path


def sign(payload: dict[str, Any], private_key: Any) -> dict[str, Any]:
    signature = private_key.sign(canonical(payload))
    return {
        "format": ENVELOPE_FORMAT,
        "payload": payload,
        "signature": {
            "algorithm": "Ed25519",
            "canonicalization": CANONICALIZATION,
            "public_key_sha256": _public_fingerprint(private_key.public_key()),
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }


def dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def verify(data: bytes, public_key: Any, file: str = "<evidence>") -> tuple[bool, str]:
    """(True, why) when the envelope's signature matches ``public_key``; (False, why) when it
    does not; InputError when the file is not exactly a signed evidence envelope."""
    from cryptography.exceptions import InvalidSignature

    envelope = parse_envelope(data, file)
    sig = envelope.signature
    try:
        value = base64.b64decode(sig["value"], validate=True)
    except ValueError:
        return False, "the signature is not valid base64"
    if sig.get("public_key_sha256") != _public_fingerprint(public_key):
        return False, "signed with a different key (public key fingerprint differs)"
    try:
        public_key.verify(value, envelope.signed_bytes())
    except InvalidSignature:
        return False, "the signature does not match the content: the evidence was changed"
    except (ValueError, InputError) as exc:
        return False, f"the payload cannot be canonicalised ({exc})"
    how = (
        "legacy format 1 (Python canonical JSON; re-sign to get RFC 8785)"
        if envelope.legacy
        else "RFC 8785 canonical JSON"
    )
    return True, f"valid Ed25519 signature by key {sig['public_key_sha256'][:16]}… over {how}"
