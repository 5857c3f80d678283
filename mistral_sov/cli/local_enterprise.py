"""Enterprise pieces of ``mistral-sov local``, wired into the serve/models commands by one
line each: ``local models seal``, opening a sealed model into memory, the OIDC authenticator
and the chat page (docs/enterprise.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mistral_sov.cli.local_common import StoreOption

if TYPE_CHECKING:
    from mistral_sov.adapters.inference.store import VerifiedFile
    from mistral_sov.core.policy import Policy

_OPEN: list[Any] = []  # decrypted models stay open (their memfd) for the life of the process


def sealed_twin(path: Path) -> Path:
    from mistral_sov.adapters.inference.seal import SUFFIX

    return path.with_name(path.name + SUFFIX)


def open_sealed(path: Path) -> VerifiedFile | None:
    """When ``path`` is a stored model that was sealed, decrypt it into memory (verifying every
    chunk and the plaintext SHA-256) and return it as a verified file; else None."""
    import time

    from mistral_sov.adapters.inference import seal
    from mistral_sov.adapters.inference.gguf_header import read_header
    from mistral_sov.adapters.inference.integrity import PinnedModel
    from mistral_sov.adapters.inference.store import VerifiedFile
    from mistral_sov.cli._ui import warn

    sealed = sealed_twin(path)
    if path.exists() or not sealed.exists():
        return None
    t0 = time.perf_counter()
    with sealed.open("rb") as f:
        expected = seal.read_header(f, str(sealed)).sha256
    model = seal.unseal_to_memory(sealed, seal.load_key(), expected)
    _OPEN.append(model)
    header = read_header(model.path)
    pinned = PinnedModel(model.path)  # the engine loads this descriptor of the memory file
    seconds = time.perf_counter() - t0
    mib = model.size / 2**20
    warn(f"sealed model decrypted into memory ({mib:,.1f} MiB, {seconds:.2f} s); nothing written in clear")
    return VerifiedFile(model.path, model.sha256, model.size, header, False, seconds, pinned)


def is_sealed(verified: VerifiedFile) -> bool:
    return any(m.path == verified.path for m in _OPEN)


def build_auth(policy: Policy, policy_path: Path, keys: list[str], model: str) -> tuple[Any, dict[str, Any]]:
    """(authenticator or None for the default API-key one, the chat page's sign-in info)."""
    oidc = policy.local_inference.oidc
    if oidc is None:
        return None, {"mode": "api-key" if keys else "none"}
    from mistral_sov.adapters.inference.oidc import OidcValidator
    from mistral_sov.adapters.inference.oidc_auth import OidcAuth
    from mistral_sov.cli._ui import warn
    from mistral_sov.errors import InputError

    try:
        validator = OidcValidator(oidc, base_dir=policy_path.parent)
    except ValueError as exc:
        raise InputError(str(exc), field="local_inference.oidc", hint="see docs/enterprise.md §2") from None
    if not validator.start():
        warn(f"warning: {validator.last_error}; signed-in requests get 503 until it answers")
    discovery = validator.discovery
    audience = oidc.audience[0]
    scope = oidc.scope or ("openid profile " + (f"{audience}/.default" if "://" in audience else audience))
    info = {
        "mode": "oidc",
        "issuer": oidc.issuer,
        "client_id": oidc.client_id,
        "scope": scope,
        "authorization_endpoint": discovery.get("authorization_endpoint"),
        "token_endpoint": discovery.get("token_endpoint"),
    }
    warn(f"single sign-on: bearer tokens from {oidc.issuer} (audience {', '.join(oidc.audience)})")
    return OidcAuth(validator, keys, model), info


def chat_routes_for(
    policy: Policy, name: str, verified: VerifiedFile, license_: str, auth_info: dict[str, Any]
) -> list[Any]:
    from mistral_sov.adapters import managed
    from mistral_sov.adapters.inference.chat_page import ChatInfo, chat_routes

    info = ChatInfo(
        model_name=name,
        license=license_,
        sha256=verified.sha256,
        sealed=is_sealed(verified),
        organization=policy.organization,
        enforce_local_only=policy.local_inference.enforce_local_only,
        managed_sources=sorted({s.where for s in managed.system_sources()}),
        auth=auth_info,
    )
    return chat_routes(info)


def seal(
    name: Annotated[str, typer.Argument(help="Stored model name.")],
    store: StoreOption = None,
) -> None:
    """Encrypt a stored model at rest under this machine's key (AES-256-GCM); serve decrypts it
    into memory only. The clear copy in the store is removed."""
    from mistral_sov.adapters.inference import seal as sealing
    from mistral_sov.cli._ui import echo
    from mistral_sov.cli.local_common import store_of

    s = store_of(store)
    m = s.require(name)
    plain, sealed = m.path, sealed_twin(m.path)
    if sealed.exists() and not plain.exists():
        echo(f"'{name}' is already sealed ({sealed})")
        return
    key = sealing.create_key()
    sealing.seal_file(plain, sealed, m.sha256, key)
    with sealed.open("rb") as f:  # read back what was written before the clear copy goes
        header = sealing.read_header(f, str(sealed))
    if header.sha256 != m.sha256:
        sealed.unlink()
        raise AssertionError("sealed header does not name the stored model")
    plain.unlink()
    echo(f"sealed '{name}' ({m.sha256[:12]}…) under {sealing.key_path()}: {sealed}")
    echo("  the store's copy is now usable only on this machine; serve decrypts it into memory")


def register_models(app: typer.Typer) -> None:
    app.command("seal")(seal)


def oidc_configured(policy_path: Path) -> bool:
    """Whether the effective policy asks for single sign-on (checked before any model work)."""
    from mistral_sov.cli.policy_effective import load_endpoint_policy
    from mistral_sov.errors import MistralSovError

    try:
        return load_endpoint_policy(policy_path, print_warnings=False).policy.local_inference.oidc is not None
    except MistralSovError:
        return False  # the policy's own error is reported when it is loaded for serving


def managed_summary() -> str:
    """One line for ``local doctor``: this machine's managed policy (a broken one is exit 2)."""
    from mistral_sov.adapters import managed
    from mistral_sov.services.effective import combine

    sources = managed.system_sources()
    settings = combine(sources)
    if settings.empty:
        return "none (sovereignty.yaml alone decides)"
    names = ", ".join(sorted(settings.origin))
    return f"{len(settings.origin)} setting(s) from {', '.join(sorted(set(settings.origin.values())))}: {names}"


def is_sealed_blob(path: Path) -> bool:
    return not path.exists() and sealed_twin(path).exists()
