"""CycloneDX 1.6 bills of materials (``cyclonedx-python-lib``): the toolkit's SBOM and the AI-BOM.

* ``toolkit_bom()``: mistral-sov and every installed distribution it depends on (its runtime
  requirements, followed transitively through ``importlib.metadata``; extras that are installed
  are included with scope ``optional``), each with version, PyPI purl and declared licence, and
  the dependency graph.
* ``ai_bom(models, organization)``: one ``machine-learning-model`` component per approved local
  model: name, SHA-256 of the whole file, the licence the policy approves it under
  (acknowledgement ``concluded``) and the licence the GGUF file claims (``declared``), and from
  the GGUF header the architecture (``modelCard.modelParameters.architectureFamily``),
  quantisation, parameter count and context length (``modelCard.properties``). A model the
  policy approves whose file is not on this machine is listed from the policy alone, with
  ``mistral-sov:present = false``: nothing is invented for it.

The library has no model-card classes yet, so ``modelCard`` is added to the serialised JSON;
``validate`` checks every document against the CycloneDX 1.6 JSON Schema the library ships
(strict: no unknown properties), and the CLI refuses to write a document that fails it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from mistral_sov import __version__
from mistral_sov.services.inventory import ApprovedModel

ROOT = "mistral-sov"
PROP = "mistral-sov"  # property name prefix (CycloneDX property taxonomy: vendor namespace)
MAX_LICENSE_FIELD = 100


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _license_of(meta: Any) -> str | None:
    expression = meta.get("License-Expression")
    if expression:
        return str(expression).strip()
    text = meta.get("License")
    if text and len(text) <= MAX_LICENSE_FIELD and "\n" not in text.strip():
        return str(text).strip()
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: ") and classifier.count("::") >= 2:
            return str(classifier.rsplit("::", 1)[1].strip())
    return None


def _licenses(value: str | None, acknowledgement: Any = None) -> list[Any]:
    if not value:
        return []
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression

    made = LicenseFactory().make_from_string(value)
    if acknowledgement is not None:
        if isinstance(made, DisjunctiveLicense):
            made = DisjunctiveLicense(id=made.id, name=made.name, acknowledgement=acknowledgement)
        elif isinstance(made, LicenseExpression):
            made = LicenseExpression(made.value, acknowledgement=acknowledgement)
    return [made]


def _requirements(dist: Any, extras: Iterable[str] = ()) -> list[tuple[str, bool]]:
    """(distribution name, optional?) for the requirements that apply on this machine."""
    from packaging.requirements import InvalidRequirement, Requirement

    out: list[tuple[str, bool]] = []
    for line in dist.requires or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out.append((req.name, False))
            continue
        if any(req.marker.evaluate({"extra": extra}) for extra in extras):
            out.append((req.name, True))
    return out


def _closure(root: Any, extras: list[str]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """Installed distributions reachable from ``root`` (with ``extras``), and the edges."""
    from importlib import metadata

    found: dict[str, Any] = {}
    edges: dict[str, set[str]] = {}
    queue: list[tuple[str, Any, list[str]]] = [(_canon(ROOT), root, extras)]
    while queue:
        key, dist, with_extras = queue.pop(0)
        for name, _optional in _requirements(dist, with_extras):
            child = _canon(name)
            if child == _canon(ROOT):
                continue
            try:
                child_dist = found.get(child) or metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue  # an optional extra that is not installed
            edges.setdefault(key, set()).add(child)
            if child not in found:
                found[child] = child_dist
                queue.append((child, child_dist, []))
    return found, edges


def toolkit_bom() -> Any:
    """The Bom of the installed toolkit (a ``cyclonedx.model.bom.Bom``)."""
    from importlib import metadata

    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentScope, ComponentType
    from packageurl import PackageURL

    def component(dist: Any, kind: Any, scope: Any) -> Any:
        name, version = dist.metadata["Name"], dist.version
        return Component(
            name=name,
            version=version,
            type=kind,
            bom_ref=f"pkg:pypi/{_canon(name)}@{version}",
            purl=PackageURL(type="pypi", name=_canon(name), version=version),
            licenses=_licenses(_license_of(dist.metadata)),
            scope=scope,
            description=(dist.metadata.get("Summary") or None),
        )

    bom = Bom()
    try:
        root_dist = metadata.distribution(ROOT)
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        bom.metadata.component = Component(
            name=ROOT, version=__version__, type=ComponentType.APPLICATION, bom_ref=f"pkg:pypi/{ROOT}@{__version__}"
        )
        return bom
    root = component(root_dist, ComponentType.APPLICATION, None)
    bom.metadata.component = root
    required, _ = _closure(root_dist, [])
    everything, edges = _closure(root_dist, list(root_dist.metadata.get_all("Provides-Extra") or []))
    components = {_canon(ROOT): root}
    for key, dist in sorted(everything.items()):
        scope = ComponentScope.REQUIRED if key in required else ComponentScope.OPTIONAL
        components[key] = component(dist, ComponentType.LIBRARY, scope)
        bom.components.add(components[key])
    for parent, children in sorted(edges.items()):
        bom.register_dependency(components[parent], [components[c] for c in sorted(children)])
    return bom


def _prop(name: str, value: Any) -> Any:
    from cyclonedx.model import Property

    return Property(name=f"{PROP}:{name}", value=str(value))


GGUF_PROPERTIES = (
    ("quantization", "gguf:quantization"),
    ("parameter_count", "gguf:parameter_count"),
    ("context_length", "gguf:context_length"),
    ("file_type", "gguf:file_type"),
    ("gguf_version", "gguf:version"),
    ("size_label", "gguf:size_label"),
    ("organization", "gguf:organization"),
    ("basename", "gguf:basename"),
    ("finetune", "gguf:finetune"),
    ("chat_template_sha256", "gguf:chat_template_sha256"),
)


def ai_bom(models: list[ApprovedModel], organization: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The Bom of the approved local models, and the ``modelCard`` to add per bom-ref."""
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity
    from cyclonedx.model.license import LicenseAcknowledgement

    bom = Bom()
    bom.metadata.component = Component(
        name=f"approved local AI models of {organization}",
        type=ComponentType.APPLICATION,
        bom_ref="local-ai-models",
        supplier=OrganizationalEntity(name=organization),
    )
    cards: dict[str, dict[str, Any]] = {}
    for model in models:
        ref = f"model:{model.name}@sha256:{model.sha256}"
        licenses = _licenses(model.license, LicenseAcknowledgement.CONCLUDED)
        claim = model.license_claim
        if claim:  # what the file says about itself: a claim, shown beside the approval
            licenses += _licenses(claim, LicenseAcknowledgement.DECLARED)
        props = [_prop("present", str(model.present).lower()), _prop("policy:license", model.license)]
        if claim is not None:
            props.append(_prop("gguf:license_claim", claim))
        if model.size is not None:
            props.append(_prop("file:size", model.size))
        if model.location:
            props.append(_prop("file:location", model.location))
        props += [_prop("warning", w) for w in model.warnings]
        comp = Component(
            name=model.name,
            type=ComponentType.MACHINE_LEARNING_MODEL,
            bom_ref=ref,
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=model.sha256)],
            licenses=licenses,
            properties=props,
            description=str(model.fact("name")) if model.fact("name") else None,
        )
        bom.components.add(comp)
        bom.register_dependency(bom.metadata.component, [comp])
        card: dict[str, Any] = {}
        arch = model.fact("architecture")
        if isinstance(arch, str) and arch:
            card["modelParameters"] = {"architectureFamily": arch}
        card_props = [
            {"name": f"{PROP}:{label}", "value": str(model.fact(key))}
            for key, label in GGUF_PROPERTIES
            if model.fact(key) is not None
        ]
        if card_props:
            card["properties"] = card_props
        if card:
            cards[ref] = card
    return bom, cards


def to_json(bom: Any, model_cards: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Serialise as CycloneDX 1.6 JSON (a dict), adding model cards by bom-ref."""
    from cyclonedx.output.json import JsonV1Dot6

    doc: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    for comp in doc.get("components", []):
        card = (model_cards or {}).get(comp.get("bom-ref", ""))
        if card:
            comp["modelCard"] = card
    doc.setdefault("metadata", {})["timestamp"] = (
        datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    )
    return doc


def validate(doc: dict[str, Any]) -> list[str]:
    """Problems found by the CycloneDX 1.6 JSON Schema (strict); [] when valid."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc), all_errors=True)
    out = []
    for error in errors or []:
        data = getattr(error, "data", None)
        where = "/".join(str(p) for p in getattr(data, "absolute_path", []))
        message = getattr(data, "message", str(error))
        out.append(f"{where or '/'}: {message[:300]}")
    return out


def dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
