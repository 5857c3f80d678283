"""intune exporter: ADMX ingestion profile, OMA-URI payloads, settings catalog, PowerShell scripts."""

from __future__ import annotations

import base64
import itertools
import json
import re
from pathlib import Path

import pytest
from golden_files import assert_golden
from lxml import etree

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import EXPORTERS, get_exporter, gpo, intune
from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.adapters.exporters.controls import url_lists
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.core.intune_paths import intune_blocked
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "tests/data/policy-export.yaml"
PD = "{http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions}"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def policy(catalog):
    return load_policy(POLICY, catalog).policy


@pytest.fixture(scope="module")
def artifacts(policy, catalog):
    return {a.path: a.data for a in get_exporter("intune").render(policy, catalog, ExportOptions())}


@pytest.fixture(scope="module")
def profile(artifacts):
    return json.loads(artifacts["intune/admx-ingestion.json"])


def test_registered_and_files(artifacts):
    assert EXPORTERS["intune"] == "mistral_sov.adapters.exporters.intune:EXPORTER"
    assert sorted(artifacts) == sorted(
        [
            "intune/admx-ingestion.json",
            "intune/settings-catalog-chrome.json",
            "intune/settings-catalog-edge.json",
            "intune/settings-catalog-windows-ai.json",
            "intune/detect.ps1",
            "intune/remediate.ps1",
        ]
    )


def test_ingestion_payload_is_the_exported_admx(profile, policy, catalog):
    admx = next(a.data for a in gpo.EXPORTER.render(policy, catalog, ExportOptions()) if a.path.endswith(".admx"))
    assert profile["@odata.type"] == "#microsoft.graph.windows10CustomConfiguration"
    ingest = profile["omaSettings"][0]
    assert ingest["@odata.type"] == "#microsoft.graph.omaSettingString"
    assert (
        ingest["omaUri"] == "./Device/Vendor/MSFT/Policy/ConfigOperations/ADMXInstall/MistralSov/Policy/MistralSovAdmx"
    )
    assert ingest["value"].encode("utf-8") == admx


def test_every_setting_uri_and_payload_resolves_in_the_admx(profile):
    admx = etree.fromstring(profile["omaSettings"][0]["value"].encode("utf-8"))
    categories = {c.get("name"): c for c in admx.iter(f"{PD}category")}
    policies = {p.get("name"): p for p in admx.iter(f"{PD}policy")}
    settings = profile["omaSettings"][1:]
    assert {s["displayName"] for s in settings} == set(policies)
    for s in settings:
        assert s["@odata.type"] == "#microsoft.graph.omaSettingString"  # never Integer/Boolean
        m = re.fullmatch(r"\./Device/Vendor/MSFT/Policy/Config/MistralSov~Policy~(.+)/(\w+)", s["omaUri"])
        assert m, s["omaUri"]
        chain, name = m.group(1).split("~"), m.group(2)
        # the chain is the category path root -> leaf that holds the policy
        assert all(c in categories for c in chain)
        assert categories[chain[0]].find(f"{PD}parentCategory") is None
        for parent, child in itertools.pairwise(chain):
            assert categories[child].find(f"{PD}parentCategory").get("ref") == parent
        assert policies[name].find(f"{PD}parentCategory").get("ref") == chain[-1]
        # payload: XML fragment whose data ids exist in that policy's elements
        fragment = etree.fromstring(f"<r>{s['value']}</r>".encode())
        assert fragment[0].tag in ("enabled", "disabled")
        ids = {
            e.get("id")
            for e in policies[name].iter()
            if e.getparent() is not None and e.getparent().tag == f"{PD}elements"
        }
        datas = fragment.findall("data")
        assert len(datas) <= 1  # one <data> per element; lists are ONE <data>
        for d in datas:
            assert d.get("id") in ids


def _payload(profile, name):
    return next(s["value"] for s in profile["omaSettings"] if s["displayName"] == name)


def test_list_payloads_use_f000_pairs(profile, policy):
    raw = _payload(profile, "ApprovedEndpoints")
    assert "&#xF000;" in raw and "\uf000" not in raw  # the literal reference travels in the JSON
    value = etree.fromstring(f"<r>{raw}</r>".encode()).find("data").get("value")
    parts = value.split("\uf000")
    assert parts == [x for e in policy.endpoints for x in (e.name, e.url)]
    regions = etree.fromstring(f"<r>{_payload(profile, 'AllowedRegions')}</r>".encode()).find("data").get("value")
    assert regions.split("\uf000") == ["1", "azure:germanywestcentral", "2", "azure:francecentral"]
    models = etree.fromstring(f"<r>{_payload(profile, 'ApprovedModelHashes')}</r>".encode()).find("data")
    assert models.get("value").split("\uf000") == [
        policy.local_inference.models[0].name,
        policy.local_inference.models[0].sha256,
    ]
    assert _payload(profile, "EnforceLocalOnly") == "<disabled/>"
    assert _payload(profile, "BlockPublicAI") == "<enabled/>"
    assert (
        _payload(profile, "DefaultEndpoint")
        == '<enabled/><data id="DefaultEndpointUrl" value="https://api.mistral.ai"/>'
    )


