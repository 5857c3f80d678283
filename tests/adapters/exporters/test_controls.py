"""The controls table: the shipped rows are sourced and well-formed, hostile tables are
refused at their line (unknown channel, missing source, malformed value …), a control an
enabled product cannot enforce locally is exit 2 with the row named, and gaps are warned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import catalog_ids, controls
from mistral_sov.adapters.exporters.control_table import parse_table
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.errors import InputError
from mistral_sov.resources import read_text

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"
ROW = """
  - product: chrome
    policy: HelpMeWriteSettings
    control: builtin_ai_off
    type: int
    value: 2
    allowed: [0, 1, 2]
    platforms: [windows, linux, macos]
    channels: [registry_pol, reg, intune_scripts, managed_json, mobileconfig]
    min_version: "121"
    source: https://source.chromium.org/x/HelpMeWriteSettings.yaml
"""


def _policy():
    return load_policy(DATA, load_catalog()).policy


def test_shipped_table_is_sourced_and_current():
    rows = controls.load_table()
    assert len(rows) >= 30
    for r in rows:
        assert r.source.startswith("https://"), r.label
        assert r.min_version, r.label
    labels = {r.label: r for r in rows}
    # the findings: cloud-only and deprecated policies are documented, never emitted
    assert labels["chrome:GenAiDefaultSettings"].cloud_only and not labels["chrome:GenAiDefaultSettings"].channels
    assert "HelpMeWriteSettings" in labels["chrome:GenAiDefaultSettings"].instead
    assert (
        labels["windows:TurnOffWindowsCopilot"].deprecated_by and not labels["windows:TurnOffWindowsCopilot"].channels
    )
    assert labels["firefox:GenerativeAI"].deprecated_by == "AIControls"
    assert "registry_pol" in labels["firefox:WebsiteFilter"].channels
    for name in ("RemoveMicrosoftCopilotApp", "DisableAIDataAnalysis", "DisableClickToDo"):
        assert labels[f"windows:{name}"].channels
    assert "registry_pol" in labels["edge:Microsoft365CopilotChatIconEnabled"].channels


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda r: r.replace("managed_json, mobileconfig", "managed_json, telegraph"), "unknown or repeated channel"),
        (
            lambda r: r.replace("    source: https://source.chromium.org/x/HelpMeWriteSettings.yaml\n", ""),
            "lacks source",
        ),
        (lambda r: r.replace("source: https://", "source: http://"), "https://"),
        (lambda r: r.replace("value: 2", 'value: "2"'), "malformed value"),
        (lambda r: r.replace("value: 2", "value: 7"), "allowed values"),
        (lambda r: r.replace("value: 2", "value: true"), "malformed value"),
        (lambda r: r.replace("type: int", "type: float"), "unknown type"),
        (lambda r: r.replace("control: builtin_ai_off", "control: everything_off"), "unknown control"),
        (lambda r: r.replace("product: chrome", "product: netscape"), "unknown product"),
        (lambda r: r + "    colour: blue\n", "unknown field"),
        (lambda r: r.replace("registry_pol, reg, ", "registry_pol, "), "go together"),
        (lambda r: r + "    cloud_only: true\n", "never emitted"),
        (lambda r: r.replace("platforms: [windows, linux, macos]", "platforms: [linux, macos]"), "is for windows"),
        (lambda r: r.replace("managed_json", "policies_json"), "cannot carry"),
        (lambda r: r + r"    key: HKEY_LOCAL_MACHINE\Software" + "\n", "hive"),
        (lambda r: r + ROW, "listed twice"),
        (
            lambda r: r.replace(
                "type: int\n    value: 2\n    allowed: [0, 1, 2]", "type: list\n    value: $everything"
            ),
            "malformed",
        ),
        (
            lambda r: r.replace(
                "channels: [registry_pol, reg, intune_scripts, managed_json, mobileconfig]", "channels: []"
            ),
            "needs a note",
        ),
    ],
)
def test_hostile_table_rows_are_refused_at_their_line(edit, needle):
    text = "controls:\n" + edit(ROW)
    with pytest.raises(InputError) as info:
        parse_table(text, "table.yaml")
    assert needle in info.value.message + info.value.hint, info.value.message
    assert info.value.location is not None and info.value.location.line >= 2


def test_well_formed_row_parses():
    (row,) = parse_table("controls:\n" + ROW, "table.yaml")
    assert row.label == "chrome:HelpMeWriteSettings" and row.line == 3


def test_control_no_enabled_product_can_enforce_is_exit_2():
    """Every Chrome builtin_ai_off row cloud-only: exporting must refuse, naming the row."""
    rows = [r for r in controls.load_table() if not (r.product == "chrome" and r.control == "builtin_ai_off")]
    retired = parse_table(
        "controls:\n"
        + ROW.replace("channels: [registry_pol, reg, intune_scripts, managed_json, mobileconfig]", "channels: []")
        + "    cloud_only: true\n",
        "t.yaml",
    )
    policy = _policy()
    with pytest.raises(InputError) as info:
        controls.check_supported(policy, tuple(rows) + retired)
    assert "chrome:HelpMeWriteSettings" in info.value.message and "cloud-only" in info.value.message
    assert "browsers.chrome: false" in info.value.hint
    policy.browsers.chrome = False
    controls.check_supported(policy, tuple(rows) + retired)  # Chrome not chosen: fine


def test_cli_exit_2_with_a_table_that_cannot_enforce(tmp_path):
    """The whole CLI path: a templates dir whose Chrome AI rows are all cloud-only."""
    import shutil

    from mistral_sov.resources import templates_dir

    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir(), tdir)
    doc = yaml.safe_load(read_text("controls/third-party.yaml"))
    for row in doc["controls"]:
        if row["product"] == "chrome" and row["control"] == "builtin_ai_off":
            row["channels"] = []
            row["cloud_only"] = True
            row.pop("deprecated_by", None)
    (tdir / "controls" / "third-party.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mistral_sov",
            "--templates-dir",
            str(tdir),
            "policy",
            "export",
            "-p",
            str(DATA),
            "--out",
            str(tmp_path / "bundle"),
            "--format",
            "browsers",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    assert "chrome:" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "bundle").exists()


def test_export_warnings_name_the_gaps():
    warnings = controls.export_warnings(_policy(), ["gpo", "intune", "browsers"])
    text = "\n".join(warnings)
    assert "gpo: Windows copilot_off" in text and "RemoveMicrosoftCopilotApp" in text
    assert "AutofillGenAiSettings has no known settings-catalog ID" in text
    assert "GeminiActOnWebSettings has no known settings-catalog ID" in text
    policy = _policy()
    policy.windows.disable_copilot = False
    policy.browsers.chrome = False
    assert controls.export_warnings(policy, ["gpo", "intune"]) == []


# --------------------------------------------------------------------------- settings-catalog IDs


def test_every_shipped_id_is_in_the_dated_snapshot():
    known = catalog_ids.snapshot()
    assert len(known) > 2000
    assert catalog_ids.snapshot_date() == "2026-08-15"
    ids = catalog_ids.load_ids()
    for label, ref in ids.items():
        assert ref.id in known, label
        assert not ref.child or ref.child in known, label
    table = {r.label for r in controls.load_table() if "intune_catalog" in r.channels}
    assert set(ids) <= table  # no ID for a row the catalog does not carry
    hubs = ids["edge:HubsSidebarEnabled"].id
    assert hubs == "device_vendor_msft_policy_config_microsoft_edgev99~policy~microsoft_edge_hubssidebarenabled"


def test_unknown_id_and_unknown_option_are_refused():
    known = catalog_ids.snapshot()
    bad = "ids:\n  edge:HubsSidebarEnabled:\n    id: device_vendor_msft_policy_config_microsoft_edgev120~policy~microsoft_edge_hubssidebarenabled\n"
    with pytest.raises(InputError) as info:
        catalog_ids.parse_ids(bad, known)
    assert "not in the tracked definition list" in info.value.message
    with pytest.raises(InputError):
        catalog_ids.choice_value("device_vendor_msft_policy_config_windowsai_disableclicktodo", "7")
    assert catalog_ids.choice_value("device_vendor_msft_policy_config_windowsai_disableclicktodo", "1").endswith("_1")


def test_edge_and_windows_names_exist_in_microsofts_definitions():
    """Edge and Windows cannot run here: every emitted Edge/Windows row must at least be a
    setting in Microsoft's tracked definition list (the dated snapshot)."""
    known = catalog_ids.snapshot()
    for row in controls.load_table():
        if not row.enforcing or row.product not in ("edge", "windows"):
            continue
        area = "microsoft_edge" if row.product == "edge" else "windowsai"
        suffix = "_" + row.policy.lower()
        assert any(area in sid and sid.endswith(suffix) for sid in known), row.label
