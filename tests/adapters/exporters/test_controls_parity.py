"""Channel parity: every channel carries exactly the controls-table rows it lists, read back
by independent consumers (Samba's Registry.pol parser, a .reg parser, the tree-sitter
PowerShell grammar, json/plistlib) and compared with the table, per platform.

- Windows: Registry.pol (Machine and User) == .reg == detect.ps1 == remediate.ps1 == the
  table's Windows rows, key by key and value by value; the settings catalog carries the rows
  listing ``intune_catalog`` minus those without a known ID (each announced by a warning).
- Linux and macOS: managed JSON / policies.json == the mobileconfig payload == the table.
"""

from __future__ import annotations

import json
import plistlib
import re
import subprocess
from pathlib import Path

import controls_expect as expect
import pytest

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import get_exporter
from mistral_sov.adapters.exporters.controls import emitted, export_warnings
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"
SAMBA_PY = "/usr/bin/python3"
OUR_KEY = "Software\\Policies\\Mistral AI\\Sovereign"


def _variants():
    base = load_policy(DATA, load_catalog()).policy
    out = {"default": base}
    off = base.model_copy(deep=True)
    off.browsers.disable_builtin_ai = False
    off.windows.disable_recall = False
    off.windows.disable_copilot = False
    out["switches-off"] = off
    some = base.model_copy(deep=True)
    some.browsers.chrome = False
    some.local_inference.enforce_local_only = True
    out["no-chrome-local-only"] = some
    return out


VARIANTS = _variants()


def _render(policy) -> dict[str, bytes]:
    catalog = load_catalog()
    arts: dict[str, bytes] = {}
    for fmt in ("gpo", "intune", "browsers"):
        arts.update({a.path: a.data for a in get_exporter(fmt).render(policy, catalog, ExportOptions(languages=()))})
    return arts


# --------------------------------------------------------------------------- readers