def test_empty_list_is_disabled_and_separator_in_data_rejected(policy):
    p = policy.model_copy(deep=True)
    p.local_inference.models = []
    p.endpoints = []
    values = gpo.admx_values(p)
    policies = {x.name: x for x in gpo.POLICIES}
    assert intune.oma_payload(policies["ApprovedModelHashes"], values["ApprovedModelHashes"]) == "<disabled/>"
    assert intune.oma_payload(policies["DefaultEndpoint"], values["DefaultEndpoint"]) == "<disabled/>"
    with pytest.raises(InputError, match="U\\+F000"):
        intune.oma_payload(policies["AllowedRegions"], (("1", "a\uf000b"),))


def test_admx_paths_respect_intune_restriction():
    keys = [wr.OUR_KEY] + [p.list_key for p in gpo.POLICIES if p.list_key]
    assert not any(intune_blocked(k) for k in keys)
    assert intune_blocked(r"Software\Policies\Microsoft\Edge")
    assert intune_blocked(r"SYSTEM\CurrentControlSet")
    assert not intune_blocked(r"software\Microsoft\Edge\Foo")
    assert not intune_blocked(r"Software\Policies\Mistral AI\Sovereign")
    assert not intune_blocked(r"Software\MicrosoftX")


# --------------------------------------------------------------------------- settings catalog


def _instances(body):
    for s in body["settings"]:
        assert s["@odata.type"] == "#microsoft.graph.deviceManagementConfigurationSetting"
        yield s["settingInstance"]


def test_settings_catalog_uses_only_shipped_ids(artifacts):
    """Every ID and option value is in the dated snapshot of Microsoft's definitions."""
    from mistral_sov.adapters.exporters.catalog_ids import snapshot

    known = snapshot()
    for rel in (
        "intune/settings-catalog-chrome.json",
        "intune/settings-catalog-edge.json",
        "intune/settings-catalog-windows-ai.json",
    ):
        body = json.loads(artifacts[rel])
        assert body["platforms"] == "windows10" and body["technologies"] == "mdm"
        assert body["roleScopeTagIds"] == ["0"]
        for inst in _instances(body):
            sid = inst["settingDefinitionId"]
            value = inst["choiceSettingValue"]["value"]
            assert value.startswith(sid + "_") and value[len(sid) + 1 :] in known[sid], value
            for child in inst["choiceSettingValue"]["children"]:
                assert child["settingDefinitionId"] in known
                if "choiceSettingValue" in child:
                    cid, cval = child["settingDefinitionId"], child["choiceSettingValue"]["value"]
                    assert cval[len(cid) + 1 :] in known[cid], cval


def test_edge_catalog_lists_match_registry(artifacts, policy, catalog):
    lists = url_lists(policy, catalog)
    body = json.loads(artifacts["intune/settings-catalog-edge.json"])
    found = {}
    for inst in _instances(body):
        name = inst["settingDefinitionId"].rsplit("_", 1)[-1]
        for child in inst["choiceSettingValue"]["children"]:
            if "simpleSettingCollectionValue" in child:
                found[name] = [v["value"] for v in child["simpleSettingCollectionValue"]]
        if not inst["choiceSettingValue"]["children"]:
            found[name] = inst["choiceSettingValue"]["value"][-1]
    assert found["urlblocklist"] == lists["$block_hosts"]
    assert found["urlallowlist"] == lists["$allow_hosts"]
    assert found["hubssidebarenabled"] == "0"
    assert "microsoft_edgev99~policy~microsoft_edge_hubssidebarenabled" in json.dumps(body)


def test_windows_ai_catalog(artifacts):
    body = json.loads(artifacts["intune/settings-catalog-windows-ai.json"])
    values = {i["settingDefinitionId"]: i["choiceSettingValue"]["value"] for i in _instances(body)}
    p = "device_vendor_msft_policy_config_windowsai_"
    assert values == {
        p + "disableaidataanalysis": p + "disableaidataanalysis_1",
        p + "allowrecallenablement": p + "allowrecallenablement_0",
        p + "disableclicktodo": p + "disableclicktodo_1",
        p + "removemicrosoftcopilotapp": p + "removemicrosoftcopilotapp_1",
    }


