"""``mistral-sov ranges``: cloud providers' published IP ranges, with provenance.

``update`` downloads them (httpx) from the official locations; ``import`` stores a file
fetched elsewhere (air-gapped sites); ``list`` shows what is installed and from where.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mistral_sov.cli._ui import OutputFormat
from mistral_sov.cli.common import OutputOption


class CloudProvider(str, Enum):
    """The providers whose range files are known (``adapters/geo/ranges.py: PROVIDERS``)."""

    azure = "azure"
    aws = "aws"
    gcp = "gcp"
    oci = "oci"
    cloudflare = "cloudflare"
    fastly = "fastly"


app = typer.Typer(
    help="Cloud IP range files (Azure, AWS, Google Cloud, Oracle, Cloudflare, Fastly).", no_args_is_help=True
)

RangesDir = Annotated[
    Path | None,
    typer.Option(
        "--ranges-dir", help="Data directory (default: the user data dir's mistral-sov/ranges).", show_default=False
    ),
]


def _dir(value: Path | None) -> Path:
    from mistral_sov.adapters.geo.ranges import default_dir

    return value if value is not None else default_dir()


@app.command("update")
def update(
    ranges_dir: RangesDir = None,
    azure_url: Annotated[
        str | None,
        typer.Option(
            "--azure-url",
            help="The current ServiceTags_Public_YYYYMMDD"
            ".json URL (it changes weekly; linked from "
            "https://www.microsoft.com/en-us/download/details.aspx?id=56519).",
        ),
    ] = None,
    provider_choice: Annotated[
        list[CloudProvider] | None,
        typer.Option("--provider", case_sensitive=False, help="Only these providers (repeatable)."),
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            help="Override a download location: KEY=URL "
            "(keys: aws gcp oci cloudflare-v4 cloudflare-v6 fastly "
            "azure-page).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, max=600, help="Seconds per download.")] = 30.0,
) -> int:
    """Download every provider's range file; a failed download keeps the stored copy."""
    from mistral_sov.adapters.geo import ranges
    from mistral_sov.cli._ui import echo, warn
    from mistral_sov.errors import ExitStatus, InputError

    overrides: dict[str, str] = {}
    for item in url or []:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise InputError(f"'{item}' is not KEY=URL", field="--url", hint="e.g. --url aws=https://…/ip-ranges.json")
        overrides[key.strip()] = value.strip()
    only = tuple(p.value for p in provider_choice or ())
    for p in only:
        if p not in ranges.PROVIDERS:
            raise InputError(
                f"unknown provider '{p}'", field="--provider", hint=f"one of {', '.join(ranges.PROVIDERS)}"
            )
    page = overrides.pop("azure-page", ranges.AZURE_DOWNLOAD_PAGE)
    results = ranges.update(
        _dir(ranges_dir),
        urls=overrides,
        azure_url=azure_url,
        azure_page=page,
        only=only,
        timeout=timeout,
        on_result=lambda r: (echo if r.ok else warn)(f"{'ok  ' if r.ok else 'FAIL'} {r.key}: {r.message} ({r.url})"),
    )
    failed = [r for r in results if not r.ok]
    if failed:
        warn(f"{len(failed)} of {len(results)} downloads failed; the stored copies were kept")
        if any(r.key == "azure" for r in failed):
            warn(
                "hint: find this week's Azure URL on https://www.microsoft.com/en-us/download/details.aspx?id=56519 "
                "and pass it with --azure-url"
            )
        return int(ExitStatus.INCONCLUSIVE)
    return 0


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Range files fetched elsewhere.")],
    provider_choice: Annotated[
        CloudProvider | None,
        typer.Option("--provider", case_sensitive=False, help="Default: detected from the file's shape."),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Where the file came from (recorded).")] = None,
    ranges_dir: RangesDir = None,
) -> int:
    """Store range files for air-gapped sites (validated, hashed, provenance recorded)."""
    from mistral_sov.adapters.geo import ranges
    from mistral_sov.cli._ui import echo
    from mistral_sov.errors import InputError, Location

    provider = provider_choice.value if provider_choice is not None else None
    if provider is not None and provider not in ranges.PROVIDERS:
        raise InputError(
            f"unknown provider '{provider}'", field="--provider", hint=f"one of {', '.join(ranges.PROVIDERS)}"
        )
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read '{path}': {exc.strerror}", location=Location(str(path)), hint="check the path"
            ) from None
        parsed = ranges.store(_dir(ranges_dir), data, str(path), source or f"import:{path.name}", provider)
        echo(f"imported {parsed.key}: {parsed.version}, {len(parsed.prefixes)} prefixes")
    return 0


@app.command("list")
def list_(ranges_dir: RangesDir = None, output: OutputOption = OutputFormat.table) -> int:
    """Show the installed range files and their provenance."""
    from mistral_sov.adapters.geo import ranges
    from mistral_sov.cli._ui import emit, warn

    directory = _dir(ranges_dir)
    manifest = ranges.read_manifest(directory)
    rows = [{"key": k, **v} for k, v in sorted(manifest.items())]
    if not rows and output is OutputFormat.table:
        warn(f"no range files in {directory}; run `mistral-sov ranges update` or `ranges import FILE`")
        return 0
    emit(
        rows,
        output,
        columns=[
            ("key", "file"),
            ("version", "version"),
            ("prefixes", "prefixes"),
            ("stored_at", "stored"),
            ("sha256", "sha256"),
            ("source", "source"),
        ],
        title=f"cloud ranges in {directory}",
    )
    return 0
