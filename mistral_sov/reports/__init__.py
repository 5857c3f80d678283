"""Report writers: pure functions ``Report -> bytes``, one module per format.

``WRITERS`` maps every format name to ``"module:function"``; ``render`` imports the module
lazily (so ``mistral-sov --help`` never pays for Rich or the HTML templates) and passes only
the keyword options the writer accepts. ``parse_report_spec`` turns ``--report sarif:out.sarif``
into ``("sarif", Path("out.sarif"))``; an exhaustiveness test proves every name resolves.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mistral_sov.core.findings import Report
from mistral_sov.errors import InputError

WRITERS: dict[str, str] = {
    "json": "mistral_sov.reports.json:render",
    "junit": "mistral_sov.reports.junit:render",
    "sarif": "mistral_sov.reports.sarif:render",
    "markdown": "mistral_sov.reports.markdown:render",
    "html": "mistral_sov.reports.html:render",
    "console": "mistral_sov.reports.console:render",
    "github": "mistral_sov.reports.github:render",
}

ALIASES: dict[str, str] = {"md": "markdown", "xml": "junit", "junitxml": "junit", "text": "console"}

# Default file extension per format (used by docs and `ci init`).
EXTENSIONS: dict[str, str] = {
    "json": ".json",
    "junit": ".xml",
    "sarif": ".sarif",
    "markdown": ".md",
    "html": ".html",
    "console": ".txt",
    "github": ".txt",
}


def formats() -> list[str]:
    return list(WRITERS)


def normalize_format(name: str) -> str:
    """The canonical format name for ``name`` (case-insensitive, aliases allowed)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in WRITERS:
        return key
    match = difflib.get_close_matches(key, [*WRITERS, *ALIASES], n=1, cutoff=0.5)
    hint = f"did you mean '{ALIASES.get(match[0], match[0])}'? " if match else ""
    raise InputError(
        f"unknown report format '{name}'",
        field="--report",
        hint=f"{hint}formats: {', '.join(WRITERS)}",
    )


def writer(fmt: str) -> Callable[..., bytes]:
    """The writer function for ``fmt`` (imported on first use)."""
    module_name, _, func = WRITERS[normalize_format(fmt)].partition(":")
    function: Callable[..., bytes] = getattr(importlib.import_module(module_name), func)
    return function


def render(report: Report, fmt: str, **options: Any) -> bytes:
    """Render ``report`` as ``fmt``. Options a writer does not take are ignored, so callers
    can pass one set (``fail_on``, ``base_dir``…) to every format."""
    function = writer(fmt)
    params = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = dict(options)
    else:
        accepted = {k: v for k, v in options.items() if k in params}
    return function(report, **accepted)


def parse_report_spec(spec: str) -> tuple[str, Path]:
    """``FORMAT:PATH`` -> (format, path). ``-`` as PATH means standard output.
    Only the first ':' separates, so Windows paths (``sarif:C:\\out.sarif``) work."""
    fmt, sep, target = spec.partition(":")
    if not sep or not fmt.strip() or not target.strip():
        example = f"{fmt.strip() or 'sarif'}:{'report' + EXTENSIONS.get(ALIASES.get(fmt, fmt), '.out')}"
        raise InputError(
            f"malformed report spec '{spec}': expected FORMAT:PATH",
            field="--report",
            hint=f"for example --report {example} (formats: {', '.join(WRITERS)}; PATH '-' is stdout)",
        )
    return normalize_format(fmt), Path(target.strip())
