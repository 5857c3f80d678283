"""render_bundle (manifest, determinism, path safety) and diff_policies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import EXPORTERS, get_exporter
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.errors import InputError
from mistral_sov.ports import Artifact, ExportOptions
from mistral_sov.services.export import MANIFEST, Change, diff_policies, render_bundle

DATA = Path(__file__).resolve().parents[1] / "data" / "policy-export.yaml"
SHA = "ab" * 32


def _loaded():
    return load_policy(DATA, load_catalog())


def _exporters(*names: str):
    return [get_exporter(n) for n in (names or ("browsers", "network"))]


@dataclass
class _Fake:
    name: str
    paths: tuple[str, ...]
    description: str = "fake"

    def render(self, policy, catalog, options):
        return [Artifact(p, p.encode()) for p in self.paths]


def test_export_service_manifest() -> None:
    loaded = _loaded()
    options = ExportOptions(tool_version="9.9.9")
    arts = render_bundle(loaded.policy, load_catalog(), _exporters(), options, loaded.sha256)
    assert arts[-1].path == MANIFEST
    files = arts[:-1]
    assert [a.path for a in files] == sorted(a.path for a in files)
    manifest = json.loads(arts[-1].data)
    assert manifest["tool"] == "mistral-sov" and manifest["tool_version"] == "9.9.9"
    assert manifest["policy_sha256"] == loaded.sha256
    assert manifest["formats"] == ["browsers", "network"]
    assert manifest["files"] == [
        {"path": a.path, "sha256": hashlib.sha256(a.data).hexdigest(), "size": len(a.data)} for a in files
    ]
    assert {"network/rpz.zone", "browsers/firefox-policies.json"} <= {a.path for a in files}
    # deterministic: no timestamps
    again = render_bundle(loaded.policy, load_catalog(), _exporters(), options, loaded.sha256)
    assert again == arts


def test_export_service_every_registered_exporter() -> None:
    loaded = _loaded()
    exporters = [get_exporter(n) for n in EXPORTERS]
    for exporter in exporters:  # the Exporter protocol
        assert exporter.name in EXPORTERS and exporter.description
    arts = render_bundle(loaded.policy, load_catalog(), exporters, ExportOptions(), loaded.sha256)
    manifest = json.loads(arts[-1].data)
    assert manifest["formats"] == list(EXPORTERS)
    assert len({a.path.lower() for a in arts}) == len(arts)


def test_export_service_rejects_bad_paths_and_collisions() -> None:
    policy = _loaded().policy
    catalog = load_catalog()
    for bad in ("../x", "/abs", "a//b", "manifest.json", "c:/x", "a\\b", "./a"):
        with pytest.raises(ValueError, match="invalid bundle path"):
            render_bundle(policy, catalog, [_Fake("f", (bad,))], ExportOptions(), SHA)
    with pytest.raises(ValueError, match="both write"):
        render_bundle(policy, catalog, [_Fake("a", ("x/A.txt",)), _Fake("b", ("x/a.txt",))], ExportOptions(), SHA)
    with pytest.raises(InputError):
        render_bundle(policy, catalog, [], ExportOptions(), SHA)


# ------------------------------------------------------------------------------- diff


def _changes(old, new) -> set[tuple[str, str, str]]:
    return {(c.area, c.action, c.subject) for c in diff_policies(old, new, load_catalog())}


def test_export_diff_identical_is_empty() -> None:
    assert diff_policies(_loaded().policy, _loaded().policy, load_catalog()) == []


def test_export_diff_explains_changes() -> None:
    old = _loaded().policy
    new = _loaded().policy
    new.blocking.extra_domains = ["chat.example-ai.com", "new-ai.example"]  # assistant.example.net removed
    new.blocking.exceptions.append("claude.ai")
    new.endpoints[1].region = "azure:francecentral"
    new.endpoints.pop(0)
    new.zones.allowed_countries = ["DE", "FR"]
    new.zones.allowed_cloud_regions.append("azure:westeurope")
    new.local_inference.models = []
    new.browsers.firefox = False
    new.windows.disable_recall = False
    got = _changes(old, new)
    expected = {
        ("domains", "blocked", "new-ai.example"),
        ("domains", "unblocked", "assistant.example.net"),
        ("domains", "unblocked", "claude.ai"),
        ("exceptions", "added", "claude.ai"),
        ("endpoints", "removed", "mistral-eu"),
        ("endpoints", "changed", "klinikum-llm.region"),
        ("zones", "added", "DE"),
        ("zones", "added", "FR"),
        ("zones", "removed", "EU"),
        ("zones", "added", "azure:westeurope"),
        ("local_inference", "revoked", "mistral-7b-instruct-q4"),
        ("browsers", "changed", "browsers.firefox"),
        ("windows", "changed", "windows.disable_recall"),
    }
    assert expected <= got, expected - got
    unexplained = got - expected
    assert unexplained == set(), unexplained
    detail = {(c.area, c.subject): c.detail for c in diff_policies(old, new, load_catalog())}
    assert detail["domains", "claude.ai"] == "now covered by an exception"
    assert detail["endpoints", "klinikum-llm.region"] == "azure:germanywestcentral -> azure:francecentral"


def test_export_diff_services_and_local_only() -> None:
    old = _loaded().policy
    new = _loaded().policy
    new.blocking.catalog = ["coding"]
    got = _changes(old, new)
    assert ("services", "unblocked", "openai-chatgpt") in got
    assert ("services", "changed", "blocking.catalog") in got
    assert not any(area == "domains" and subject == "chatgpt.com" for area, _, subject in got)
    new2 = _loaded().policy
    new2.local_inference.enforce_local_only = True
    new2.local_inference.models.append(new2.local_inference.models[0].model_copy(update={"name": "second"}))
    got2 = _changes(old, new2)
    assert ("local_inference", "changed", "enforce_local_only") in got2
    assert ("local_inference", "approved", "second") in got2
    assert ("domains", "blocked", "llm.klinikum-beispiel.de") in got2  # remote endpoint now blocked


def test_export_change_describe() -> None:
    change = Change("endpoints", "added", "x", "https://x.eu")
    assert change.describe() == "endpoints: added x (https://x.eu)"
    assert change.to_dict() == {"area": "endpoints", "action": "added", "subject": "x", "detail": "https://x.eu"}
