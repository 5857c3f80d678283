"""Terminal output: the only CLI module that imports Rich (lazily).

Colour is off when stdout is not a terminal or NO_COLOR is set. ``emit`` prints data as a
table, JSON or YAML for every command that has ``-o/--output``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


_state: dict[str, Any] = {"no_color": False}


def set_no_color(value: bool) -> None:
    _state["no_color"] = value


def color_enabled(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if _state["no_color"] or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class _TrimmedLines:
    """A text stream that drops the trailing spaces Rich pads lines with (pipes and files get
    clean lines: no padding to the console width)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._stream.write(line.rstrip(" ") + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending.rstrip(" "))
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return str(getattr(self._stream, "encoding", None) or "utf-8")


def output_width() -> int | None:
    """Table width: the terminal's own on a TTY; else ``COLUMNS`` when set, else 200."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if columns >= 20 else None


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    enabled = color_enabled(stream)
    width = output_width()
    target: Any = stream if enabled else _TrimmedLines(stream)
    return Console(
        file=target,
        no_color=not enabled,
        highlight=False,
        force_terminal=enabled if enabled else None,
        color_system="auto" if enabled else None,
        width=width if (width or enabled) else 200,
        soft_wrap=not enabled and width is None,
    )


def echo(text: str = "", *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def warn(text: str) -> None:
    echo(text, err=True)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def dump_yaml(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))


def emit(
    data: Any,
    fmt: OutputFormat,
    *,
    columns: Sequence[tuple[str, str]] = (),
    rows: Sequence[Sequence[Any]] | None = None,
    title: str | None = None,
) -> None:
    """Print ``data`` as JSON/YAML, or ``rows`` under ``columns`` (key, header) as a table."""
    if fmt is OutputFormat.json:
        echo(dump_json(data))
        return
    if fmt is OutputFormat.yaml:
        echo(dump_yaml(data).rstrip("\n"))
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for _key, header in columns:
        table.add_column(header, overflow="fold")
    if rows is None:
        rows = [[_cell(item.get(key)) for key, _ in columns] for item in data]
    for row in rows:
        table.add_row(*[_cell(c) for c in row])
    console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def print_kv(pairs: Sequence[tuple[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, _cell(value))
    console().print(table)


class _NoProgress:
    def __enter__(self) -> Any:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def progress(label: str) -> Any:
    """A context manager yielding ``on_progress(done, total, item)`` that draws a live Rich
    bar on stderr, or None (no bar) when stderr is not a terminal."""
    if not getattr(sys.stderr, "isatty", lambda: False)():
        return _NoProgress()
    import contextlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def _bar() -> Any:
        bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
        task = bar.add_task(label, total=None)
        with bar:

            def on_progress(done: int, total: int, _item: Any = None) -> None:
                bar.update(task, completed=done, total=total)

            yield on_progress

    return _bar()
