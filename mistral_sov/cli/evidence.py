"""``mistral-sov keys generate`` and ``mistral-sov evidence verify``: signed evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption

keys_app = typer.Typer(help="Ed25519 keys for signing evidence.", no_args_is_help=True)
app = typer.Typer(help="Check signed evidence records.", no_args_is_help=True)


@keys_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory for the key pair.")] = Path(),
    output: OutputOption = OutputFormat.table,
) -> int:
    """Write mistral-sov-evidence.key (private, mode 0600) and .pub (PEM).

    The private key appears complete or not at all (a full disk never leaves a 0-byte key)."""
    from mistral_sov.adapters import evidence
    from mistral_sov.cli.common import show

    private, public = evidence.generate_keypair(out)
    show(
        output,
        {"private_key": str(private), "public_key": str(public)},
        [
            f"private key: {private}  (keep it secret; sign with --sign-key)",
            f"public key:  {public}  (give it to auditors: evidence verify --public-key)",
        ],
    )
    return 0


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A signed JSON evidence file.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The signer's public key (PEM).")],
    tsa_ca: Annotated[
        Path | None,
        typer.Option("--tsa-ca", help="Check the RFC 3161 timestamp against these TSA CA certificates (PEM)."),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> int:
    """Exit 0 when the signature is valid, 1 when the evidence was changed, 2 when malformed.

    With --tsa-ca the trusted time is checked too: 1 when the token covers other bytes or does
    not chain to the CA bundle, 3 when there is no token or it contradicts the evidence's time."""
    from mistral_sov.adapters import evidence
    from mistral_sov.adapters.fileio import translate_os_error
    from mistral_sov.cli.common import show

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
    result: dict[str, object] = {"file": str(file), "signature_valid": ok, "signature": why}
    lines = [f"{'VALID' if ok else 'INVALID'}: {file}: {why}"]
    code = 1
    if ok:
        from mistral_sov.adapters.evidence_time import check_envelope
        from mistral_sov.adapters.timestamp import TimestampStatus

        timed = check_envelope(data, str(file), cas)
        status = timed.status
        result["trusted_time"] = {"status": status.value, "message": timed.message}
        lines.append(f"{'trusted time' if timed.ok else 'time'}: {status.value}: {timed.message}")
        if status in (TimestampStatus.VALID, TimestampStatus.UNCHECKED):
            code = 0
        elif status is TimestampStatus.MISSING:
            code = 3 if cas is not None else 0
        elif status is TimestampStatus.CONTRADICTED:
            code = 3
    result["exit_code"] = code
    show(output, result, lines)
    return code


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
