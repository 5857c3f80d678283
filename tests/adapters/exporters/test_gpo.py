"""gpo exporter: ADMX/ADML (XSD + linter), Registry.pol (Samba), .reg, README, golden files."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import controls_expect
import pytest
from golden_files import assert_golden
from lxml import etree

from mistral_sov.adapters.admx.lint import lint_admx
from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import EXPORTERS, get_exporter, gpo
from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.core.rules import effective_rules
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions
from mistral_sov.resources import path as shipped

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "tests/data/policy-export.yaml"
PD_NS = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
XSD_NS = "http://www.microsoft.com/GroupPolicy/PolicyDefinitions"
SAMBA_PY = "/usr/bin/python3"

SAMBA_SCRIPT = r"""
import json, sys
from samba.dcerpc import preg
from samba.ndr import ndr_unpack, ndr_pack
out = []
for name in sys.argv[1:]:
    data = open(name, "rb").read()
    f = ndr_unpack(preg.file, data)
    out.append({"repack_equal": ndr_pack(f) == data, "num": f.num_entries,
                "signature": f.header.signature, "version": f.header.version,
                "entries": [[e.keyname, e.valuename, e.type, e.size, e.data] for e in f.entries]})
print(json.dumps(out))
"""


def samba_available() -> bool:
    if not Path(SAMBA_PY).exists():
        return False
    probe = subprocess.run([SAMBA_PY, "-c", "import samba.dcerpc.preg"], capture_output=True, check=False)
    return probe.returncode == 0


def samba_parse(*files: Path) -> list[dict]:
    if not samba_available():
        if os.environ.get("CI") == "true":
            pytest.fail("python3-samba is required in CI (apt-get install python3-samba)")
        pytest.skip("python3-samba not installed")
    result = subprocess.run(
        [SAMBA_PY, "-c", SAMBA_SCRIPT, *map(str, files)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def policy(catalog):
    return load_policy(POLICY, catalog).policy


@pytest.fixture(scope="module")
def artifacts(policy, catalog):
    return {a.path: a.data for a in get_exporter("gpo").render(policy, catalog, ExportOptions())}


@pytest.fixture(scope="module")
def bundle(artifacts, tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    for rel, data in artifacts.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(shipped("schemas/admx/PolicyDefinitionFiles.xsd"))))


def to_xsd_namespace(data: bytes):
    root = etree.fromstring(data)
    for node in root.iter():
        if isinstance(node.tag, str):
            node.tag = f"{{{XSD_NS}}}{etree.QName(node).localname}"
    return root


def test_registered_and_paths(artifacts):
    assert EXPORTERS["gpo"] == "mistral_sov.adapters.exporters.gpo:EXPORTER"
    assert sorted(artifacts) == sorted(
        [
            "gpo/PolicyDefinitions/MistralSov.admx",
            "gpo/PolicyDefinitions/en-US/MistralSov.adml",
            "gpo/PolicyDefinitions/fr-FR/MistralSov.adml",
            "gpo/PolicyDefinitions/de-DE/MistralSov.adml",
            "gpo/Machine/Registry.pol",
            "gpo/User/Registry.pol",
            "gpo/mistral-sov.reg",
            "gpo/README.md",
        ]
    )
    for rel in artifacts:
        assert "\\" not in rel and not rel.startswith("/")


def test_deterministic(policy, catalog, artifacts):
    again = {a.path: a.data for a in get_exporter("gpo").render(policy, catalog, ExportOptions())}
    assert again == artifacts


def test_languages_option(policy, catalog):
    paths = [a.path for a in gpo.EXPORTER.render(policy, catalog, ExportOptions(languages=("de-DE",)))]
    assert "gpo/PolicyDefinitions/en-US/MistralSov.adml" in paths  # en-US always
    assert "gpo/PolicyDefinitions/de-DE/MistralSov.adml" in paths
    assert "gpo/PolicyDefinitions/fr-FR/MistralSov.adml" not in paths
    with pytest.raises(InputError, match="no ADML strings for language 'xx-XX'"):
        gpo.EXPORTER.render(policy, catalog, ExportOptions(languages=("xx-XX",)))


# --------------------------------------------------------------------------- ADMX / ADML


@pytest.mark.parametrize(
    "rel", ["MistralSov.admx", "en-US/MistralSov.adml", "fr-FR/MistralSov.adml", "de-DE/MistralSov.adml"]
)
def test_xml_files_validate_against_xsd(artifacts, schema, rel):
    data = artifacts[f"gpo/PolicyDefinitions/{rel}"]
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\r\n')
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert b"<!DOCTYPE" not in data
    data.decode("utf-8")
    assert etree.QName(etree.fromstring(data)).namespace == PD_NS
    assert schema.validate(to_xsd_namespace(data)), schema.error_log


def test_admx_shape(artifacts):
    root = etree.fromstring(artifacts["gpo/PolicyDefinitions/MistralSov.admx"])
    ns = {"p": PD_NS}
    target = root.find("p:policyNamespaces/p:target", ns)
    assert target.get("namespace") == "MistralAI.Policies.Sovereign" and target.get("prefix") == "mistralsov"
    assert root.find("p:policyNamespaces/p:using", ns) is None  # no `using windows`
    top = root.find("p:categories/p:category[@name='Cat_MistralAI']", ns)
    assert top is not None and top.find("p:parentCategory", ns) is None  # top-level node
    sub = root.find("p:categories/p:category[@name='Cat_Sovereignty']/p:parentCategory", ns)
    assert sub.get("ref") == "Cat_MistralAI"
    policies = {p.get("name"): p for p in root.iterfind("p:policies/p:policy", ns)}
    assert set(policies) == {
        "ApprovedEndpoints",
        "DefaultEndpoint",
        "AllowedRegions",
        "EnforceLocalOnly",
        "BlockPublicAI",
        "ApprovedModelHashes",
    }
    for p in policies.values():
        assert p.get("class") == "Machine"
        assert p.get("key") == r"Software\Policies\Mistral AI\Sovereign"
        assert p.find("p:supportedOn", ns).get("ref") == "SUPPORTED_MistralSov_1_0"
    assert policies["EnforceLocalOnly"].find("p:enabledValue/p:decimal", ns).get("value") == "1"
    assert policies["ApprovedEndpoints"].find("p:elements/p:list", ns).get("explicitValue") == "true"
    assert policies["AllowedRegions"].find("p:elements/p:list", ns).get("valuePrefix") == ""
    for key in root.xpath("//@key"):
        assert key.startswith("Software\\Policies\\Mistral AI\\")


def test_linter_accepts_our_templates(bundle):
    diags = lint_admx(bundle / "gpo/PolicyDefinitions/MistralSov.admx")
    assert diags == [], "\n".join(d.render() for d in diags)


def test_every_reference_resolves_in_every_language(artifacts):
    admx = artifacts["gpo/PolicyDefinitions/MistralSov.admx"].decode()
    string_refs = set(re.findall(r"\$\(string\.(\w+)\)", admx))
    pres_refs = set(re.findall(r"\$\(presentation\.(\w+)\)", admx))
    element_ids = set(etree.fromstring(admx.encode()).xpath("//*[local-name()='elements']/*/@id"))
    assert string_refs and pres_refs and element_ids
    for lang in ("en-US", "fr-FR", "de-DE"):
        root = etree.fromstring(artifacts[f"gpo/PolicyDefinitions/{lang}/MistralSov.adml"])
        assert string_refs <= set(root.xpath("//*[local-name()='string']/@id"))
        assert pres_refs == set(root.xpath("//*[local-name()='presentation']/@id"))
        assert element_ids == set(root.xpath("//*[local-name()='presentation']/*/@refId"))


def test_translations_are_real(artifacts):
    def strings(lang):
        root = etree.fromstring(artifacts[f"gpo/PolicyDefinitions/{lang}/MistralSov.adml"])
        return {s.get("id"): s.text for s in root.iter(f"{{{PD_NS}}}string")}

    en, fr, de = strings("en-US"), strings("fr-FR"), strings("de-DE")
    assert set(en) == set(fr) == set(de)
    proper_nouns = {"Cat_MistralAI"}  # "Mistral AI" is a name in every language
    for sid in set(en) - proper_nouns:
        assert fr[sid] != en[sid], sid
        assert de[sid] != en[sid], sid
        assert fr[sid] != de[sid], sid
    assert "Souveraineté" in fr["Cat_Sovereignty"] and "Souveränität" in de["Cat_Sovereignty"]
    assert "é" in "".join(fr.values()) and "ä" in "".join(de.values())


def test_adml_strings_not_pretty_printed(artifacts):
    for lang in ("en-US", "fr-FR", "de-DE"):
        root = etree.fromstring(artifacts[f"gpo/PolicyDefinitions/{lang}/MistralSov.adml"])
        for s in root.iter(f"{{{PD_NS}}}string"):
            assert s.text == s.text.strip(), s.get("id")
            assert "\n " not in s.text and "  " not in s.text


def test_adml_description_names_organization(artifacts, policy):
    root = etree.fromstring(artifacts["gpo/PolicyDefinitions/en-US/MistralSov.adml"])
    assert policy.organization in root.find(f"{{{PD_NS}}}description").text


# --------------------------------------------------------------------------- Registry.pol


def expected_entries(policy, catalog, scope):
    """What Registry.pol must carry, derived here from the policy (not from the exporter)."""
    rules = effective_rules(policy, catalog)
    out = []

    def lst(key, pairs):
        out.append((key, "**delvals.", 1, " "))
        out.extend((key, n, 1, v) for n, v in pairs)

    if scope == "User":
        return controls_expect.registry_entries(policy, catalog, "User")
    our = r"Software\Policies\Mistral AI\Sovereign"
    lst(our + r"\ApprovedEndpoints", [(e.name, e.url) for e in policy.endpoints])
    out.append((our, "DefaultEndpoint", 1, policy.endpoints[0].url))
    lst(our + r"\AllowedRegions", [(str(i + 1), r) for i, r in enumerate(policy.zones.allowed_cloud_regions)])
    out.append((our, "EnforceLocalOnly", 4, 0))
    out.append((our, "BlockPublicAI", 4, 1))
    lst(our + r"\ApprovedModels", [(m.name, m.sha256) for m in policy.local_inference.models])
    # third-party controls: the controls table, flattened independently of the exporter
    out += controls_expect.registry_entries(policy, catalog, "Machine")
    assert rules.block_domains  # the table's URL lists are the effective rules
    return out


def test_registry_pol_samba_roundtrip_and_values(bundle, policy, catalog):
    machine, user = samba_parse(bundle / "gpo/Machine/Registry.pol", bundle / "gpo/User/Registry.pol")
    for parsed in (machine, user):
        assert parsed["repack_equal"], "Samba re-pack is not byte-identical"
        assert parsed["num"] == len(parsed["entries"])
    for parsed, scope in ((machine, "Machine"), (user, "User")):
        got = [(k, n, t, d) for k, n, t, _size, d in parsed["entries"]]
        assert got == expected_entries(policy, catalog, scope)
    # sizes: SZ = UTF-16LE with NUL, DWORD = 4
    for _k, _n, t, size, d in machine["entries"]:
        assert size == (4 if t == 4 else (len(d) + 1) * 2)
    blocked = [d for k, n, t, _s, d in machine["entries"] if k.endswith(r"Edge\URLBlocklist") and n[0] != "*"]
    assert "chatgpt.com" in blocked and "chat.example-ai.com" in blocked and "api.mistral.ai" not in blocked


def test_registry_pol_header_bytes(artifacts):
    for rel in ("gpo/Machine/Registry.pol", "gpo/User/Registry.pol"):
        assert artifacts[rel][:8] == b"PReg\x01\x00\x00\x00"
    # key and value names are NUL-terminated UTF-16LE
    assert (
        "[Software\\Policies\\Mistral AI\\Sovereign\x00;DefaultEndpoint\x00;".encode("utf-16-le")
        in artifacts["gpo/Machine/Registry.pol"]
    )


def test_local_only_allows_only_loopback(policy, catalog, tmp_path):
    local = policy.model_copy(deep=True)
    local.local_inference.enforce_local_only = True
    local.blocking.catalog = ["chat"]
    settings = wr.registry_settings(local, catalog)
    lists = {s.key: s for s in settings if isinstance(s, wr.RegList)}
    for brand in (r"Microsoft\Edge", r"Google\Chrome"):
        allow = [v for _n, v in lists[rf"Software\Policies\{brand}\URLAllowlist"].values]
        block = [v for _n, v in lists[rf"Software\Policies\{brand}\URLBlocklist"].values]
        assert allow == ["127.0.0.1", "localhost"]
        assert "llm.klinikum-beispiel.de" in block  # remote approved endpoints are blocked too
        # the whole catalog, not just the "chat" category the policy selected
        assert set(effective_rules(policy, catalog).block_domains) <= set(block)
    values = {(s.key, s.name): s.data for s in settings if isinstance(s, wr.RegValue)}
    assert values[(wr.OUR_KEY, "EnforceLocalOnly")] == 1
    assert values[(wr.OUR_KEY, "BlockPublicAI")] == 1


def test_switches_follow_policy(policy, catalog):
    p = policy.model_copy(deep=True)
    p.browsers.chrome = False
    p.browsers.firefox = False
    p.browsers.disable_builtin_ai = False
    p.windows.disable_copilot = False
    p.windows.disable_recall = False
    keys = {s.key for s in wr.registry_settings(p, catalog)}
    assert not any("Google" in k or "Mozilla" in k or "Windows" in k for k in keys)
    names = {s.name for s in wr.registry_settings(p, catalog) if isinstance(s, wr.RegValue)}
    assert "HubsSidebarEnabled" not in names and "DnsOverHttpsMode" in names
    assert wr.encode_registry_pol(wr.registry_settings(p, catalog), "User") == b"PReg\x01\x00\x00\x00"


def test_url_list_over_1000_is_an_input_error(policy, catalog):
    p = policy.model_copy(deep=True)
    p.blocking.extra_domains = [f"ai{i}.example.org" for i in range(1001)]
    with pytest.raises(InputError) as info:
        gpo.EXPORTER.render(p, catalog, ExportOptions())
    assert "1000" in info.value.message and "dns" in info.value.hint.lower() and "pac" in info.value.hint.lower()


# --------------------------------------------------------------------------- .reg


def parse_reg(data: bytes) -> list[tuple[str, str | None, object]]:
    """Independent minimal regedit-5 parser: ('-key' | key, name, value) events."""
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0] == "Windows Registry Editor Version 5.00"
    events: list[tuple[str, str | None, object]] = []
    key = None
    value_re = re.compile(r'^"((?:[^"\\]|\\.)*)"=(?:"((?:[^"\\]|\\.)*)"|dword:([0-9a-f]{8}))$')
    for line in lines[1:]:
        if not line or line.startswith(";"):
            continue
        if line.startswith("[-"):
            events.append(("-" + line[2:-1], None, None))
            key = None
        elif line.startswith("["):
            key = line[1:-1]
        else:
            m = value_re.match(line)
            assert m and key, line
            unescape = lambda s: re.sub(r"\\(.)", r"\1", s)  # noqa: E731
            value = unescape(m.group(2)) if m.group(2) is not None else int(m.group(3), 16)
            events.append((key, unescape(m.group(1)), value))
    return events


def test_reg_file_matches_settings(artifacts, policy, catalog):
    events = parse_reg(artifacts["gpo/mistral-sov.reg"])
    expected: list = []
    for s in wr.registry_settings(policy, catalog):
        hive = "HKEY_LOCAL_MACHINE" if s.scope == "Machine" else "HKEY_CURRENT_USER"
        if isinstance(s, wr.RegList):
            expected.append((f"-{hive}\\{s.key}", None, None))
            expected += [(f"{hive}\\{s.key}", n, v) for n, v in s.values]
        else:
            expected.append((f"{hive}\\{s.key}", s.name, s.data))
    assert events == expected
    assert ("-HKEY_LOCAL_MACHINE\\Software\\Policies\\Microsoft\\Edge\\URLBlocklist", None, None) in events
    # deprecated TurnOffWindowsCopilot is never emitted (RemoveMicrosoftCopilotApp is MDM-only)
    assert not any(e[1] == "TurnOffWindowsCopilot" for e in events)
    assert (
        "HKEY_LOCAL_MACHINE\\Software\\Policies\\Mozilla\\Firefox\\WebsiteFilter\\Block",
        "1",
        "*://*.chatgpt.com/*",
    ) in events


def test_reg_escaping_only_backslash_and_quote():
    assert wr.reg_escape("a\\b\"c'd\u00e9") == "a\\\\b\\\"c'd\u00e9"


def test_readme(artifacts):
    text = artifacts["gpo/README.md"].decode("utf-8")
    for name in ("MistralSov.admx", "Registry.pol", "mistral-sov.reg", "LGPO", "PolicyDefinitions", "docs/deploy.md"):
        assert name in text


# --------------------------------------------------------------------------- golden


def test_golden_files(artifacts):
    assert artifacts
    for rel, data in artifacts.items():
        assert_golden(rel, data)