def test_optional_files_follow_policy(policy, catalog):
    p = policy.model_copy(deep=True)
    p.browsers.edge = False
    p.browsers.chrome = False
    p.windows.disable_recall = False
    p.windows.disable_copilot = False
    paths = {a.path for a in intune.EXPORTER.render(p, catalog, ExportOptions())}
    assert "intune/settings-catalog-edge.json" not in paths
    assert "intune/settings-catalog-chrome.json" not in paths
    assert "intune/settings-catalog-windows-ai.json" not in paths


# --------------------------------------------------------------------------- PowerShell


def ps_literal_values(script: str) -> list[str]:
    """Every single-quoted PowerShell literal, unescaped."""
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", script)]


_PS_ENTRY = re.compile(
    r"@\{ Scope = '(?:Machine|User)'; Key = '((?:[^']|'')*)'; Name = '((?:[^']|'')*)'; "
    r"Kind = '(DWord|String)'; Data = (-?\d+|'(?:[^']|'')*'|\(\[Text\.Encoding\][^\n]*?'([A-Za-z0-9+/=]*)'\)\)\)) \}"
)


def ps_value_entries(script: str) -> dict[tuple[str, str], tuple[str, int | str]]:
    """``(key, name) -> (kind, data)`` for every entry of the ``$Values`` table, decoded
    independently of the exporter (integers, quoted literals and base64 expressions)."""
    out: dict[tuple[str, str], tuple[str, int | str]] = {}
    for m in _PS_ENTRY.finditer(script):
        key, name, kind, data, b64 = m.groups()
        value: int | str
        if b64 is not None:
            value = base64.b64decode(b64).decode("utf-8")
        elif data.startswith("'"):
            value = data[1:-1].replace("''", "'")
        else:
            value = int(data)
        out[(key.replace("''", "'"), name.replace("''", "'"))] = (kind, value)
    assert out, "no $Values entries found"
    return out


def check_balanced(script: str) -> None:
    stack = []
    pairs = {")": "(", "}": "{", "]": "["}
    in_str = None
    i = 0
    while i < len(script):
        c = script[i]
        if in_str:
            if c == in_str:
                if i + 1 < len(script) and script[i + 1] == in_str:
                    i += 2
                    continue
                in_str = None
            elif c == "`" and in_str == '"':
                i += 2
                continue
        elif c == "#" and (i == 0 or script[i - 1] in "\n "):
            i = script.find("\n", i)
            if i < 0:
                break
        elif c in "'\"":
            in_str = c
        elif c in "({[":
            stack.append(c)
        elif c in ")}]":
            assert stack and stack.pop() == pairs[c], f"unbalanced {c} at {i}"
        i += 1
    assert not stack and not in_str


@pytest.mark.parametrize("rel", ["intune/detect.ps1", "intune/remediate.ps1"])
def test_scripts_encoding_and_structure(artifacts, rel, policy, catalog):
    data = artifacts[rel]
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    assert "\n" not in text.replace("\r\n", "")
    check_balanced(text)
    literals = set(ps_literal_values(text))
    entries = ps_value_entries(text)
    for s in wr.registry_settings(policy, catalog):
        assert s.key in literals
        if isinstance(s, wr.RegValue):
            # the script's own table entry for this value carries exactly this kind and data
            kind = "DWord" if isinstance(s.data, int) else "String"
            assert entries.get((s.key, s.name)) == (kind, s.data), (s.key, s.name)
        else:
            for n, v in s.values:
                assert n in literals and v in literals


def test_detection_exit_codes_and_set_semantics(artifacts):
    text = artifacts["intune/detect.ps1"][3:].decode("utf-8")
    assert "exit 1" in text and "exit 0" in text
    assert text.rstrip().endswith("exit 0")
    assert text.index("exit 1", text.index("$Problems.Count -gt 0")) < text.rindex("exit 0")
    assert "HashSet[string]" in text and "SetEquals" in text  # lists compared as sets
    assert "StartsWith('**')" in text  # **delvals. and friends ignored
    remediate = artifacts["intune/remediate.ps1"][3:].decode("utf-8")
    assert "New-ItemProperty" in remediate and "Remove-Item" in remediate


def test_ps_string_escaping():
    assert intune.ps_string("it's") == "'it''s'"
    assert intune.ps_string("a\u2019b") == "'a\u2019\u2019b'"
    encoded = intune.ps_string("line1\nline2")
    assert "FromBase64String" in encoded and "\n" not in encoded


# --------------------------------------------------------------------------- golden


def test_golden_files(artifacts):
    assert artifacts
    for rel, data in artifacts.items():
        assert_golden(rel, data)
