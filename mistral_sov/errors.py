"""Error types shared by every layer, and the exit codes they map to.

Every error carries a one-line diagnosis and a hint (what to do about it). Errors that
come from a file also carry a location so the CLI can print ``file:line:column``.
The CLI (``mistral_sov.cli.app.main``) is the only place that turns them into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes (see docs/architecture.md)."""

    OK = 0  # compliant / success
    CHECK_FAILED = 1  # a check failed: a verdict, not an exception
    USAGE = 2  # usage, policy or input error
    INCONCLUSIVE = 3  # inconclusive evidence or probe/network failure: never a pass
    MISSING_BACKEND = 4  # a needed backend or privilege is missing
    MODEL_REFUSED = 5  # a local model is unapproved, altered, truncated or not a GGUF file
    INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """A place in an input file. Lines and columns are 1-based."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in an input: where, which field, what is wrong, how to fix it."""

    message: str
    location: Location | None = None
    field: str = ""
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def to_dict(self) -> dict[str, object]:
        """The machine-readable shape (``templates/schemas/cli/diagnostic.schema.json``)."""
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc and loc.line > 0 else None,
            "column": (loc.column or 1) if loc and loc.line > 0 else None,
            "field": self.field or None,
            "message": self.message,
            "hint": self.hint or None,
            "severity": self.severity,
        }

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f"{self.field}: " if self.field else ""
        text = f"{where}{self.severity}: {what}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class MistralSovError(Exception):
    """Base class: carries a diagnosis, a hint and the exit status it maps to."""

    exit_status: ExitStatus = ExitStatus.USAGE

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        location: Location | None = None,
        field: str = "",
        diagnostics: list[Diagnostic] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        self.field = field
        self._diagnostics = diagnostics

    def diagnostics(self) -> list[Diagnostic]:
        """Every problem this error stands for (at least one)."""
        if self._diagnostics:
            return list(self._diagnostics)
        return [Diagnostic(self.message, self.location, self.field, self.hint)]


class InputError(MistralSovError):
    """A malformed file, URL, flag or value given by the user (exit 2)."""

    exit_status = ExitStatus.USAGE


class PolicyError(InputError):
    """The policy file is invalid; ``diagnostics()`` lists every problem (exit 2)."""


class InconclusiveError(MistralSovError):
    """Evidence could not be gathered: a probe or network failure (exit 3)."""

    exit_status = ExitStatus.INCONCLUSIVE


class MissingBackendError(MistralSovError):
    """An optional backend or a privilege is missing; the hint says what to install or grant (exit 4)."""

    exit_status = ExitStatus.MISSING_BACKEND


class EnvironmentProblem(MistralSovError):
    """The machine cannot do what is asked: a read-only file system, a full disk or quota,
    an I/O error, too many open files (exit 4, like a missing privilege or backend)."""

    exit_status = ExitStatus.MISSING_BACKEND


class ModelRefusedError(MistralSovError):
    """A local model may not be served: unapproved hash or licence, altered, truncated or not
    GGUF. Raised before any weights are loaded (exit 5)."""

    exit_status = ExitStatus.MODEL_REFUSED


@dataclass
class DiagnosticList:
    """Collects diagnostics while validating; raise with ``raise_if_errors``."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]
