"""``gpo`` format: ADMX/ADML templates, Machine/User Registry.pol, a .reg file and a README.

The ADMX is a *template*: it does not depend on the policy (so the namespace and every
OMA-URI stay stable across versions); the values come from the policy through Registry.pol,
the .reg file and the Intune profile. ADML strings are data in ``templates/i18n/adml/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.errors import InputError
from mistral_sov.ports import Artifact, ExportOptions

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy

PD_NS = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
TARGET_NAMESPACE = "MistralAI.Policies.Sovereign"  # never change: bump REVISION instead
TARGET_PREFIX = "mistralsov"
BASENAME = "MistralSov"  # file base name, and the AppName used for Intune ingestion
REVISION = "1.0"
SCHEMA_VERSION = "1.0"
SUPPORTED_ON = "SUPPORTED_MistralSov_1_0"
FALLBACK_LANGUAGE = "en-US"
# Root to leaf. Never move a policy between categories: it changes every OMA-URI.
CATEGORIES: tuple[tuple[str, str | None], ...] = (
    ("Cat_MistralAI", None),
    ("Cat_Sovereignty", "Cat_MistralAI"),
)
POLICY_CATEGORY = "Cat_Sovereignty"
TEXT_MAX_LENGTH = 2048  # Endpoint.url max_length


@dataclass(frozen=True)
class AdmxPolicy:
    """One ADMX policy. ``kind``: ``flag`` (policy-level valueName 1/0), ``text`` or ``list``."""

    name: str
    kind: Literal["flag", "text", "list"]
    value_name: str = ""  # flag and text
    element_id: str = ""  # text and list: the element id = the ADML control refId
    list_key: str = ""  # list: its own key
    explicit: bool = False  # list: value names typed by the admin (endpoint/model names)


POLICIES: tuple[AdmxPolicy, ...] = (
    AdmxPolicy(
        "ApprovedEndpoints",
        "list",
        element_id="ApprovedEndpointsList",
        list_key=wr.OUR_KEY + r"\ApprovedEndpoints",
        explicit=True,
    ),
    AdmxPolicy("DefaultEndpoint", "text", value_name="DefaultEndpoint", element_id="DefaultEndpointUrl"),
    AdmxPolicy("AllowedRegions", "list", element_id="AllowedRegionsList", list_key=wr.OUR_KEY + r"\AllowedRegions"),
    AdmxPolicy("EnforceLocalOnly", "flag", value_name="EnforceLocalOnly"),
    AdmxPolicy("BlockPublicAI", "flag", value_name="BlockPublicAI"),
    AdmxPolicy(
        "ApprovedModelHashes",
        "list",
        element_id="ApprovedModelHashesList",
        list_key=wr.OUR_KEY + r"\ApprovedModels",
        explicit=True,
    ),
)

AdmxValue = bool | str | None | tuple[tuple[str, str], ...]


def admx_values(policy: Policy) -> dict[str, AdmxValue]:
    """The state of every ADMX policy for this policy file: a flag's bool, a text's string
    (None = not configured), a list's (name, value) pairs in registry order."""
    return {
        "ApprovedEndpoints": tuple((e.name, e.url) for e in policy.endpoints),
        "DefaultEndpoint": policy.endpoints[0].url if policy.endpoints else None,
        "AllowedRegions": wr.numbered(list(policy.zones.allowed_cloud_regions)),
        "EnforceLocalOnly": policy.local_inference.enforce_local_only,
        "BlockPublicAI": wr.blocks_public_ai(policy),
        "ApprovedModelHashes": tuple((m.name, m.sha256) for m in policy.local_inference.models),
    }


def category_path() -> list[str]:
    """Category names from the root to ``POLICY_CATEGORY`` (for OMA-URIs)."""
    parents = dict(CATEGORIES)
    chain: list[str] = []
    current: str | None = POLICY_CATEGORY
    while current is not None:
        chain.insert(0, current)
        current = parents[current]
    return chain


