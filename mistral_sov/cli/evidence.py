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
    tsa_ca: Annotated[
        Path | None,
        typer.Option("--tsa-ca", help="Check the RFC 3161 timestamp against these TSA CA certificates (PEM)."),
    ] = None,
) -> int:
    """Exit 0 when the signature is valid, 1 when the evidence was changed, 2 when malformed.

    With --tsa-ca the trusted time is checked too: 1 when the token covers other bytes or does
    not chain to the CA bundle, 3 when there is no token or it contradicts the evidence's time."""
    from mistral_sov.adapters import evidence
    from mistral_sov.adapters.fileio import translate_os_error
    from mistral_sov.cli._ui import echo

    key = evidence.load_public_key(public_key)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise translate_os_error(exc, file, "read") from None
    cas = None
    if tsa_ca is not None:
        from mistral_sov.adapters.timestamp import load_ca_bundle

        cas = load_ca_bundle(tsa_ca)
    ok, why = evidence.verify(data, key, str(file))
    echo(f"{'VALID' if ok else 'INVALID'}: {file}: {why}")
    if not ok:
        return 1
    from mistral_sov.adapters.evidence_time import check_envelope
    from mistral_sov.adapters.timestamp import TimestampStatus

    timed = check_envelope(data, str(file), cas)
    status = timed.status
    echo(f"{'trusted time' if timed.ok else 'time'}: {status.value}: {timed.message}")
    if status in (TimestampStatus.VALID, TimestampStatus.UNCHECKED):
        return 0
    if status is TimestampStatus.MISSING:
        return 3 if cas is not None else 0
    if status is TimestampStatus.CONTRADICTED:
        return 3
    return 1


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="A signed JSON evidence file.")],
    out: Annotated[Path, typer.Option("--out", help="New or empty directory for the files.")],
) -> int:
    """Write the exact signed bytes, the signature and the RFC 3161 token as files, so anyone can
    check them with OpenSSL alone (commands in the README.txt written beside them)."""
    from mistral_sov.adapters.evidence_time import export_files
    from mistral_sov.cli._ui import echo

    for path in export_files(file, out):
        echo(str(path))
    return 0
