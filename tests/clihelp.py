"""Run the CLI in-process and capture exit code, stdout and stderr (tests/ is on sys.path)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from mistral_sov.cli.app import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return Result(code, out.getvalue(), err.getvalue())
