"""``mistral-sov audit pack``: the regulators' records from the policy and the evidence
(docs/audit.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption
from mistral_sov.cli.sbom import StoreOption

if TYPE_CHECKING:
    from mistral_sov.adapters.audit_sources import LoadedEvidence

app = typer.Typer(help="Audit pack: DORA register, GDPR Art. 30 record, AI Act Art. 26 sheet.", no_args_is_help=True)

DEFAULT_BUNDLE = Path("mistral-sov-bundle")


def _is_pack(directory: Path) -> bool:
    return _pack_files(directory) is not None


def _pack_files(directory: Path) -> dict[str, str] | None:
    """The files an earlier pack wrote (``index.json`` lists them with SHA-256), or None."""
    from mistral_sov.adapters.bundle import files_listing, read_json_file
    from mistral_sov.services.audit import PACK_KIND

    doc = read_json_file(directory / "index.json")
    payload = doc.get("payload", doc) if isinstance(doc, dict) else None
    if not isinstance(payload, dict) or payload.get("kind") != PACK_KIND:
        return None
    return files_listing(payload.get("files"))


def _pack_name(path: Path, taken: set[str]) -> str:
    name = path.name
    stem, suffix = path.stem, path.suffix
    n = 2
    while name in taken:
        name = f"{stem}-{n}{suffix}"
        n += 1
    taken.add(name)
    return name


@app.command("pack")
def pack(  # noqa: PLR0917
    out: Annotated[Path, typer.Option("--out", help="Directory for the pack (replaced atomically as a whole).")],
    policy: PolicyOption = DEFAULT_POLICY,
    store: StoreOption = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Export bundle directory (default ./mistral-sov-bundle when present)."),
    ] = None,
    evidence_files: Annotated[
        list[Path] | None,
        typer.Option("--evidence", help="JSON report of verify-residency or gate, signed or not (repeatable)."),
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Check the evidence signatures with this key (PEM).")
    ] = None,
    sign_key: Annotated[Path | None, typer.Option("--sign-key", help="Sign index.json (Ed25519 PEM).")] = None,
    timestamp_url: Annotated[
        str | None,
        typer.Option("--timestamp-url", help="RFC 3161 TSA that time-stamps the signed index (default: evidence.tsa)."),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> int:
    """Write the audit pack: DORA register CSV, GDPR Art. 30 record, AI Act Art. 26 sheet,
    SBOM/AI-BOM, the evidence, and a signed index with every file's SHA-256.

    Exit 0 written; 1 written but a check failed (log retention under six months) or an
    evidence signature is invalid (then nothing is written); 2 bad input (no endpoint and no
    model, unreadable evidence, --out not a pack); 5 a model in the store is refused."""
    from datetime import datetime, timezone

    from mistral_sov import __version__
    from mistral_sov.adapters import audit_pack, audit_sources, evidence, sbom
    from mistral_sov.adapters.bundle import write_bundle
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.evidence_time import choose_url
    from mistral_sov.cli._ui import echo, warn
    from mistral_sov.cli.common import load_policy
    from mistral_sov.errors import InputError, Location
    from mistral_sov.ports import Artifact
    from mistral_sov.services.audit import AuditInputs, EvidenceFile, build_records
    from mistral_sov.services.inventory import inventory, require_no_refusals

    key = evidence.load_private_key(sign_key) if sign_key is not None else None
    verify_key = evidence.load_public_key(public_key) if public_key is not None else None
    loaded = load_policy(policy)
    pol = loaded.policy
    tsa = choose_url(timestamp_url, pol.evidence.tsa, sign_key is not None)
    if not pol.endpoints and not pol.local_inference.models:
        raise InputError(
            "the policy approves no AI endpoint and no local model: there is nothing to record",
            location=Location(str(loaded.path)),
            hint="list the approved AI endpoints under `endpoints:` (or local models) and run again",
        )
    out_dir = Path(out)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_pack(out_dir):
        raise InputError(
            f"'{out_dir}' is not empty and holds no audit pack (no index.json of a pack); refusing to replace it",
            location=Location(str(out_dir)),
            hint="pass --out with a new or empty directory; the pack replaces the whole directory",
        )
    approved, refused = inventory(pol, audit_sources.model_facts(store, pol))
    require_no_refusals(refused)

    bundle_dir = bundle if bundle is not None else DEFAULT_BUNDLE
    manifest = audit_sources.bundle_manifest(bundle_dir)
    if manifest is None and bundle is not None:
        raise InputError(
            f"'{bundle_dir}' holds no manifest.json",
            location=Location(str(bundle_dir)),
            hint="pass --bundle with the directory written by `mistral-sov policy export --out DIR`",
        )
    loaded_ev: list[LoadedEvidence] = [audit_sources.load_evidence(p, verify_key) for p in evidence_files or []]
    bad = [ev for ev in loaded_ev if ev.signature_ok is False]
    if bad:
        for ev in bad:
            warn(f"{ev.path}: INVALID: {ev.signature}")
        warn("no pack written: evidence that fails its signature check cannot support a record")
        return 1

    taken: set[str] = set()
    ev_inputs: list[EvidenceFile] = []
    artifacts: list[Artifact] = []
    rows: list[dict[str, Any]] = []
    for i, ev in enumerate(loaded_ev, 1):
        name = _pack_name(ev.path, taken)
        item = EvidenceFile(f"E{i}", name, _sha(ev.data), ev.report, ev.signature, ev.trusted_time)
        ev_inputs.append(item)
        artifacts.append(Artifact(f"evidence/{name}", ev.data))
        rows.append(
            {
                "id": item.id,
                "file": f"evidence/{name}",
                "original_path": str(ev.path),
                "sha256": item.sha256,
                "kind": ev.report.get("kind"),
                "generated_at": ev.report.get("generated_at"),
                "verdict": ev.report.get("verdict"),
                "signature": ev.signature,
                "trusted_time": ev.trusted_time,
            }
        )
    audit_log = _audit_log_path(pol.local_inference.audit_log, loaded.path, store)
    inputs = AuditInputs(
        policy=pol,
        policy_file=str(loaded.path),
        policy_sha256=loaded.sha256,
        catalog=load_catalog(),
        models=approved,
        evidence=ev_inputs,
        bundle_manifest=manifest,
        audit_log=audit_log,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
    )
    records = build_records(inputs)
    toolkit = sbom.to_json(sbom.toolkit_bom())
    bom, cards = sbom.ai_bom(approved, pol.organization)
    boms = {"mistral-sov.cdx.json": toolkit, "ai-bom.cdx.json": sbom.to_json(bom, cards)}
    for name, doc in boms.items():
        problems = sbom.validate(doc)
        if problems:
            raise RuntimeError(f"{name} does not validate against CycloneDX 1.6: {problems[:3]}")
    artifacts += audit_pack.record_artifacts(inputs, records, {k: sbom.dump(v) for k, v in boms.items()})
    artifacts.append(Artifact("sources/sovereignty.yaml", loaded.path.read_bytes()))
    if manifest is not None:
        artifacts.append(Artifact("sources/bundle-manifest.json", (bundle_dir / "manifest.json").read_bytes()))
    index = audit_pack.index_payload(inputs, records, artifacts, rows)
    trusted_time = "no trusted time"
    if key is not None:
        envelope = evidence.sign(index, key)
        signature = f"Ed25519 by key {envelope['signature']['public_key_sha256'][:16]}…"
        if tsa is not None:
            from mistral_sov.adapters.evidence_time import stamp

            envelope = stamp(envelope, tsa)
            trusted_time = f"RFC 3161 token of {envelope['timestamp']['gen_time']} from {tsa}"
        index_bytes = evidence.dump(envelope)
    else:
        signature, index_bytes = "unsigned (pass --sign-key)", evidence.dump(index)
    artifacts.append(Artifact("index.json", index_bytes))
    artifacts.append(Artifact("index.html", audit_pack.render_index_html(index, signature, trusted_time)))
    write_bundle(out_dir, artifacts, owned_by=_pack_files, control=("index.json", "index.html"))

    if output is OutputFormat.table:
        echo(f"audit pack written to {out_dir} ({len(artifacts)} files; index {signature}; {trusted_time})")
        echo(f"  {len(records.to_complete)} field(s) to complete by a human: {out_dir / 'TO-COMPLETE.md'}")
    else:
        from mistral_sov.cli._ui import emit

        summary = {
            "out": str(out_dir),
            "files": [{"path": f["path"], "sha256": f["sha256"]} for f in index["files"]],
            "index": {"signature": signature, "trusted_time": trusted_time},
            "to_complete": len(records.to_complete),
            "checks": index["checks"],
            "warnings": records.warnings,
            "failures": records.failures,
        }
        emit(summary, output)
    for text in records.warnings:
        warn(f"warning: {text}")
    for text in records.failures:
        warn(f"FAILED: {text}")
    return 1 if records.failures else 0


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _audit_log_path(configured: str | None, policy_path: Path, store: Path | None) -> str:
    """Where ``local serve`` writes its audit log (same rule as the server)."""
    if configured:
        path = Path(configured)
        return str(path if path.is_absolute() else (policy_path.parent / path).resolve())
    from mistral_sov.adapters.inference.store import ModelStore

    return str((ModelStore(store).root / "audit.jsonl").resolve())
