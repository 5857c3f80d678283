"""Hostile names, URLs and domains survive every Windows encoding (ADML, Registry.pol, .reg,
OMA-URI JSON payloads, PowerShell literals): parsing the output gives back the input."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.adapters.exporters import gpo, intune
from mistral_sov.core.policy import Endpoint, Policy
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions

SAMBA_PY = "/usr/bin/python3"
PD = "{http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions}"

# XML 1.0 cannot carry control characters or non-characters; U+F000 is the list separator.
XML_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\uf000\ufffe\uffff")
HOSTILE = st.one_of(
    st.text(XML_TEXT, min_size=1, max_size=80),
    st.text(st.sampled_from(list("<>&\"'\\]=;[$`{}%\u2019\u00e9\u4e2d\U0001f600 ")), min_size=1, max_size=40),
    st.text(XML_TEXT, min_size=1000, max_size=2000),
)


def parse_pol(data: bytes) -> list[tuple[str, str, int, object]]:
    """Independent size-driven MS-GPREG reader (never scans for ']')."""
    assert data[:8] == b"PReg\x01\x00\x00\x00"
    out, i = [], 8

    def text_until_nul(i: int) -> tuple[str, int]:
        j = i
        while data[j : j + 2] != b"\x00\x00":
            j += 2
        return data[i:j].decode("utf-16-le"), j + 2

    while i < len(data):
        assert data[i : i + 2] == "[".encode("utf-16-le")
        key, i = text_until_nul(i + 2)
        assert data[i : i + 2] == b";\x00"
        name, i = text_until_nul(i + 2)
        assert data[i : i + 2] == b";\x00"
        (type_,) = struct.unpack_from("<I", data, i + 2)
        assert data[i + 6 : i + 8] == b";\x00"
        (size,) = struct.unpack_from("<I", data, i + 8)
        assert data[i + 12 : i + 14] == b";\x00"
        raw = data[i + 14 : i + 14 + size]
        i += 14 + size
        assert data[i : i + 2] == b"]\x00"
        i += 2
        if type_ == 4:
            value: object = struct.unpack("<I", raw)[0]
        else:
            assert raw.endswith(b"\x00\x00")
            value = raw[:-2].decode("utf-16-le")
        out.append((key, name, type_, value))
    return out


def parse_reg_values(data: bytes) -> list[tuple[str, str]]:
    text = data[2:].decode("utf-16-le")
    pairs = []
    for line in text.split("\r\n"):
        m = re.match(r'^"((?:[^"\\]|\\.)*)"="((?:[^"\\]|\\.)*)"$', line)
        if m:
            pairs.append(tuple(re.sub(r"\\(.)", r"\1", g) for g in m.groups()))
    return pairs


def ps_unliteral(expr: str) -> str:
    """Evaluate what ps_string emits, as PowerShell would."""
    m = re.fullmatch(
        r"\(\[Text\.Encoding\]::UTF8\.GetString\(\[Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\)\)\)", expr
    )
    if m:
        return base64.b64decode(m.group(1)).decode("utf-8")
    assert expr[0] == "'" and expr[-1] == "'"
    body = expr[1:-1]
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c in intune._PS_QUOTES:
            assert body[i + 1] == c, "lone quote would end the PowerShell string"
            i += 2
        else:
            i += 1
        out.append(c)
    return "".join(out)


BLOCKED = "new-ai.example"  # URL lists hold validated host names only (checked_hosts)


def make_policy(org: str, url: str, domain: str, blocked: str = BLOCKED) -> Policy:
    return Policy(
        version=1,
        organization=org[:200],
        endpoints=[Endpoint(name="ep-1", url=url[:2048], description=url[:1000])],
        blocking={"catalog": "none", "extra_domains": [blocked], "exceptions": []},
        zones={"allowed_cloud_regions": [domain]},
    )


def test_hostile_host_in_url_lists_is_refused(catalog):
    """A hand-built Policy cannot smuggle syntax into a browser URL list on any channel."""
    p = make_policy("Org", "https://a.example", "r", blocked='a"b\\c]d;e[f')
    for exporter in (gpo.EXPORTER, intune.EXPORTER):
        with pytest.raises(InputError):
            exporter.render(p, catalog, ExportOptions(languages=()))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(org=HOSTILE, url=HOSTILE, domain=HOSTILE)
def test_hostile_strings_round_trip(catalog, org, url, domain):
    p = make_policy(org, url, domain)
    url, org = p.endpoints[0].url, p.organization
    arts = {a.path: a.data for a in gpo.EXPORTER.render(p, catalog, ExportOptions(languages=("fr-FR",)))}
    arts.update({a.path: a.data for a in intune.EXPORTER.render(p, catalog, ExportOptions())})

    # ADML: the organization in the description
    for lang in ("en-US", "fr-FR"):
        root = etree.fromstring(arts[f"gpo/PolicyDefinitions/{lang}/MistralSov.adml"])
        assert org in root.find(f"{PD}description").text

    # Registry.pol
    entries = parse_pol(arts["gpo/Machine/Registry.pol"])
    assert (wr.OUR_KEY + r"\ApprovedEndpoints", "ep-1", 1, url) in entries
    assert (wr.OUR_KEY, "DefaultEndpoint", 1, url) in entries
    assert (r"Software\Policies\Microsoft\Edge\URLBlocklist", "1", 1, BLOCKED) in entries
    assert (wr.OUR_KEY + r"\AllowedRegions", "1", 1, domain) in entries

    # .reg
    pairs = parse_reg_values(arts["gpo/mistral-sov.reg"])
    assert ("ep-1", url) in pairs and ("DefaultEndpoint", url) in pairs and ("1", domain) in pairs
    assert ("1", BLOCKED) in pairs

    # Intune JSON + OMA payloads
    profile = json.loads(arts["intune/admx-ingestion.json"])
    payloads = {s["displayName"]: s["value"] for s in profile["omaSettings"]}
    data = etree.fromstring(f"<r>{payloads['ApprovedEndpoints']}</r>".encode()).find("data")
    assert data.get("value").split("\uf000") == ["ep-1", url]
    data = etree.fromstring(f"<r>{payloads['DefaultEndpoint']}</r>".encode()).find("data")
    assert data.get("value") == url
    edge = json.loads(arts["intune/settings-catalog-edge.json"])
    listed = [
        v["value"]
        for s in edge["settings"]
        for c in s["settingInstance"]["choiceSettingValue"]["children"]
        for v in c.get("simpleSettingCollectionValue", [])
    ]
    assert BLOCKED in listed

    # PowerShell literals
    script = arts["intune/detect.ps1"][3:].decode("utf-8")
    assert f"Data = {intune.ps_string(url)}" in script
    assert ps_unliteral(intune.ps_string(url)) == url


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_ps_string_round_trip(text):
    assert ps_unliteral(intune.ps_string(text)) == text


def test_hostile_registry_pol_accepted_by_samba(catalog, tmp_path):
    """The strict reference parser agrees on a fixed set of hostile strings."""
    if (
        not Path(SAMBA_PY).exists()
        or subprocess.run([SAMBA_PY, "-c", "import samba.dcerpc.preg"], capture_output=True, check=False).returncode
    ):
        pytest.skip("python3-samba not installed")
    hostile = ['a"b\\c]d;e[f', "<x>&amp;</x>", "\u4e2d\u6587\U0001f600", "'" * 50, "]" * 300, "x" * 2000]
    for i, text in enumerate(hostile):
        p = make_policy("Org", text, text)
        pol = tmp_path / f"{i}.pol"
        pol.write_bytes(
            next(
                a.data
                for a in gpo.EXPORTER.render(p, catalog, ExportOptions(languages=()))
                if a.path == "gpo/Machine/Registry.pol"
            )
        )
        script = (
            "import sys; from samba.dcerpc import preg; from samba.ndr import ndr_unpack, ndr_pack;"
            "d=open(sys.argv[1],'rb').read(); f=ndr_unpack(preg.file,d); assert ndr_pack(f)==d;"
            "sys.stdout.buffer.write('\\n'.join(e.data for e in f.entries if e.type==1).encode('utf-8','surrogatepass'))"
        )
        out = subprocess.run([SAMBA_PY, "-c", script, str(pol)], capture_output=True, check=True).stdout
        assert text in out.decode("utf-8").split("\n") or "\n" in text
