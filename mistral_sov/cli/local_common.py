"""Shared pieces of the ``mistral-sov local`` commands: options, the model store, which file to
serve (resolve + verify + approve), API keys, and starting the engine child."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
    from mistral_sov.adapters.inference.store import ModelStore, VerifiedFile
    from mistral_sov.core.policy import Policy
    from mistral_sov.services.local import Approval

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="MISTRAL_SOV_MODEL_STORE",
        show_default=False,
        help="Model store directory (default: the user data dir; or $MISTRAL_SOV_MODEL_STORE).",
    ),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Model name (store or policy); default: the only approved one.")
]
CtxOption = Annotated[int, typer.Option("--ctx", min=128, max=1_048_576, help="Context window in tokens.")]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, max=1024, help="CPU threads (default: physical cores).")
]


def store_of(path: Path | None) -> ModelStore:
    from mistral_sov.adapters.inference.store import ModelStore

    return ModelStore(path)


def maybe_policy(path: Path) -> Policy | None:
    from mistral_sov.cli.common import load_policy

    if not path.exists():
        return None
    return load_policy(path, print_warnings=False).policy


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def approval_text(policy: Policy | None, sha: str, claim: str | None) -> tuple[str, Approval | None]:
    from mistral_sov.services.local import assess

    if policy is None:
        return "unknown (no policy file)", None
    result = assess(policy.local_inference, sha, claim)
    return ("approved" if result.approved else "NOT approved"), result


def resolve_model(name: str | None, policy: Policy, policy_path: Path, s: ModelStore) -> tuple[str, Path]:
    """Which file to serve: a policy entry's ``file:``, a stored model, or the only approved one."""
    from mistral_sov.adapters.inference.store import entry_path, locate_model
    from mistral_sov.errors import InputError

    entries = policy.local_inference.models

    def entry_file(entry: Any) -> Path | None:
        return locate_model(entry, policy_path, s)

    if name:
        entry = next((e for e in entries if e.name == name), None)
        if entry is not None and entry.file:  # a missing file: verify_file refuses it (exit 5)
            return name, entry_file(entry) or entry_path(entry, policy_path) or Path(entry.file)
        stored = s.get(name)
        if stored is not None:
            return name, stored.path
        if entry is not None:
            found = entry_file(entry)
            if found is not None:
                return name, found
        raise InputError(
            f"model '{name}' is neither in the store ({s.root}) nor a policy entry with a file",
            hint="import it with `mistral-sov local models import PATH --name NAME`",
        )
    available = [(e.name, p) for e in entries if (p := entry_file(e)) is not None]
    if len(available) == 1:
        return available[0]
    stored_all = s.list()
    if not available and len(stored_all) == 1:
        return stored_all[0].name, stored_all[0].path
    raise InputError(
        "which model? " + ("several approved models are available" if available else "no approved model is available"),
        hint="pass --model NAME" + ("" if available else "; import and approve one first (docs/local.md)"),
    )


def prepare(
    name: str | None, policy_path: Path, store: Path | None
) -> tuple[Policy, str, VerifiedFile, Approval, Path]:
    """Resolve, verify (header + cached SHA-256) and approve, before anything is loaded."""
    from mistral_sov.adapters.inference.store import verify_file
    from mistral_sov.cli._ui import warn
    from mistral_sov.cli.local_enterprise import open_sealed
    from mistral_sov.cli.policy_effective import load_endpoint_policy
    from mistral_sov.services.local import require_approved

    loaded = load_endpoint_policy(policy_path)  # the managed policy (GPO, profile, managed.json) wins
    s = store_of(store)
    model_name, path = resolve_model(name, loaded.policy, loaded.path, s)
    verified = open_sealed(path) or verify_file(path, s.cache)  # the engine loads the hashed descriptor
    try:
        approval = require_approved(loaded.policy.local_inference, verified.sha256, verified.header.license, model_name)
    except BaseException:
        verified.close()
        raise
    for w in approval.warnings:
        warn(f"warning: {w}")
    how = "cached verdict" if verified.from_cache else "hashed"
    warn(
        f"model '{model_name}' {approval.summary}; sha256 {verified.sha256[:16]}… verified ({how}, "
        f"{verified.seconds:.2f} s)"
    )
    enforce = loaded.policy.local_inference.enforce_local_only
    warn(
        "enforce_local_only: "
        + (
            "ON — cloud AI services are blocked by policy; this local model is the approved assistant"
            if enforce
            else "off (cloud endpoints may also be allowed)"
        )
    )
    return loaded.policy, model_name, verified, approval, loaded.path


def audit_path(policy: Policy, policy_path: Path, store: Path | None) -> Path:
    """The audit log (policy ``audit_log``, relative to the policy file; default in the store);
    the quota database ``usage.sqlite3`` lives beside it."""
    li = policy.local_inference
    if not li.audit_log:
        return store_of(store).root / "audit.jsonl"
    path = Path(li.audit_log)
    return path if path.is_absolute() else policy_path.parent / path


