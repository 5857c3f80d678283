"""Plug-in interfaces (Protocols) between services and adapters: the one place they are gathered.

Services receive objects implementing these as arguments and import the interfaces from here
(never from an adapter); the CLI picks the concrete ones. The attribution providers' Protocols
are defined beside the pure code that consumes them (``core/attribution.py``: core cannot import
this module) and re-exported here, so a service names every port it takes from ``ports``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mistral_sov.core.attribution import AsnProvider, CloudRangeProvider, GeoProvider, OperatorDirectory

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy
    from mistral_sov.core.trace import TraceResult
    from mistral_sov.errors import Diagnostic, Location

__all__ = [
    "Artifact",
    "AsnProvider",
    "BundleDocumenter",
    "CloudRangeProvider",
    "DriftLike",
    "ExportOptions",
    "Exporter",
    "GeoProvider",
    "LoadedPolicyLike",
    "OperatorDirectory",
    "Tracer",
]


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


class LoadedPolicyLike(Protocol):
    """What the gate's ``policy`` check needs from the policy loader's result."""

    @property
    def policy(self) -> Policy: ...

    @property
    def warnings(self) -> list[Diagnostic]: ...

    def where(self, path: tuple[object, ...]) -> Location: ...


class DriftLike(Protocol):
    """One file of an export bundle compared with what the policy renders now."""

    @property
    def path(self) -> str: ...

    @property
    def status(self) -> str: ...
