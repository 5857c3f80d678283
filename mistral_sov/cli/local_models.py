"""``mistral-sov local models list|show|import|remove``: the offline model store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import DEFAULT_POLICY, OutputOption, PolicyOption
from mistral_sov.cli.local_common import StoreOption, approval_text, human, maybe_policy, store_of

models_app = typer.Typer(help="The local model store (offline import, SHA-256, GGUF metadata).", no_args_is_help=True)


@models_app.command("list")
def models_list(
    store: StoreOption = None, policy: PolicyOption = DEFAULT_POLICY, output: OutputOption = OutputFormat.table
) -> None:
    """List stored models with their hash, quantisation, licence claim and approval."""
    from mistral_sov.cli._ui import emit

    s = store_of(store)
    pol = maybe_policy(policy)
    rows: list[dict[str, Any]] = []
    for m in s.list():
        meta = m.metadata
        status, _ = approval_text(pol, m.sha256, meta.get("license_claim"))
        rows.append(
            {
                "name": m.name,
                "sha256": m.sha256,
                "size": m.size,
                "architecture": meta.get("architecture"),
                "quantization": meta.get("quantization"),
                "parameters": meta.get("parameter_count"),
                "license_claim": meta.get("license_claim"),
                "approval": status,
            }
        )
    if output is not OutputFormat.table:
        emit({"store": str(s.root), "models": rows}, output)
        return
    table = [
        [
            r["name"],
            r["sha256"][:12] + "…",
            human(r["size"]),
            r["architecture"],
            r["quantization"],
            r["license_claim"],
            r["approval"],
        ]
        for r in rows
    ]
    emit(
        rows,
        output,
        columns=[
            ("name", "Name"),
            ("sha256", "SHA-256"),
            ("size", "Size"),
            ("architecture", "Arch"),
            ("quantization", "Quant"),
            ("license_claim", "Licence (GGUF claim)"),
            ("approval", "Policy"),
        ],
        rows=table,
        title=f"{len(rows)} model(s) in {s.root}",
    )


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="Stored model name.")],
    store: StoreOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Everything an administrator reviews before approving a model."""
    from mistral_sov.cli._ui import emit, print_kv, warn

    s = store_of(store)
    m = s.require(name)
    meta = m.metadata
    pol = maybe_policy(policy)
    status, approval = approval_text(pol, m.sha256, meta.get("license_claim"))
    from mistral_sov.cli.local_enterprise import is_sealed_blob, sealed_twin

    sealed = is_sealed_blob(m.path)
    file = sealed_twin(m.path) if sealed else m.path  # a sealed model has no clear file
    data: dict[str, Any] = {
        "name": m.name,
        "sha256": m.sha256,
        "size": m.size,
        "file": str(file),
        "sealed": sealed,
        "source": m.manifest.get("source"),
        "imported_at": m.manifest.get("imported_at"),
        "approval": status,
        "policy_entry": approval.entry.model_dump() if approval and approval.entry else None,
        "approval_problems": approval.problems if approval else [],
        "approval_warnings": approval.warnings if approval else [],
        "gguf": meta,
    }
    if output is not OutputFormat.table:
        emit(data, output)
        return
    params = meta.get("parameter_count")
    pairs: list[tuple[str, Any]] = [
        ("Name", m.name),
        ("SHA-256", m.sha256),
        ("Size", f"{human(m.size)} ({m.size:,} bytes)"),
        ("File", f"{file} (sealed: decrypted into memory by serve/run)" if sealed else file),
        ("Imported from", data["source"]),
        ("Imported at", data["imported_at"]),
        (
            "Policy",
            status
            + (f" as '{approval.entry.name}', licence {approval.entry.license}" if approval and approval.entry else ""),
        ),
        ("Licence (GGUF claim)", meta.get("license_claim") or "none written in the file"),
        ("Architecture", meta.get("architecture")),
        ("Quantisation", meta.get("quantization")),
        ("Parameters", f"{params:,}" if isinstance(params, int) else params),
        ("Context length", meta.get("context_length")),
        ("Chat template SHA-256", meta.get("chat_template_sha256")),
    ]
    for key, label in (
        ("name", "GGUF name"),
        ("organization", "Organisation"),
        ("author", "Author"),
        ("size_label", "Size label"),
        ("license_name", "Licence name"),
        ("license_link", "Licence link"),
        ("repo_url", "Repository"),
        ("quantized_by", "Quantised by"),
        ("base_models", "Base models"),
        ("languages", "Languages"),
    ):
        if meta.get(key) is not None:
            pairs.append((label, meta[key]))
    layers = (meta.get("n_layer"), meta.get("n_embd"), meta.get("n_head"), meta.get("n_head_kv"))
    pairs.append(("Layers / embd / heads / KV heads", " / ".join(str(x) for x in layers)))
    print_kv(pairs, title=f"Model {m.name}")
    if approval:
        for p in approval.problems:
            warn(f"refused: {p}")
        if approval.problems and approval.hint:
            warn(f"    hint: {approval.hint}")
        for w in approval.warnings:
            warn(f"warning: {w}")


@models_app.command("import")
def models_import(
    path: Annotated[Path, typer.Argument(help="A .gguf file (e.g. on a USB stick).")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name in the store (default: file stem).")] = None,
    store: StoreOption = None,
    policy: PolicyOption = DEFAULT_POLICY,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Copy a GGUF into the store (atomic, streaming SHA-256), recording its governance metadata."""
    from mistral_sov.cli._ui import echo, emit, warn

    s = store_of(store)
    m = s.import_file(path, name)
    pol = maybe_policy(policy)
    status, approval = approval_text(pol, m.sha256, m.metadata.get("license_claim"))
    if output is not OutputFormat.table:
        emit({"name": m.name, "sha256": m.sha256, "size": m.size, "file": str(m.path), "approval": status}, output)
        return
    echo(f"imported '{m.name}' into {s.root}")
    echo(f"  sha256   {m.sha256}")
    echo(f"  size     {human(m.size)} ({m.size:,} bytes)")
    echo(f"  licence  {m.metadata.get('license_claim') or 'none claimed in the file'}")
    echo(f"  policy   {status}")
    if approval is not None and not approval.approved:
        warn(
            "  to approve it after review, add to sovereignty.yaml under local_inference.models:\n"
            f"    - {{name: {m.name}, sha256: {m.sha256}, license: "
            f"{m.metadata.get('license_claim') or 'SPDX-ID'}}}"
        )


@models_app.command("remove")
def models_remove(name: Annotated[str, typer.Argument(help="Stored model name.")], store: StoreOption = None) -> None:
    """Remove a model from the store (the blob goes when no other name refers to it)."""
    from mistral_sov.cli._ui import echo

    m = store_of(store).remove(name)
    echo(f"removed '{m.name}' ({m.sha256[:12]}…)")
