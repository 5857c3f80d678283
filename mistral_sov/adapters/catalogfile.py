"""Read the shipped AI-service catalog (``catalog/services.yaml``) into a validated Catalog.

Lives among the adapters (not in ``resources``) because it parses YAML with locations and
validates it; ``resources`` only finds shipped files. Cached per templates folder, so
``--templates-dir`` takes effect without a stale copy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from mistral_sov import resources

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog

CATALOG_FILE = "catalog/services.yaml"


def load_catalog() -> Catalog:
    """The AI-service catalog, validated; errors name file:line:column."""
    return _load(resources.templates_dir())


@cache
def _load(templates: Path) -> Catalog:
    from mistral_sov.adapters.located import validate_located
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.yamlsrc import decode, load_yaml

    file = resources.path(CATALOG_FILE)
    doc = load_yaml(decode(file.read_bytes(), str(file)), str(file))
    if isinstance(doc.data, dict) and "updated" in doc.data:
        doc.data["updated"] = str(doc.data["updated"])
    return validate_located(Catalog, doc)
