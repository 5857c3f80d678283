"""Plug-in interfaces (Protocols) between services and adapters.

Services receive implementations of these as arguments; the CLI picks the concrete ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy
    from mistral_sov.core.trace import TraceResult


@dataclass(frozen=True)
class Artifact:
    """One file of an export bundle: a POSIX relative path and its exact bytes."""

    path: str
    data: bytes


@dataclass(frozen=True)
class ExportOptions:
    languages: tuple[str, ...] = ("en-US", "fr-FR", "de-DE")
    tool_version: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class Exporter(Protocol):
    """Renders one format family. Pure: no I/O, deterministic output (golden-file tested)."""

    name: str
    description: str

    def render(self, policy: Policy, catalog: Catalog, options: ExportOptions) -> list[Artifact]: ...


class BundleDocumenter(Protocol):
    """Writes the bundle's own README from the rendered files (pure, deterministic)."""

    path: str

    def document(
        self,
        policy: Policy,
        catalog: Catalog,
        artifacts: Sequence[Artifact],
        formats: Sequence[str],
        options: ExportOptions,
    ) -> Artifact: ...


class Tracer(Protocol):
    """Traces the network path to one address. Knows nothing of DNS, geo or rendering."""

    name: str

    def trace(
        self,
        address: str,
        *,
        method: str,
        port: int,
        probes: int,
        max_hops: int,
        timeout: float,
    ) -> TraceResult: ...
