"""ADMX/ADML linter: XML Schema validation plus the cross-file rules the XSD cannot express.

``lint_admx(admx, adml_dir)`` returns diagnostics with ``file:line`` locations (lxml
``sourceline``). It raises ``InputError`` (exit 2) only when a file cannot be read or is not
well-formed XML. Rules (policy-formats.md §1.5, §9):

- ``xsd``: the vendored, patched admxgen schemas (``templates/schemas/admx/``), after
  rewriting the document's namespace to the schema's (any of the three GPMC accepts);
- ``doctype``: a DOCTYPE makes GPMC fail with "DTD is prohibited";
- ``duplicate``: duplicate policy/category/supportedOn names, string or presentation ids;
- ``prefix``: a reference whose prefix is not declared, or that prefixes our own namespace;
- ``category`` / ``supportedOn``: references that resolve nowhere;
- ``string`` / ``presentation``: ``$(string.X)`` / ``$(presentation.X)`` missing in an ADML;
- ``refid``: element ids without a matching control, controls without an element, or a
  control of the wrong type; ``combobox``: Intune rejects comboBox (warning);
- ``hive``: a hive (``HKEY_…``, ``HKLM\\``) inside a key;
- ``intune-path``: keys Intune refuses for ingested ADMX (warning);
- ``language``: an ADML lacking strings another language defines (warning), no ADML (error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mistral_sov.core.intune_paths import intune_blocked
from mistral_sov.errors import Diagnostic, InputError, Location

XSD_NS = "http://www.microsoft.com/GroupPolicy/PolicyDefinitions"
ACCEPTED_NS = (
    "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions",
    XSD_NS,
    "",
)
STRING_REF = re.compile(r"^\$\(string\.([^)]*)\)$")
PRES_REF = re.compile(r"^\$\(presentation\.([^)]*)\)$")
HIVE_RE = re.compile(r"^\s*\\?(HKEY_|HKLM\b|HKCU\b|HKCR\b|HKU\b|HKCC\b)", re.IGNORECASE)
# ADML control -> ADMX element types it may present.
CONTROL_FOR: dict[str, tuple[str, ...]] = {
    "textBox": ("text",),
    "comboBox": ("text",),
    "decimalTextBox": ("decimal", "text"),
    "longDecimalTextBox": ("longDecimal",),
    "checkBox": ("boolean",),
    "dropdownList": ("enum",),
    "listBox": ("list",),
    "multiTextBox": ("multiText",),
}
ELEMENT_TYPES = ("boolean", "decimal", "text", "enum", "list", "multiText", "longDecimal")


def _q(tag: str) -> str:
    return f"{{{XSD_NS}}}{tag}"


@dataclass
class _Doc:
    path: Path
    root: Any
    diags: list[Diagnostic] = field(default_factory=list)

    def loc(self, node: Any) -> Location:
        return Location(str(self.path), getattr(node, "sourceline", 0) or 0, 1)


def _schema() -> Any:
    from lxml import etree

    from mistral_sov import resources

    return etree.XMLSchema(etree.parse(str(resources.path("schemas/admx/PolicyDefinitionFiles.xsd"))))


def _parse(path: Path) -> tuple[Any, list[Diagnostic]]:
    """Parse with line numbers; rewrite every element into the XSD namespace."""
    from lxml import etree

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror or exc}", hint="check the path", location=Location(str(path))
        ) from exc
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False)
    try:
        tree = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (0, 0)
        raise InputError(
            f"{path.name} is not well-formed XML: {exc.msg}",
            hint="fix the XML syntax (an editor with XML validation helps); check the encoding declaration",
            location=Location(str(path), line or 0, (col or 0) + 1),
        ) from exc
    diags: list[Diagnostic] = []
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype:
        diags.append(
            Diagnostic(
                "the file has a DOCTYPE",
                Location(str(path), 1, 1),
                "doctype",
                "remove it: GPMC refuses DTDs ('DTD is prohibited')",
            )
        )
    ns = etree.QName(tree).namespace or ""
    if ns not in ACCEPTED_NS:
        diags.append(
            Diagnostic(
                f"unexpected XML namespace '{ns}'",
                Location(str(path), tree.sourceline or 0, 1),
                "xmlns",
                'use xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"',
            )
        )
    for node in tree.iter():
        if isinstance(node.tag, str):
            qn = etree.QName(node)
            if (qn.namespace or "") in ACCEPTED_NS:
                node.tag = _q(qn.localname)
    etree.cleanup_namespaces(tree)
    return tree, diags


def _xsd(doc: _Doc, schema: Any) -> None:
    from lxml import etree

    try:
        if schema.validate(doc.root):
            return
    except etree.XMLSchemaValidateError as exc:  # libxml2 gives up (e.g. on an entity bomb)
        doc.diags.append(
            Diagnostic(f"the XSD validator could not check this file ({exc})", Location(str(doc.path)), "xsd")
        )
        return
    for err in schema.error_log:
        message = re.sub(r"\{" + re.escape(XSD_NS) + r"\}", "", err.message)
        doc.diags.append(
            Diagnostic(
                message,
                Location(str(doc.path), err.line or 0, (err.column or 0) + 1),
                "xsd",
                "see the ADMX schema reference (element order and attribute types)",
            )
        )


def _strings_refs(root: Any) -> list[tuple[Any, str, str]]:
    """(node, attribute, id) for every $(string.X) reference in the ADMX."""
    refs = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attr, value in node.attrib.items():
            m = STRING_REF.match(value)
            if m:
                refs.append((node, attr, m.group(1)))
    return refs


def _dupes(doc: _Doc, nodes: list[Any], what: str, attr: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for node in nodes:
        name = node.get(attr)
        if name is None:
            continue
        if name in seen:
            doc.diags.append(
                Diagnostic(
                    f"duplicate {what} '{name}' (first defined on line {seen[name].sourceline})",
                    doc.loc(node),
                    "duplicate",
                    f"give every {what} a unique {attr}",
                )
            )
        else:
            seen[name] = node
    return seen


def _find_admls(admx: Path, adml_dir: Path | None) -> tuple[dict[str, Path], Path]:
    base = adml_dir if adml_dir is not None else admx.parent
    if not base.is_dir():
        raise InputError(
            f"ADML directory {base} does not exist",
            hint="pass --adml-dir DIR (the folder holding en-US\\, fr-FR\\ …)",
            location=Location(str(base)),
        )
    found: dict[str, Path] = {}
    direct = base / (admx.stem + ".adml")
    if direct.is_file():
        found[base.name] = direct
    for sub in sorted(base.iterdir()):
        candidate = sub / (admx.stem + ".adml")
        if sub.is_dir() and candidate.is_file():
            found[sub.name] = candidate
    return found, base


def lint_admx(admx: Path, adml_dir: Path | None = None) -> list[Diagnostic]:
    """Lint one ADMX and its ADMLs (``adml_dir/<lang>/<stem>.adml``; default: next to the ADMX)."""
    schema = _schema()
    root, parse_diags = _parse(admx)
    doc = _Doc(admx, root, parse_diags)
    if root.tag != _q("policyDefinitions"):
        doc.diags.append(
            Diagnostic(
                f"root element is <{root.tag.split('}')[-1]}>, not <policyDefinitions>",
                doc.loc(root),
                "xsd",
                "is this an ADML? pass the .admx file",
            )
        )
        return doc.diags
    _xsd(doc, schema)

    # --- namespaces and prefixes
    target = root.find(f"{_q('policyNamespaces')}/{_q('target')}")
    target_prefix = target.get("prefix") if target is not None else None
    using = {u.get("prefix") for u in root.iterfind(f"{_q('policyNamespaces')}/{_q('using')}")}

    def check_ref(node: Any, ref: str, kind: str, local: dict[str, Any]) -> None:
        if ":" in ref:
            prefix, name = ref.split(":", 1)
            if prefix == target_prefix:
                doc.diags.append(
                    Diagnostic(
                        f"{kind} reference '{ref}' prefixes this file's own namespace",
                        doc.loc(node),
                        "prefix",
                        f"write '{name}': Intune ingestion reports 'category not defined' for own-prefix references",
                    )
                )
                if name not in local:
                    doc.diags.append(
                        Diagnostic(
                            f"{kind} '{name}' is not defined",
                            doc.loc(node),
                            kind,
                            f"define it, or fix the reference '{ref}'",
                        )
                    )
            elif prefix not in using:
                doc.diags.append(
                    Diagnostic(
                        f"prefix '{prefix}' in '{ref}' is not declared",
                        doc.loc(node),
                        "prefix",
                        f'add <using prefix="{prefix}" namespace="…"/> under <policyNamespaces>, or define '
                        f"the {kind} in this file",
                    )
                )
        elif ref not in local:
            doc.diags.append(
                Diagnostic(
                    f"{kind} '{ref}' is not defined",
                    doc.loc(node),
                    kind,
                    f'define <{kind} name="{ref}"> or fix the reference',
                )
            )

    categories = _dupes(doc, list(root.iter(_q("category"))), "category", "name")
    support = _dupes(doc, list(root.iter(_q("definition"))), "supportedOn definition", "name")
    for product in root.iter(_q("product")):
        support.setdefault(product.get("name", ""), product)
        for major in product.iter(_q("majorVersion")):
            support.setdefault(major.get("name", ""), major)
    policies = list(root.iter(_q("policy")))
    _dupes(doc, policies, "policy", "name")

    for node in root.iter(_q("parentCategory")):
        check_ref(node, node.get("ref", ""), "category", categories)
    for node in root.iter(_q("supportedOn")):
        if node.get("ref") is not None:
            check_ref(node, node.get("ref", ""), "supportedOn", support)
    for tag in ("reference", "range"):
        for node in root.iter(_q(tag)):
            check_ref(node, node.get("ref", ""), "supportedOn", support)

    # --- keys: hives and Intune-blocked roots
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in ("key", "defaultKey"):
            key = node.get(attr)
            if key is None:
                continue
            if HIVE_RE.match(key):
                doc.diags.append(
                    Diagnostic(
                        f"the {attr} '{key}' names a registry hive",
                        doc.loc(node),
                        "hive",
                        "remove the hive: the policy's class (Machine/User) chooses HKLM or HKCU",
                    )
                )
            elif intune_blocked(key):
                doc.diags.append(
                    Diagnostic(
                        f"Intune refuses ingested ADMX that write '{key}'",
                        doc.loc(node),
                        "intune-path",
                        "write under Software\\Policies\\<Vendor>; set Microsoft settings through the settings "
                        "catalog instead",
                        "warning",
                    )
                )

    # --- ADMLs
    string_refs = _strings_refs(root)
    admls, base = _find_admls(admx, adml_dir)
    if not admls:
        doc.diags.append(
            Diagnostic(
                f"no {admx.stem}.adml found under {base}",
                Location(str(admx)),
                "language",
                f"put the strings in {base / 'en-US' / (admx.stem + '.adml')}",
            )
        )
        return doc.diags
    string_sets: dict[str, set[str]] = {}
    for lang, path in admls.items():
        adml_root, adml_diags = _parse(path)
        adml = _Doc(path, adml_root, adml_diags)
        if adml_root.tag != _q("policyDefinitionResources"):
            adml.diags.append(
                Diagnostic(
                    "root element is not <policyDefinitionResources>",
                    adml.loc(adml_root),
                    "xsd",
                    "pass the matching .adml files",
                )
            )
            doc.diags.extend(adml.diags)
            continue
        _xsd(adml, schema)
        strings = _dupes(adml, list(adml_root.iter(_q("string"))), "string id", "id")
        presentations = _dupes(adml, list(adml_root.iter(_q("presentation"))), "presentation id", "id")
        string_sets[lang] = set(strings)
        for node, attr, sid in string_refs:
            if sid not in strings:
                doc.diags.append(
                    Diagnostic(
                        f"$(string.{sid}) (attribute {attr}) is not defined in {lang}/{path.name}",
                        doc.loc(node),
                        "string",
                        f'add <string id="{sid}">…</string> to {path}',
                    )
                )
        for policy in policies:
            _check_presentation(doc, adml, policy, presentations, lang)
        doc.diags.extend(adml.diags)
    # strings one language has and another lacks
    every = set().union(*string_sets.values()) if string_sets else set()
    for lang, ids in string_sets.items():
        missing = sorted(every - ids)
        if missing:
            doc.diags.append(
                Diagnostic(
                    f"{lang}/{admls[lang].name} lacks string(s) other languages define: {', '.join(missing[:10])}"
                    + (" …" if len(missing) > 10 else ""),
                    Location(str(admls[lang])),
                    "language",
                    "translate every string in every language",
                    "warning",
                )
            )
    return doc.diags


def _check_presentation(doc: _Doc, adml: _Doc, policy: Any, presentations: dict[str, Any], lang: str) -> None:
    elements = policy.find(_q("elements"))
    items: dict[str, Any] = {}
    if elements is not None:
        for element in elements:
            if isinstance(element.tag, str) and element.get("id") is not None:
                if element.get("id") in items:
                    doc.diags.append(
                        Diagnostic(
                            f"duplicate element id '{element.get('id')}' in policy '{policy.get('name')}'",
                            doc.loc(element),
                            "duplicate",
                            "give every element a unique id",
                        )
                    )
                items.setdefault(element.get("id"), element)
    ref = policy.get("presentation")
    if ref is None:
        if items:
            doc.diags.append(
                Diagnostic(
                    f"policy '{policy.get('name')}' has elements but no presentation",
                    doc.loc(policy),
                    "refid",
                    'add presentation="$(presentation.<Name>)" and a <presentation> in every ADML',
                )
            )
        return
    m = PRES_REF.match(ref)
    pres = presentations.get(m.group(1)) if m else None
    if pres is None:
        doc.diags.append(
            Diagnostic(
                f"{ref} is not defined in {lang}/{adml.path.name}",
                doc.loc(policy),
                "presentation",
                f'add <presentation id="{m.group(1) if m else "…"}"> to {adml.path}',
            )
        )
        return
    seen: set[str] = set()
    for control in pres:
        if not isinstance(control.tag, str):
            continue
        kind = control.tag.split("}")[-1]
        ref_id = control.get("refId")
        if kind == "comboBox":
            adml.diags.append(
                Diagnostic(
                    "comboBox control: Intune 'Import ADMX' rejects it",
                    adml.loc(control),
                    "combobox",
                    "use a textBox",
                    "warning",
                )
            )
        if ref_id is None:
            continue
        seen.add(ref_id)
        element = items.get(ref_id)
        if element is None:
            adml.diags.append(
                Diagnostic(
                    f"control refId '{ref_id}' matches no element of policy '{policy.get('name')}'",
                    adml.loc(control),
                    "refid",
                    f"use one of: {', '.join(items) or '(the policy has no elements)'}",
                )
            )
            continue
        etype = element.tag.split("}")[-1]
        if etype not in CONTROL_FOR.get(kind, ()):
            adml.diags.append(
                Diagnostic(
                    f"<{kind}> cannot present the <{etype}> element '{ref_id}'",
                    adml.loc(control),
                    "refid",
                    "use " + " or ".join(f"<{c}>" for c, t in CONTROL_FOR.items() if etype in t and c != "comboBox"),
                )
            )
    for element_id, element in items.items():
        if element_id not in seen:
            doc.diags.append(
                Diagnostic(
                    f"element '{element_id}' of policy '{policy.get('name')}' has no control in "
                    f"{lang}/{adml.path.name}",
                    doc.loc(element),
                    "refid",
                    f"add a control with refId=\"{element_id}\" to presentation '{pres.get('id')}'",
                )
            )
