"""Managed policy readers: Registry.pol (proven against Samba's MS-GPREG parser), the
``winreg`` reader (driven by a registry double filled from the exported Registry.pol),
managed.json and the macOS profile — all must yield the same registry view."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters import managed
from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.adapters.exporters import get_exporter
from mistral_sov.adapters.managed import files, registry_pol, winreg_reader
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions
from mistral_sov.services.effective import REG_DWORD, REG_SZ, combine, decode_source

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "tests/data/policy-export.yaml"
KEY = managed.POLICY_KEY
SAMBA_PY = "/usr/bin/python3"
SAMBA_READ = """
import json, sys
from samba.dcerpc import preg
from samba.ndr import ndr_unpack
f = ndr_unpack(preg.file, open(sys.argv[1], "rb").read())
print(json.dumps([[e.keyname, e.valuename, e.type, e.data] for e in f.entries]))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    catalog = load_catalog()
    policy = load_policy(POLICY, catalog).policy
    root = tmp_path_factory.mktemp("bundle")
    for fmt in ("gpo", "managed"):
        for art in get_exporter(fmt).render(policy, catalog, ExportOptions()):
            (root / art.path).parent.mkdir(parents=True, exist_ok=True)
            (root / art.path).write_bytes(art.data)
    return root


def samba_entries(path: Path) -> list[list[Any]]:
    if (
        not Path(SAMBA_PY).exists()
        or subprocess.run([SAMBA_PY, "-c", "import samba.dcerpc.preg"], check=False).returncode
    ):
        if os.environ.get("CI") == "true":
            pytest.fail("python3-samba is required in CI")
        pytest.skip("python3-samba not installed")
    out = subprocess.run([SAMBA_PY, "-c", SAMBA_READ, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_registry_pol_reader_agrees_with_samba(bundle):
    pol = bundle / "gpo/Machine/Registry.pol"
    ours = registry_pol.parse_records(pol.read_bytes(), str(pol))
    theirs = samba_entries(pol)
    assert len(ours) == len(theirs) > 10
    for (key, name, type_, raw), (skey, sname, stype, sdata) in zip(ours, theirs, strict=True):
        assert (key, name, type_) == (skey, sname, stype)
        assert registry_pol.decode_data(type_, raw, "x", name) == sdata


def test_registry_pol_directives_follow_the_group_policy_client():
    def rec(key: str, name: str, type_: int, data: bytes) -> bytes:
        return wr._pol_record(key, name, type_, data)

    sz = lambda s: (s + "\x00").encode("utf-16-le")  # noqa: E731
    data = wr.POL_HEADER + b"".join(
        [
            rec(KEY + r"\ApprovedModels", "old", REG_SZ, sz("a" * 64)),
            rec(KEY + r"\ApprovedModels", "**delvals.", REG_SZ, sz(" ")),
            rec(KEY.upper() + r"\APPROVEDMODELS", "new", REG_SZ, sz("b" * 64)),
            rec(KEY, "EnforceLocalOnly", REG_DWORD, struct.pack("<I", 1)),
            rec(KEY, "BlockPublicAI", REG_DWORD, struct.pack("<I", 1)),
            rec(KEY, "**del.BlockPublicAI", REG_SZ, sz(" ")),
            rec(KEY, "**soft.EnforceLocalOnly", REG_DWORD, struct.pack("<I", 0)),
            rec(r"Software\Policies\Other", "X", REG_DWORD, struct.pack("<I", 1)),
        ]
    )
    state = registry_pol.state_from_pol(data, KEY)
    assert state[""] == {"EnforceLocalOnly": (REG_DWORD, 1)}
    assert state["ApprovedModels"] == {"new": (REG_SZ, "b" * 64)}


class FakeWinreg:
    """A registry double with winreg's API (OpenKey/QueryInfoKey/EnumValue/EnumKey)."""

    HKEY_LOCAL_MACHINE = "HKLM"
    HKEY_CURRENT_USER = "HKCU"
    KEY_READ = 0x20019
    KEY_WOW64_64KEY = 0x100

    def __init__(self, hives: dict[str, dict[str, dict[str, tuple[int, Any]]]]):
        self.keys = {(h, k.lower()): v for h, tree in hives.items() for k, v in tree.items()}
        self.names = {(h, k.lower()): k for h, tree in hives.items() for k in tree}
        self.opened = 0

    def OpenKey(self, parent, sub, reserved=0, access=0):
        assert access & self.KEY_WOW64_64KEY, "the 64-bit registry view must be read"
        hive, path = (parent, sub) if isinstance(parent, str) else (parent[0], parent[1] + "\\" + sub)
        if (hive, path.lower()) not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        self.opened += 1
        return (hive, self.names[(hive, path.lower())])

    def CloseKey(self, key):
        self.opened -= 1

    def _children(self, key):
        hive, path = key
        prefix = path.lower() + "\\"
        return sorted(
            {
                self.names[(h, k)][len(prefix) :].split("\\")[0]
                for h, k in self.keys
                if h == hive and k.startswith(prefix)
            }
        )

    def QueryInfoKey(self, key):
        return len(self._children(key)), len(self.keys[(key[0], key[1].lower())]), 0

    def EnumValue(self, key, i):
        name, (type_, data) = list(self.keys[(key[0], key[1].lower())].items())[i]
        return name, data, type_

    def EnumKey(self, key, i):
        return self._children(key)[i]


def _registry_from_state(state, hive="HKLM"):
    return {hive: {(KEY + ("\\" + sub if sub else "")): values for sub, values in state.items()}}


def test_winreg_reader_reads_what_the_registry_pol_writes(bundle):
    pol_state = registry_pol.read_pol(bundle / "gpo/Machine/Registry.pol", KEY)
    fake = FakeWinreg(_registry_from_state(pol_state))
    read = winreg_reader.read_hive(fake, "HKLM")
    assert read == pol_state
    assert fake.opened == 0, "every opened key is closed"
    assert winreg_reader.read_hive(fake, "HKCU") is None  # not configured


def test_every_os_source_decodes_to_the_same_settings(bundle):
    pol = managed.read_file(bundle / "gpo/Machine/Registry.pol")
    fake = FakeWinreg(_registry_from_state(pol.state))
    sources = [
        pol,
        managed.ManagedSource("HKLM", winreg_reader.read_hive(fake, "HKLM") or {}),
        managed.read_file(bundle / "managed/managed.json"),
        managed.read_file(bundle / "managed/ai.mistral.sovereign.mobileconfig"),
    ]
    decoded = [decode_source(s) for s in sources]
    for d in decoded[1:]:
        assert (d.enforce_local_only, d.block_public_ai, d.default_endpoint) == (
            decoded[0].enforce_local_only,
            decoded[0].block_public_ai,
            decoded[0].default_endpoint,
        )
        assert (d.approved_endpoints, d.allowed_regions, d.approved_models) == (
            decoded[0].approved_endpoints,
            decoded[0].allowed_regions,
            decoded[0].approved_models,
        )
    assert decoded[0].approved_models == (
        ("mistral-7b-instruct-q4", "3e0039fd" + decoded[0].approved_models[0][1][8:]),
    )


def test_system_sources_hklm_wins_and_machine_policies_in_hkcu_are_ignored(monkeypatch):
    hklm = {"": {"EnforceLocalOnly": (REG_DWORD, 1)}}
    hkcu = {"": {"EnforceLocalOnly": (REG_DWORD, 0), "BlockPublicAI": (REG_DWORD, 0)}}
    fake = FakeWinreg({**_registry_from_state(hklm, "HKLM"), **_registry_from_state(hkcu, "HKCU")})
    import sys

    monkeypatch.setitem(sys.modules, "winreg", fake)
    sources = managed.system_sources("win32")
    assert [s.where.split("\\")[0] for s in sources] == ["HKLM", "HKCU"]
    settings_ = combine(sources)
    assert settings_.enforce_local_only is True and settings_.block_public_ai is None
    assert any("Machine policy" in w and "BlockPublicAI" in w for w in settings_.warnings)


def test_managed_json_on_linux_must_be_root_owned_and_not_group_writable(tmp_path, monkeypatch):
    path = tmp_path / "managed.json"
    path.write_text('{"EnforceLocalOnly": true}', encoding="utf-8")
    monkeypatch.setattr(managed, "MANAGED_JSON", path)
    path.chmod(0o644)
    assert [s.where for s in managed.system_sources("linux")] == [str(path)]
    path.chmod(0o666)
    with pytest.raises(InputError, match="writable by a non-root user"):
        managed.system_sources("linux")
    monkeypatch.setattr(managed, "MANAGED_JSON", tmp_path / "absent.json")
    assert managed.system_sources("linux") == []


def test_macos_profile_payload_is_read_from_managed_preferences(bundle, tmp_path, monkeypatch):
    import plistlib

    profile = plistlib.loads((bundle / "managed/ai.mistral.sovereign.mobileconfig").read_bytes())
    assert profile["PayloadType"] == "Configuration" and profile["PayloadScope"] == "System"
    (payload,) = profile["PayloadContent"]
    prefs = tmp_path / "ai.mistral.sovereign.plist"  # what macOS writes from the payload
    prefs.write_bytes(plistlib.dumps(payload))
    monkeypatch.setattr(managed, "MACOS_PLIST", prefs)
    monkeypatch.setattr(managed, "MANAGED_JSON", tmp_path / "absent.json")
    (source,) = managed.system_sources("darwin")
    assert (
        decode_source(source).approved_models
        == decode_source(managed.read_file(bundle / "managed/managed.json")).approved_models
    )


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "header"),
        (b"PReg\x02\x00\x00\x00", "header"),
        (wr.POL_HEADER + "[".encode("utf-16-le") + b"S\x00", "unterminated"),
        (
            wr.POL_HEADER + wr._pol_record(KEY, "EnforceLocalOnly", REG_DWORD, b"\x01\x00\x00\x00")[:-6],
            "ends first|expected",
        ),
        (wr.POL_HEADER + b"x", "expected"),
    ],
)
def test_damaged_registry_pol_is_a_clear_error(data, message):
    with pytest.raises(InputError, match=message):
        registry_pol.state_from_pol(data, KEY)