def samba_entries(pol: bytes, tmp_path: Path) -> list[tuple[str, str, int, object]]:
    """Registry.pol records as Samba's MS-GPREG NDR parser reads them (strict, byte-exact)."""
    if not Path(SAMBA_PY).exists():
        pytest.fail("python3-samba (/usr/bin/python3) is required: .ci/run installs it")
    f = tmp_path / "Registry.pol"
    f.write_bytes(pol)
    script = (
        "import json,sys,struct\n"
        "from samba.dcerpc import preg\nfrom samba.ndr import ndr_unpack, ndr_pack\n"
        "d=open(sys.argv[1],'rb').read(); p=ndr_unpack(preg.file,d); assert ndr_pack(p)==d\n"
        "out=[]\n"
        "for e in p.entries:\n"
        "    v=e.data\n"
        "    if e.type==4 and not isinstance(v,int): v=struct.unpack('<I',bytes(v))[0]\n"
        "    out.append([e.keyname,e.valuename,e.type,v])\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run([SAMBA_PY, "-c", script, str(f)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    return [tuple(e) for e in json.loads(res.stdout)]  # type: ignore[misc]


def reg_entries(data: bytes) -> list[tuple[str, str, object]]:
    """(key with hive, name, value) from a .reg file; a ``[-key]`` line yields (``-key``, '', '')."""
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    out: list[tuple[str, str, object]] = []
    key = ""
    for line in text.split("\r\n"):
        if not line or line.startswith(";") or line.startswith("Windows Registry Editor"):
            continue
        if line.startswith("[-"):
            out.append(("-" + line[2:-1], "", ""))
            key = ""
        elif line.startswith("["):
            key = line[1:-1]
        else:
            m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"=(?:"((?:[^"\\]|\\.)*)"|dword:([0-9a-f]{8}))', line)
            assert m and key, line
            unescape = lambda s: re.sub(r"\\(.)", r"\1", s)  # noqa: E731
            value: object = unescape(m.group(2)) if m.group(2) is not None else int(m.group(3), 16)
            out.append((key, unescape(m.group(1)), value))
    return out


def ps_tables(script: bytes) -> tuple[list[dict], list[dict]]:
    """The ``$Values`` and ``$Lists`` hashtables of detect.ps1/remediate.ps1, read from the
    tree-sitter PowerShell syntax tree (a syntax error fails here)."""
    import tree_sitter_powershell
    from tree_sitter import Language, Parser

    assert script.startswith(b"\xef\xbb\xbf")
    src = script[3:]
    tree = Parser(Language(tree_sitter_powershell.language())).parse(src)
    assert not tree.root_node.has_error, "PowerShell syntax error"

    def text(n) -> str:
        return src[n.start_byte : n.end_byte].decode("utf-8")

    def scalar(n) -> object:
        t = text(n).strip()
        if t.startswith("'"):
            return t[1:-1].replace("''", "'")
        if t in ("$true", "$false"):
            return t == "$true"
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        raise AssertionError(f"unexpected PowerShell value {t!r}")

    def hash_of(n) -> dict:
        out: dict = {}
        body = next((c for c in n.children if c.type == "hash_literal_body"), None)
        for entry in body.children if body else []:
            if entry.type != "hash_entry":
                continue
            key = text(entry.child_by_field_name("key") or entry.children[0]).strip()
            value = entry.children[2]
            nested = []

            def find(x, acc=nested):
                if x.type == "hash_literal_expression":
                    acc.append(hash_of(x))
                    return
                for c in x.children:
                    find(c, acc)

            if text(value).lstrip().startswith("@("):
                find(value)
                out[key] = nested
            else:
                out[key] = scalar(value)
        return out

    tops: list[dict] = []

    def collect(n, depth=0):
        if n.type == "hash_literal_expression":
            tops.append(hash_of(n))
            return
        for c in n.children:
            collect(c, depth + 1)

    collect(tree.root_node)
    values = [h for h in tops if set(h) == {"Scope", "Key", "Name", "Kind", "Data"}]
    lists = [h for h in tops if set(h) == {"Scope", "Key", "Named", "Entries"}]
    return values, lists


def third_party(key: str) -> bool:
    return not key.startswith(OUR_KEY)


# --------------------------------------------------------------------------- Windows


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_windows_channels_carry_exactly_the_table(variant, tmp_path):
    policy, catalog = VARIANTS[variant], load_catalog()
    arts = _render(policy)
    expected = {scope: [e for e in expect.registry_entries(policy, catalog, scope)] for scope in ("Machine", "User")}
    # Registry.pol, read back by Samba, key by key
    for scope in ("Machine", "User"):
        got = [e for e in samba_entries(arts[f"gpo/{scope}/Registry.pol"], tmp_path) if third_party(e[0])]
        assert got == expected[scope], scope
    # .reg: the same values (lists are deleted then recreated)
    hive = {"Machine": "HKEY_LOCAL_MACHINE", "User": "HKEY_CURRENT_USER"}
    want_reg = []
    for scope, entries in expected.items():
        for key, name, _t, data in entries:
            if name == "**delvals.":
                want_reg.append((f"-{hive[scope]}\\{key}", "", ""))
            else:
                want_reg.append((f"{hive[scope]}\\{key}", name, data))
    got_reg = [e for e in reg_entries(arts["gpo/mistral-sov.reg"]) if third_party(e[0].lstrip("-").split("\\", 1)[1])]
    assert got_reg == want_reg
    # detect.ps1 and remediate.ps1 test and write exactly the same values
    want_values = {
        (scope, k, n, "DWord" if t == 4 else "String", d)
        for scope, entries in expected.items()
        for k, n, t, d in entries
        if n != "**delvals." and not any(e[0] == k and e[1] == "**delvals." for e in entries)
    }
    want_lists = {
        (scope, k, tuple(sorted(d for kk, n, _t, d in entries if kk == k and n != "**delvals.")))
        for scope, entries in expected.items()
        for k, n, _t, _d in entries
        if n == "**delvals."
    }
    assert want_lists and (want_values or variant == "switches-off")
    for script in ("intune/detect.ps1", "intune/remediate.ps1"):
        values, lists = ps_tables(arts[script])
        got_values = {(v["Scope"], v["Key"], v["Name"], v["Kind"], v["Data"]) for v in values if third_party(v["Key"])}
        got_lists = {
            (x["Scope"], x["Key"], tuple(sorted(e["D"] for e in x["Entries"]))) for x in lists if third_party(x["Key"])
        }
        assert got_values == want_values, script
        assert got_lists == want_lists, script


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_settings_catalog_carries_the_table_minus_announced_gaps(variant):
    from mistral_sov.adapters.exporters.catalog_ids import load_ids

    policy = VARIANTS[variant]
    arts = _render(policy)
    ids = load_ids()
    carried = set()
    for path, data in arts.items():
        if path.startswith("intune/settings-catalog-"):
            for s in json.loads(data)["settings"]:
                carried.add(s["settingInstance"]["settingDefinitionId"])
    rows = emitted(policy, "intune_catalog")
    lists = expect.lists(policy, load_catalog())
    want = {
        ids[r.label].id
        for r in rows
        if r.label in ids and not (r.type == "list" and not expect.value_of({"value": r.value}, lists))
    }
    assert carried == want
    gaps = [r for r in rows if r.label not in ids]
    warnings = export_warnings(policy, ["intune"])
    for r in gaps:
        assert any(r.policy in w and "no known settings-catalog ID" in w for w in warnings), r.label


# --------------------------------------------------------------------------- Linux and macOS


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_linux_and_macos_channels_carry_exactly_the_table(variant):
    policy, catalog = VARIANTS[variant], load_catalog()
    arts = _render(policy)
    values = expect.lists(policy, catalog)
    for browser in ("chrome", "edge", "firefox"):
        linux_channel = "policies_json" if browser == "firefox" else "managed_json"
        if not getattr(policy.browsers, browser):
            assert f"browsers/{browser}.mobileconfig" not in arts
            continue
        linux = json.loads(arts[f"browsers/{browser}-{'policies' if browser == 'firefox' else 'managed'}.json"])
        if browser == "firefox":
            linux = linux["policies"]
        want = {
            r["policy"]: expect.value_of(r, values)
            for r in expect.wanted_rows(policy, linux_channel)
            if r["product"] == browser
        }
        assert linux == want, browser
        (payload,) = plistlib.loads(arts[f"browsers/{browser}.mobileconfig"])["PayloadContent"]
        mac = {k: v for k, v in payload.items() if not k.startswith("Payload") and k != "EnterprisePoliciesEnabled"}
        want_mac = {
            r["policy"]: expect.value_of(r, values)
            for r in expect.wanted_rows(policy, "mobileconfig")
            if r["product"] == browser
        }
        assert mac == want_mac, browser


def test_every_platform_carries_the_same_controls():
    """Per platform, the set of (product, policy) is the same on every channel of it."""
    policy = VARIANTS["default"]
    windows = [expect.controls_of(expect.wanted_rows(policy, ch)) for ch in ("registry_pol", "reg", "intune_scripts")]
    assert windows[0] == windows[1] == windows[2]
    linux = expect.controls_of(expect.wanted_rows(policy, "managed_json")) | expect.controls_of(
        expect.wanted_rows(policy, "policies_json")
    )
    mac = expect.controls_of(expect.wanted_rows(policy, "mobileconfig"))
    assert linux == mac
    browsers_on_windows = {c for c in windows[0] if c[0] != "windows"}
    assert browsers_on_windows == linux  # the Windows channel now carries Firefox WebsiteFilter too
    assert ("firefox", "WebsiteFilter") in browsers_on_windows


def test_powershell_grammar_catches_a_syntax_error():
    """The tree-sitter judge is not blind: a script with one brace removed fails to parse."""
    script = _render(VARIANTS["default"])["intune/detect.ps1"]
    broken = script.replace(b"if (Test-Skip $v.Scope) { continue }", b"if (Test-Skip $v.Scope) { continue ", 1)
    assert broken != script
    with pytest.raises(AssertionError, match="syntax error"):
        ps_tables(broken)