def api_keys(env_var: str | None) -> list[str]:
    from mistral_sov.errors import InputError

    if env_var is None:
        return []
    value = os.environ.get(env_var, "")
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise InputError(
            f"environment variable {env_var} is empty or not set",
            hint=f"set {env_var} to one or more API keys separated by commas",
        )
    short = [k for k in keys if len(k) < 16]
    if short:
        raise InputError(
            f"{len(short)} API key(s) in {env_var} are shorter than 16 characters",
            hint='generate keys with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    return keys


# ------------------------------------------------------------------------------- the engine
LOCAL_EXTRA_HINT = "pip install 'mistral-sov[local]' (builds llama.cpp, about 8 minutes; see docs/local.md)"

BackendOption = Annotated[
    str, typer.Option("--backend", help="llama-cpp (llama-cpp-python worker) or llama-server (llama.cpp binary).")
]
ServerBinaryOption = Annotated[Path | None, typer.Option("--server-binary", help="llama-server binary.")]
ServerArgOption = Annotated[
    list[str] | None,
    typer.Option("--server-arg", help="Extra llama-server flag (dangerous ones are refused); repeatable."),
]
ParallelOption = Annotated[
    int | None,
    typer.Option(
        "--parallel",
        min=1,
        max=64,
        help="Requests generated at once (llama-server slots, continuous batching; default 4). llama-cpp: 1.",
    ),
]
NoRepackOption = Annotated[
    bool,
    typer.Option(
        "--no-repack",
        help="Start with CPU weight repacking off (otherwise turned off automatically if the engine crashes).",
    ),
]


def require_local_extra(*modules: str) -> None:
    """Exit 4 with the install command when the ``local`` extra (or part of it) is missing."""
    import importlib.util

    from mistral_sov.errors import MissingBackendError

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingBackendError(
            f"the 'local' extra is not installed (missing Python module(s): {', '.join(missing)})",
            hint=LOCAL_EXTRA_HINT,
        )


def launcher_for(
    kind: str,
    path: Path,
    *,
    ctx: int,
    threads: int | None,
    binary: Path | None = None,
    extra: list[str] | None = None,
    parallel: int | None = None,
    model_fd: int | None = None,
) -> Any:
    """The engine command for ``--backend`` (InputError for impossible combinations)."""
    from mistral_sov.errors import InputError

    extra = list(extra or [])
    if kind == "llama-cpp":
        if binary is not None or extra:
            raise InputError(
                "--server-binary/--server-arg need --backend llama-server", hint="add --backend llama-server"
            )
        if parallel not in (None, 1):
            raise InputError(
                "--parallel > 1 needs --backend llama-server (llama-cpp-python generates one request at a time)",
                hint="add --backend llama-server --server-binary PATH (docs/local.md)",
            )
        require_local_extra("llama_cpp")
        from mistral_sov.adapters.inference.engine.launchers import WorkerLauncher

        return WorkerLauncher(path, n_ctx=ctx, n_threads=threads, model_fd=model_fd)
    if kind == "llama-server":
        from mistral_sov.adapters.inference.backends import check_server_args
        from mistral_sov.adapters.inference.engine.launchers import LlamaServerLauncher
        from mistral_sov.errors import MissingBackendError

        check_server_args(extra)
        if binary is None:
            raise InputError(
                "--backend llama-server needs --server-binary PATH",
                hint="build llama-server from the llama-cpp-python sdist (docs/local.md, .ci/build-llama.sh)",
            )
        if not Path(binary).is_file():
            raise MissingBackendError(
                f"llama-server binary '{binary}' not found",
                hint="build it from the llama-cpp-python sdist (docs/local.md) and pass --server-binary PATH",
            )
        return LlamaServerLauncher(
            Path(binary), path, n_ctx=ctx, n_threads=threads, slots=parallel or 4, extra=extra, model_fd=model_fd
        )
    raise InputError(f"unknown backend '{kind}'", hint="use llama-cpp or llama-server")


def lock_after_load(verified: VerifiedFile, supervisor: EngineSupervisor, on_event: Any = None) -> Any:
    """Re-check, once the engine has loaded, that the pinned file still holds the hashed bytes
    (and, where the engine got the path instead of the descriptor, that the path still names
    it); exit 5 otherwise. Returns the ``ModelLock`` that guards every request while serving."""
    from mistral_sov.adapters.inference.integrity import ModelChanged, ModelLock
    from mistral_sov.errors import ModelRefusedError

    lock = ModelLock(verified.pinned, verified.sha256, on_event)
    try:
        lock.check()
        if verified.pinned.engine_fd() is None and not verified.pinned.path_still_names_it():
            raise ModelChanged(f"'{verified.path}' no longer names the verified file (replaced after hashing)")
    except ModelChanged as exc:
        supervisor.close()
        raise ModelRefusedError(
            f"model refused after loading: {exc}",
            hint="stop whatever writes to the model file or swaps its path, and re-import the approved model",
        ) from None
    return lock


def start_engine(launcher: Any, *, safe: bool = False, on_event: Any = None) -> EngineSupervisor:
    """Start the engine child (multi-token smoke included); exit 4 with a diagnosis if it cannot."""
    from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
    from mistral_sov.cli._ui import warn

    supervisor = EngineSupervisor(launcher, safe=safe, on_event=on_event).start()
    if supervisor.safe and not safe:
        warn(
            f"engine: {supervisor.safe_reason}; running with CPU weight repacking off "
            "(use --no-repack to skip the crash at every start; docs/local.md)"
        )
    return supervisor