def test_wrong_dword_size_in_registry_pol():
    data = wr.POL_HEADER + wr._pol_record(KEY, "EnforceLocalOnly", REG_DWORD, b"\x01\x00\x00")
    with pytest.raises(InputError, match="REG_DWORD must be 4 bytes"):
        registry_pol.state_from_pol(data, KEY)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_registry_pol_parser_never_crashes(tail):
    try:
        registry_pol.state_from_pol(wr.POL_HEADER + tail, KEY)
    except InputError:
        pass


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=20),
            st.one_of(
                st.integers(0, 2**32 - 1),
                st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30),
            ),
        ),
        max_size=8,
    )
)
def test_registry_pol_round_trip_of_any_values(values):
    records = [wr._pol_record(KEY, n, *wr._pol_data(v)) for n, v in values]
    state = registry_pol.state_from_pol(wr.POL_HEADER + b"".join(records), KEY)
    expected: dict[str, Any] = {}
    for n, v in values:
        if n.lower().startswith("**"):
            continue
        for old in [k for k in expected if k.lower() == n.lower()]:
            del expected[old]
        expected[n] = (REG_DWORD if isinstance(v, int) else REG_SZ, v)
    assert state.get("", {}) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"EnforceLocalOnly": true,}', "not valid JSON"),
        ("[1, 2]", "must be an object"),
        ('{"EnforceLocalOnly": true, "EnforceLocalOnly": false}', "duplicate key"),
        ('{"EnforceLocalOnly": true, "enforcelocalonly": false}', "name the same setting"),
        ('{"ApprovedModels": {"m": "x", "M": "y"}}', "name the same setting"),
        ("\udcff", "UTF-8"),
    ],
)
def test_bad_managed_json_is_a_clear_error_with_position(tmp_path, text, message):
    path = tmp_path / "managed.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputError, match=message) as info:
        files.read_json(path)
    if message == "not valid JSON":
        assert info.value.location is not None and info.value.location.line == 1 and info.value.location.column > 1


def test_bad_plist_is_a_clear_error(tmp_path):
    path = tmp_path / "x.plist"
    path.write_bytes(b"<plist><dict><key>a</key>")
    with pytest.raises(InputError, match="not a valid property list"):
        files.read_plist(path)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**33) | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "EnforceLocalOnly",
                "BlockPublicAI",
                "DefaultEndpoint",
                "ApprovedEndpoints",
                "AllowedRegions",
                "ApprovedModels",
                "x",
            ]
        ),
        _json_values,
        max_size=6,
    )
)
def test_any_managed_json_document_is_decoded_or_refused_cleanly(doc):
    try:
        decode_source(managed.ManagedSource("managed.json", files.state_from_mapping(doc, "managed.json"), "json"))
    except InputError as exc:
        assert exc.message and exc.exit_status == 2  # a clear usage error, never a traceback
