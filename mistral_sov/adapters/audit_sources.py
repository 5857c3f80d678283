"""Read what the audit pack and the AI-BOM are built from: the local model store (hashes and GGUF
headers re-read from the files themselves, not trusted from manifests), the last export bundle
manifest and evidence files. Plain data out (``services.inventory.StoredModelFacts``, dicts);
the records themselves are built by ``services.audit``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistral_sov.core.policy import Policy
from mistral_sov.errors import InputError, Location
from mistral_sov.services.inventory import StoredModelFacts


def sha256_path(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_facts(store_root: Path | None, policy: Policy) -> list[StoredModelFacts]:
    """Every model file on this machine the policy could mean: each stored model (hashed through
    the store's cache, header re-read from the blob) and each policy ``file:`` outside the store.
    A blob that is not a well-formed GGUF raises ``GGUFFormatError`` (exit 5)."""
    from mistral_sov.adapters.inference.gguf_header import read_header
    from mistral_sov.adapters.inference.store import ModelStore

    store = ModelStore(store_root)
    facts: list[StoredModelFacts] = []
    seen: set[str] = set()
    for model in store.list():
        if not model.path.is_file():
            continue  # a manifest without its blob: nothing on the machine to inventory
        sha, _cached = store.cache.sha256(model.path)
        facts.append(
            StoredModelFacts(
                model.name,
                sha,
                model.path.stat().st_size,
                str(model.path.resolve()),
                read_header(model.path).governance(),
            )
        )
        seen.add(str(model.path.resolve()))
    for entry in policy.local_inference.models:
        if not entry.file:
            continue
        path = Path(entry.file).expanduser()
        if not path.is_file() or str(path.resolve()) in seen:
            continue
        seen.add(str(path.resolve()))
        sha = store.cache.sha256(path)[0]
        facts.append(
            StoredModelFacts(entry.name, sha, path.stat().st_size, str(path.resolve()), read_header(path).governance())
        )
    return facts


def read_json(path: Path, what: str) -> Any:
    """A JSON file the user pointed at; exit 2 with file:line:col when it is not JSON."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {what} '{path}': {exc.strerror}", location=Location(str(path)), hint="check the path"
        ) from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} '{path}' is not UTF-8 ({exc.reason})", location=Location(str(path))) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} '{path}' is not JSON ({exc.msg})",
            location=Location(str(path), exc.lineno, exc.colno),
            hint=f"pass the {what} written by mistral-sov",
        ) from None


def bundle_manifest(directory: Path) -> dict[str, Any] | None:
    """The ``manifest.json`` of an export bundle (None when ``directory`` holds none)."""
    file = Path(directory) / "manifest.json"
    if not file.is_file():
        return None
    doc = read_json(file, "bundle manifest")
    if not isinstance(doc, dict) or doc.get("tool") != "mistral-sov":
        raise InputError(
            f"'{file}' is not a manifest written by `mistral-sov policy export`",
            location=Location(str(file)),
            hint="pass --bundle with the directory written by `mistral-sov policy export --out DIR`",
        )
    return doc


@dataclass(frozen=True)
class LoadedEvidence:
    path: Path
    data: bytes
    report: dict[str, Any]
    signature: str
    signature_ok: bool | None  # None: unsigned or not checked
    trusted_time: str


def load_evidence(path: Path, public_key: Any | None) -> LoadedEvidence:
    """A verify-residency or gate JSON report, signed or not. With ``public_key`` a signed file's
    signature is checked (``signature_ok``); an unsigned file says so."""
    from mistral_sov.adapters import evidence

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read evidence file '{path}': {exc.strerror}", location=Location(str(path)), hint="check the path"
        ) from None
    doc = evidence.strict_json(data, str(path))  # duplicate keys, NaN, absurd nesting: exit 2
    signed = isinstance(doc, dict) and doc.get("format") in (evidence.ENVELOPE_FORMAT, evidence.LEGACY_FORMAT)
    report = doc.get("payload") if signed else doc
    if not isinstance(report, dict) or not isinstance(report.get("checks"), list) or "kind" not in report:
        raise InputError(
            f"'{path}' is not a mistral-sov JSON report",
            location=Location(str(path)),
            hint="pass files written by `verify-residency --report json:FILE` or `gate --report json:FILE`",
        )
    if not signed:
        return LoadedEvidence(Path(path), data, report, "unsigned", None, "no trusted time")
    entry = doc.get("timestamp")
    if isinstance(entry, dict):
        trusted = f"RFC 3161 token of {entry.get('gen_time', '?')} (check it with `evidence verify --tsa-ca`)"
    else:
        trusted = "no trusted time"
    if public_key is None:
        return LoadedEvidence(Path(path), data, report, "signed, not checked (no --public-key)", None, trusted)
    ok, why = evidence.verify(data, public_key, str(path))
    return LoadedEvidence(Path(path), data, report, why, ok, trusted)
