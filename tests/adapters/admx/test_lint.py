"""ADMX linter: accepts our templates, and catches each seeded defect (one test per rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistral_sov.adapters.admx.lint import lint_admx
from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import gpo
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "tests/data/policy-export.yaml"


@pytest.fixture(scope="module")
def pristine():
    from mistral_sov.adapters.policyfile import load_policy

    catalog = load_catalog()
    policy = load_policy(POLICY, catalog).policy
    return {
        a.path: a.data
        for a in gpo.EXPORTER.render(policy, catalog, ExportOptions())
        if a.path.startswith("gpo/PolicyDefinitions/")
    }


@pytest.fixture
def pd(pristine, tmp_path) -> Path:
    for rel, data in pristine.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return tmp_path / "gpo/PolicyDefinitions"


def corrupt(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_bytes().decode("utf-8")
    assert old in text, old
    path.write_bytes(text.replace(old, new, count).encode("utf-8"))


def rules(diags, severity="error"):
    return {d.field for d in diags if d.severity == severity}


def lint(pd: Path):
    return lint_admx(pd / "MistralSov.admx")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_clean(pd):
    assert lint(pd) == []


def test_explicit_adml_dir(pd, tmp_path):
    admx = tmp_path / "elsewhere/MistralSov.admx"
    admx.parent.mkdir()
    admx.write_bytes((pd / "MistralSov.admx").read_bytes())
    assert lint_admx(admx, pd) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert rules(lint_admx(admx, empty)) == {"language"}


def test_xsd_violation_has_line(pd):
    corrupt(
        pd / "MistralSov.admx",
        'class="Machine" displayName="$(string.BlockPublicAI)"',
        'class="Computer" displayName="$(string.BlockPublicAI)"',
    )
    diags = lint(pd)
    assert rules(diags) == {"xsd"}
    assert diags[0].location.line == line_of(pd / "MistralSov.admx", 'class="Computer"')


def test_hyphenated_name_rejected_by_xsd(pd):
    corrupt(pd / "MistralSov.admx", '<policy name="BlockPublicAI"', '<policy name="Block-Public-AI"')
    assert "xsd" in rules(lint(pd))


def test_doctype(pd):
    corrupt(pd / "MistralSov.admx", "?>\r\n", "?>\r\n<!DOCTYPE policyDefinitions>\r\n")
    assert "doctype" in rules(lint(pd))


def test_duplicate_policy(pd):
    corrupt(pd / "MistralSov.admx", '<policy name="BlockPublicAI"', '<policy name="EnforceLocalOnly"')
    diags = lint(pd)
    assert "duplicate" in rules(diags)
    assert any("duplicate policy 'EnforceLocalOnly'" in d.message for d in diags)


def test_duplicate_string_in_adml(pd):
    corrupt(pd / "fr-FR/MistralSov.adml", '<string id="BlockPublicAI">', '<string id="EnforceLocalOnly">')
    diags = lint(pd)
    assert any(d.field == "duplicate" and d.location.file.endswith("fr-FR/MistralSov.adml") for d in diags)


def test_dangling_category(pd):
    corrupt(pd / "MistralSov.admx", '<parentCategory ref="Cat_MistralAI"/>', '<parentCategory ref="Cat_Nowhere"/>')
    assert rules(lint(pd)) == {"category"}


def test_dangling_supported_on(pd):
    corrupt(
        pd / "MistralSov.admx", '<supportedOn ref="SUPPORTED_MistralSov_1_0"/>', '<supportedOn ref="SUPPORTED_Win99"/>'
    )
    assert rules(lint(pd)) == {"supportedOn"}


def test_undeclared_prefix(pd):
    corrupt(
        pd / "MistralSov.admx",
        '<supportedOn ref="SUPPORTED_MistralSov_1_0"/>',
        '<supportedOn ref="windows:SUPPORTED_Windows10"/>',
    )
    diags = lint(pd)
    assert rules(diags) == {"prefix"}
    assert "using" in diags[0].hint


def test_own_prefix(pd):
    corrupt(
        pd / "MistralSov.admx",
        '<parentCategory ref="Cat_MistralAI"/>',
        '<parentCategory ref="mistralsov:Cat_MistralAI"/>',
    )
    assert rules(lint(pd)) == {"prefix"}


def test_missing_string(pd):
    corrupt(pd / "de-DE/MistralSov.adml", '<string id="BlockPublicAI_Help">', '<string id="BlockPublicAI_Hilfe">')
    diags = lint(pd)
    assert "string" in rules(diags)
    assert any("de-DE" in d.message and "BlockPublicAI_Help" in d.message for d in diags)
    assert "language" in rules(diags, "warning")  # and the languages disagree


def test_missing_presentation(pd):
    corrupt(pd / "en-US/MistralSov.adml", '<presentation id="AllowedRegions">', '<presentation id="Regions">')
    assert rules(lint(pd)) == {"presentation"}


def test_refid_mismatch(pd):
    corrupt(pd / "en-US/MistralSov.adml", 'refId="AllowedRegionsList"', 'refId="RegionsList"')
    diags = lint(pd)
    assert rules(diags) == {"refid"}
    assert len([d for d in diags if d.field == "refid"]) == 2  # unknown refId + element without control


def test_control_type_mismatch(pd):
    corrupt(
        pd / "en-US/MistralSov.adml",
        '<listBox refId="AllowedRegionsList">Regions:</listBox>',
        '<checkBox refId="AllowedRegionsList">Regions:</checkBox>',
    )
    diags = lint(pd)
    assert rules(diags) == {"refid"}
    assert "cannot present the <list>" in diags[0].message and "<listBox>" in diags[0].hint


def test_combobox_warning(pd):
    corrupt(
        pd / "en-US/MistralSov.adml", '<textBox refId="DefaultEndpointUrl">', '<comboBox refId="DefaultEndpointUrl">'
    )
    corrupt(pd / "en-US/MistralSov.adml", "</textBox>", "</comboBox>")
    diags = lint(pd)
    assert rules(diags) == set() and rules(diags, "warning") == {"combobox"}


def test_hive_in_key(pd):
    corrupt(
        pd / "MistralSov.admx",
        r'key="Software\Policies\Mistral AI\Sovereign\AllowedRegions"',
        r'key="HKEY_LOCAL_MACHINE\Software\Policies\Mistral AI\Sovereign\AllowedRegions"',
    )
    assert rules(lint(pd)) == {"hive"}


def test_intune_blocked_path_warning(pd):
    corrupt(
        pd / "MistralSov.admx",
        r'key="Software\Policies\Mistral AI\Sovereign\AllowedRegions"',
        r'key="Software\Policies\Microsoft\Edge\URLAllowlist"',
    )
    diags = lint(pd)
    assert rules(diags) == set() and rules(diags, "warning") == {"intune-path"}


def test_language_lacking_extra_strings_warning(pd):
    corrupt(
        pd / "en-US/MistralSov.adml",
        '<string id="Cat_MistralAI">',
        '<string id="Extra_Only_In_English">x</string><string id="Cat_MistralAI">',
    )
    diags = lint(pd)
    assert rules(diags) == set()
    warned = [d for d in diags if d.field == "language"]
    assert {Path(d.location.file).parent.name for d in warned} == {"fr-FR", "de-DE"}


def test_undefined_string_reference_in_adml_root(pd):
    corrupt(pd / "MistralSov.admx", 'displayName="$(string.Cat_Sovereignty)"', 'displayName="$(string.Cat_Sov)"')
    diags = lint(pd)
    assert rules(diags) == {"string"} and len(diags) == 3  # once per language


def test_malformed_xml_is_input_error(pd):
    corrupt(pd / "MistralSov.admx", "</policies>", "</policiez>")
    with pytest.raises(InputError) as info:
        lint(pd)
    assert info.value.location.line > 1 and "well-formed" in info.value.message


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        lint_admx(tmp_path / "nope.admx")


def test_foreign_namespace_forms_accepted(pd):
    # admxgen's namespace and Chromium's "no namespace" both validate after the rewrite
    corrupt(
        pd / "MistralSov.admx",
        "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions",
        "http://www.microsoft.com/GroupPolicy/PolicyDefinitions",
    )
    assert lint(pd) == []
    corrupt(pd / "MistralSov.admx", ' xmlns="http://www.microsoft.com/GroupPolicy/PolicyDefinitions"', "")
    assert lint(pd) == []