# --------------------------------------------------------------------------- strings


def load_strings(language: str) -> dict[str, Any]:
    """The ADML strings of one language (``templates/i18n/adml/<lang>.yaml``), checked
    against en-US: same string ids and labels."""
    from mistral_sov import resources
    from mistral_sov.yamlsrc import load_yaml

    def read(lang: str) -> dict[str, Any]:
        rel = f"i18n/adml/{lang}.yaml"
        try:
            text = resources.read_text(rel)
        except InputError as exc:
            available = sorted(p.stem for p in resources.path("i18n/adml").glob("*.yaml"))
            raise InputError(
                f"no ADML strings for language '{lang}'",
                hint=f"use one of {', '.join(available)} in --lang, or add templates/{rel}",
            ) from exc
        data = load_yaml(text, str(resources.path(rel))).data
        if not isinstance(data, dict) or not isinstance(data.get("strings"), dict):
            raise InputError(
                f"templates/{rel} is malformed",
                hint="it needs displayName, description, strings and labels mappings; compare with en-US.yaml",
            )
        return data

    data = read(language)
    if language != FALLBACK_LANGUAGE:
        base = read(FALLBACK_LANGUAGE)
        for section in ("strings", "labels"):
            missing = sorted(set(base.get(section, {})) - set(data.get(section, {})))
            if missing:
                raise InputError(
                    f"templates/i18n/adml/{language}.yaml lacks {section}: {', '.join(missing)}",
                    hint="translate every id that en-US.yaml defines",
                )
    return data


def languages(options: ExportOptions) -> list[str]:
    """en-US first (always), then the requested languages, without duplicates."""
    out = [FALLBACK_LANGUAGE]
    for lang in options.languages:
        if lang not in out:
            out.append(lang)
    return out


# --------------------------------------------------------------------------- XML


def _serialize(root: Any) -> bytes:
    """UTF-8 with a matching declaration, CRLF line ends, indentation only between elements
    (text nodes are never re-indented: gpedit shows whitespace in strings literally)."""
    from lxml import etree

    etree.indent(root, space="  ")
    body: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=False)
    data = b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def render_admx() -> bytes:
    from lxml import etree

    def el(parent: Any, tag: str, **attrs: str) -> Any:
        return etree.SubElement(parent, f"{{{PD_NS}}}{tag}", attrs)

    root = etree.Element(f"{{{PD_NS}}}policyDefinitions", nsmap={None: PD_NS})
    root.set("revision", REVISION)
    root.set("schemaVersion", SCHEMA_VERSION)
    namespaces = el(root, "policyNamespaces")
    el(namespaces, "target", prefix=TARGET_PREFIX, namespace=TARGET_NAMESPACE)
    el(root, "resources", minRequiredRevision=REVISION, fallbackCulture=FALLBACK_LANGUAGE)
    definitions = el(el(root, "supportedOn"), "definitions")
    el(definitions, "definition", name=SUPPORTED_ON, displayName=f"$(string.{SUPPORTED_ON})")
    categories = el(root, "categories")
    for name, parent in CATEGORIES:
        cat = el(categories, "category", name=name, displayName=f"$(string.{name})")
        if parent:
            el(cat, "parentCategory", ref=parent)
    policies = el(root, "policies")
    for p in POLICIES:
        attrs = {
            "name": p.name,
            "class": "Machine",
            "displayName": f"$(string.{p.name})",
            "explainText": f"$(string.{p.name}_Help)",
        }
        if p.kind != "flag":
            attrs["presentation"] = f"$(presentation.{p.name})"
        attrs["key"] = wr.OUR_KEY
        if p.kind == "flag":
            attrs["valueName"] = p.value_name
        node = el(policies, "policy", **attrs)
        el(node, "parentCategory", ref=POLICY_CATEGORY)
        el(node, "supportedOn", ref=SUPPORTED_ON)
        if p.kind == "flag":
            el(el(node, "enabledValue"), "decimal", value="1")
            el(el(node, "disabledValue"), "decimal", value="0")
            continue
        elements = el(node, "elements")
        if p.kind == "text":
            el(
                elements,
                "text",
                id=p.element_id,
                valueName=p.value_name,
                required="true",
                maxLength=str(TEXT_MAX_LENGTH),
            )
        else:
            list_attrs = {"id": p.element_id, "key": p.list_key}
            if p.explicit:
                list_attrs["explicitValue"] = "true"
            else:
                list_attrs["valuePrefix"] = ""
            el(elements, "list", **list_attrs)
    return _serialize(root)


