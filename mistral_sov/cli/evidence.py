"""``mistral-sov keys generate`` and ``mistral-sov evidence verify``: signed evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

keys_app = typer.Typer(help="Ed25519 keys for signing evidence.", no_args_is_help=True)
app = typer.Typer(help="Check signed evidence records.", no_args_is_help=True)


@keys_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory for the key pair.")] = Path(),
) -> int:
    """Write mistral-sov-evidence.key (private, mode 0600) and .pub (PEM)."""
    from mistral_sov.adapters import evidence
    from mistral_sov.cli._ui import echo

    private, public = evidence.generate_keypair(out)
    echo(f"private key: {private}  (keep it secret; sign with --sign-key)")
    echo(f"public key:  {public}  (give it to auditors: evidence verify --public-key)")
    return 0


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A signed JSON evidence file.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The signer's public key (PEM).")],
) -> int:
    """Exit 0 when the signature is valid, 1 when the evidence was changed, 2 when malformed."""
    from mistral_sov.adapters import evidence
    from mistral_sov.cli._ui import echo
    from mistral_sov.errors import InputError, Location

    key = evidence.load_public_key(public_key)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read '{file}': {exc.strerror}", location=Location(str(file)), hint="check the path"
        ) from None
    ok, why = evidence.verify(data, key, str(file))
    echo(f"{'VALID' if ok else 'INVALID'}: {file}: {why}")
    return 0 if ok else 1
