"""The bundle README written by ``policy export``: every file mapped to where it is deployed,
the controls carried, what exists only in a vendor's cloud console, deterministic, and
covered by ``--check`` like any other file."""

from __future__ import annotations

import re
from pathlib import Path

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import EXPORTERS, get_documenter, get_exporter
from mistral_sov.adapters.exporters.bundle_readme import DEPLOY, deploy_row
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.ports import ExportOptions
from mistral_sov.services.export import render_bundle

DATA = Path(__file__).resolve().parents[2] / "data" / "policy-export.yaml"
MINE = ("gpo", "intune", "browsers", "network")


def _bundle(policy=None, formats=tuple(EXPORTERS)):
    loaded = load_policy(DATA, load_catalog())
    arts = render_bundle(
        policy or loaded.policy,
        load_catalog(),
        [get_exporter(f) for f in formats],
        ExportOptions(tool_version="0.0-test"),
        loaded.sha256,
        documenter=get_documenter(),
    )
    return {a.path: a.data for a in arts}


def test_readme_maps_every_file_of_the_bundle():
    files = _bundle()
    readme = files["README.md"].decode("utf-8")
    listed = re.findall(r"^\| `([^`]+)` \|", readme, re.M)
    assert sorted(listed) == sorted(p for p in files if p != "README.md")
    for path in files:
        if path.split("/")[0] in MINE or path == "manifest.json":
            where, _how = deploy_row(path)
            assert where != "see docs/deploy.md", f"{path} has no specific deployment row"
    assert "README.md" in files["manifest.json"].decode()  # hashed like every other file


def test_readme_names_cloud_only_and_replaced_controls():
    readme = _bundle()["README.md"].decode("utf-8")
    section = readme.split("## Not enforced by these files", 1)[1]
    assert "`GenAiDefaultSettings`: cloud-only" in section and "Used instead: HelpMeWriteSettings" in section
    assert "`TurnOffWindowsCopilot`: deprecated by RemoveMicrosoftCopilotApp" in section
    assert "`GenerativeAI`: deprecated by AIControls" in section
    assert "Google Admin console" in section and "Microsoft 365 admin center" in section
    carried = readme.split("## Third-party controls in this bundle", 1)[1].split("## Not enforced", 1)[0]
    assert "| Mozilla Firefox | `WebsiteFilter` |" in carried and "registry_pol" in carried
    assert "| Windows | `RemoveMicrosoftCopilotApp` | `1` | intune_catalog |" in carried
    assert "## Warnings" in readme and "no known settings-catalog ID" in readme


def test_readme_is_deterministic_and_follows_the_policy():
    first = _bundle()["README.md"]
    assert _bundle()["README.md"] == first
    policy = load_policy(DATA, load_catalog()).policy
    policy.browsers.firefox = False
    changed = _bundle(policy)["README.md"].decode("utf-8")
    assert "Mozilla Firefox" not in changed and changed.encode() != first


def test_readme_for_one_format_lists_only_its_files():
    files = _bundle(formats=("network",))
    readme = files["README.md"].decode("utf-8")
    assert "`network/rpz.zone`" in readme and "`browsers/" not in readme
    assert len(DEPLOY) > 15