def render_adml(language: str, organization: str) -> bytes:
    from lxml import etree

    strings = load_strings(language)

    def el(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        node = etree.SubElement(parent, f"{{{PD_NS}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    root = etree.Element(f"{{{PD_NS}}}policyDefinitionResources", nsmap={None: PD_NS})
    root.set("revision", REVISION)
    root.set("schemaVersion", SCHEMA_VERSION)
    try:
        el(root, "displayName", str(strings["displayName"]))
        el(root, "description", str(strings["description"]).replace("{organization}", organization))
        resources = el(root, "resources")
        table = el(resources, "stringTable")
        for sid, text in strings["strings"].items():
            el(table, "string", str(text), id=str(sid))
        presentations = el(resources, "presentationTable")
        labels = strings.get("labels", {})
        for p in POLICIES:
            if p.kind == "flag":
                continue
            pres = el(presentations, "presentation", id=p.name)
            if p.kind == "text":
                box = el(pres, "textBox", refId=p.element_id)
                el(box, "label", str(labels[p.name]))
            else:
                el(pres, "listBox", str(labels[p.name]), refId=p.element_id)
    except ValueError as exc:  # lxml refuses characters XML 1.0 cannot carry
        raise InputError(
            f"text for the {language} ADML cannot be written as XML: {exc}",
            hint="remove control characters from the organization name",
            field="organization",
        ) from exc
    return _serialize(root)


# --------------------------------------------------------------------------- README


def render_readme(policy: Policy, langs: list[str]) -> bytes:
    from mistral_sov import resources

    text = resources.read_text("gpo/README.md").format(
        organization=policy.organization.replace("\n", " "),
        namespace=TARGET_NAMESPACE,
        languages=", ".join(langs),
    )
    return text.replace("\n", "\r\n").encode("utf-8")


# --------------------------------------------------------------------------- exporter


class GpoExporter:
    name = "gpo"
    description = "Group Policy: ADMX/ADML templates, Machine/User Registry.pol and a .reg file"

    def render(self, policy: Policy, catalog: Catalog, options: ExportOptions) -> list[Artifact]:
        settings = wr.registry_settings(policy, catalog)
        langs = languages(options)
        artifacts = [Artifact(f"gpo/PolicyDefinitions/{BASENAME}.admx", render_admx())]
        for lang in langs:
            artifacts.append(
                Artifact(f"gpo/PolicyDefinitions/{lang}/{BASENAME}.adml", render_adml(lang, policy.organization))
            )
        artifacts.append(Artifact("gpo/Machine/Registry.pol", wr.encode_registry_pol(settings, "Machine")))
        artifacts.append(Artifact("gpo/User/Registry.pol", wr.encode_registry_pol(settings, "User")))
        comment = [
            f"mistral-sov policy for {policy.organization.replace(chr(10), ' ').replace(chr(13), ' ')}",
            "For testing on one machine: values written by regedit stay after the policy is removed.",
        ]
        artifacts.append(Artifact("gpo/mistral-sov.reg", wr.encode_reg(settings, comment)))
        artifacts.append(Artifact("gpo/README.md", render_readme(policy, langs)))
        return artifacts


EXPORTER = GpoExporter()
