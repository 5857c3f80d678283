"""Policy exporters: one module per format family, each a pure ``render(policy, catalog)``.

``EXPORTERS`` maps a format name (``--format NAME``) to ``module:attribute`` of an object
implementing ``mistral_sov.ports.Exporter``; they are imported only when used.
"""

from __future__ import annotations

import importlib

from mistral_sov.ports import BundleDocumenter, Exporter

EXPORTERS: dict[str, str] = {
    # name: "module:attribute"  (filled by each exporter module's author)
    "gpo": "mistral_sov.adapters.exporters.gpo:EXPORTER",
    "intune": "mistral_sov.adapters.exporters.intune:EXPORTER",
    "browsers": "mistral_sov.adapters.exporters.browsers:EXPORTER",
    "network": "mistral_sov.adapters.exporters.network:EXPORTER",
    "fleet": "mistral_sov.adapters.exporters.fleet:EXPORTER",
    "managed": "mistral_sov.adapters.exporters.managed:EXPORTER",
}


def get_exporter(name: str) -> Exporter:
    module, _, attr = EXPORTERS[name].partition(":")
    exporter: Exporter = getattr(importlib.import_module(module), attr)
    return exporter


def get_documenter() -> BundleDocumenter:
    """The writer of the bundle's README.md (every file, where it goes, the controls)."""
    from mistral_sov.adapters.exporters.bundle_readme import DOCUMENTER

    return DOCUMENTER
