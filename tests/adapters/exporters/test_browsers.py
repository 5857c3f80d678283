"""Browser exporter: Firefox policies.json against Mozilla's JSON Schema, Chrome/Edge keys
against the controls table, mobileconfig parsed by plistlib, golden files,
the 1,000-entry limit, switches, and hostile text escaped."""

from __future__ import annotations

import json
import plistlib
import unicodedata
import uuid
from pathlib import Path

import jsonschema
import pytest
from golden_files import assert_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters.browsers import EXPORTER, MAX_URL_ENTRIES
from mistral_sov.adapters.exporters.controls import url_lists
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.core.urlmatch import parse_filter
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions

TESTS = Path(__file__).resolve().parents[2]
DATA = TESTS / "data" / "policy-export.yaml"
ALL_FILES = [
    "chrome-managed.json",
    "chrome.mobileconfig",
    "edge-managed.json",
    "edge.mobileconfig",
    "firefox-policies.json",
    "firefox.mobileconfig",
]
PAYLOAD_TYPES = {"chrome": "com.google.Chrome", "edge": "com.microsoft.Edge", "firefox": "org.mozilla.firefox"}


def _policy():
    return load_policy(DATA, load_catalog()).policy


def _render(policy=None) -> dict[str, bytes]:
    arts = EXPORTER.render(policy or _policy(), load_catalog(), ExportOptions())
    return {a.path.removeprefix("browsers/"): a.data for a in arts}


def _known() -> dict[str, dict[str, str]]:
    """Every policy name the controls table defines, with its vendor source (the one list)."""
    from mistral_sov.adapters.exporters.controls import load_table

    known: dict[str, dict[str, str]] = {"chrome": {}, "edge": {}, "firefox": {}}
    for row in load_table():
        known.setdefault(row.product, {})[row.policy] = row.source
    known["firefox"]["EnterprisePoliciesEnabled"] = (
        "https://support.mozilla.org/kb/customizing-firefox-using-configuration-profiles"
    )
    return known


@pytest.fixture
def firefox_schema(shared_dir: Path) -> dict:
    # ``shared_dir`` (tests/conftest.py) skips, or fails under CI, when ../shared is absent
    return json.loads((shared_dir / "schemas" / "firefox" / "policies-schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ALL_FILES)
def test_export_browsers_golden(name: str) -> None:
    data = _render()[name]
    assert_golden(f"browsers/{name}", data)


def test_export_browsers_files_and_encoding() -> None:
    files = _render()
    assert sorted(files) == ALL_FILES
    assert _render() == files  # deterministic
    for name, data in files.items():
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data and data.endswith(b"\n"), name
        data.decode("utf-8")


def _check_firefox(policies: dict, schema: dict) -> None:
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(policies)
    # the schema lets unknown names pass: check names (and nested keys) ourselves
    for name, value in policies.items():
        assert name in schema["properties"], name
        assert name in _known()["firefox"], name
        nested = schema["properties"][name].get("properties")
        if isinstance(value, dict) and nested:
            assert set(value) <= set(nested), (name, set(value) - set(nested))


def test_export_firefox_policies_valid(firefox_schema: dict) -> None:
    doc = json.loads(_render()["firefox-policies.json"])
    assert set(doc) == {"policies"}
    policies = doc["policies"]
    _check_firefox(policies, firefox_schema)
    assert policies["DNSOverHTTPS"] == {"Enabled": False, "Locked": True}
    assert policies["AIControls"] == {"Default": {"Value": "blocked", "Locked": True}}
    assert "GenerativeAI" not in policies  # ignored by Firefox when AIControls is set
    block, exceptions = policies["WebsiteFilter"]["Block"], policies["WebsiteFilter"]["Exceptions"]
    assert "*://*.chatgpt.com/*" in block
    assert "*://*.api.mistral.ai/*" in exceptions and "*://*.llm.klinikum-beispiel.de/*" in exceptions
    for pattern in block + exceptions:  # WebExtension match pattern: scheme://host/path
        assert pattern.startswith("*://") and pattern.endswith("/*")


def test_export_chromium_names_are_real_policies() -> None:
    known = _known()
    for browser in ("chrome", "edge"):
        doc = json.loads(_render()[f"{browser}-managed.json"])
        unknown = set(doc) - set(known[browser])
        assert not unknown, f"{browser}: not in templates/controls/third-party.yaml: {unknown}"
        assert doc["DnsOverHttpsMode"] == "off"
        for entry in doc["URLBlocklist"] + doc["URLAllowlist"]:
            parse_filter(entry, allow=False)  # Chrome's filter syntax
            assert not entry.startswith("*."), entry  # '*.' is not a Chromium filter
    for browser, urls in known.items():
        for name, url in urls.items():
            assert url.startswith("https://"), (browser, name)


def test_export_chromium_lists_match_allowlist_semantics() -> None:
    from mistral_sov.core.urlmatch import FilterSet

    doc = json.loads(_render()["chrome-managed.json"])
    filters = [parse_filter(e, allow=False) for e in doc["URLBlocklist"]]
    filters += [parse_filter(e, allow=True) for e in doc["URLAllowlist"]]
    fs = FilterSet(filters)
    assert fs.decide("https://chatgpt.com/c/1").status == "blocked"
    assert fs.decide("https://sub.chat.example-ai.com/").status == "blocked"
    assert fs.decide("https://api.mistral.ai/v1/chat").status == "allowed"
    assert fs.decide("https://notchatgpt.com/").status != "blocked"


def test_export_chromium_ai_switches() -> None:
    chrome = json.loads(_render()["chrome-managed.json"])
    edge = json.loads(_render()["edge-managed.json"])
    assert "GenAiDefaultSettings" not in chrome  # cloud-only: Chrome ignores it from a file
    assert chrome["HelpMeWriteSettings"] == 2 and chrome["GeminiSettings"] == 1
    assert edge["HubsSidebarEnabled"] is False and edge["GenAILocalFoundationalModelSettings"] == 1
    policy = _policy()
    policy.browsers.disable_builtin_ai = False
    files = _render(policy)
    assert set(json.loads(files["chrome-managed.json"])) == {"URLBlocklist", "URLAllowlist", "DnsOverHttpsMode"}
    assert "AIControls" not in json.loads(files["firefox-policies.json"])["policies"]


def test_export_browsers_switches_honoured() -> None:
    policy = _policy()
    policy.browsers.edge = False
    policy.browsers.firefox = False
    assert sorted(_render(policy)) == ["chrome-managed.json", "chrome.mobileconfig"]
    policy.browsers.chrome = False
    assert _render(policy) == {}


@pytest.mark.parametrize("browser", ["chrome", "edge", "firefox"])
def test_export_mobileconfig_parses(browser: str, firefox_schema: dict) -> None:
    files = _render()
    profile = plistlib.loads(files[f"{browser}.mobileconfig"], fmt=plistlib.FMT_XML)
    for key in (
        "PayloadContent",
        "PayloadDisplayName",
        "PayloadIdentifier",
        "PayloadType",
        "PayloadUUID",
        "PayloadVersion",
        "PayloadOrganization",
        "PayloadScope",
    ):
        assert key in profile, key
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    assert profile["PayloadOrganization"] == "Klinikum Beispielstadt AöR"
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == PAYLOAD_TYPES[browser]
    for key in ("PayloadIdentifier", "PayloadUUID", "PayloadVersion"):
        assert key in payload, key
    uuid.UUID(profile["PayloadUUID"])
    uuid.UUID(payload["PayloadUUID"])
    assert profile["PayloadUUID"] != payload["PayloadUUID"]
    settings_ = {k: v for k, v in payload.items() if not k.startswith("Payload")}
    if browser == "firefox":
        assert settings_.pop("EnterprisePoliciesEnabled") is True
        _check_firefox(settings_, firefox_schema)
        assert settings_ == json.loads(files["firefox-policies.json"])["policies"]
    else:
        assert settings_ == json.loads(files[f"{browser}-managed.json"])
        assert set(settings_) <= set(_known()[browser])


def test_export_mobileconfig_uuid_follows_content() -> None:
    first = plistlib.loads(_render()["chrome.mobileconfig"])
    policy = _policy()
    policy.blocking.extra_domains.append("new-ai.example")
    second = plistlib.loads(_render(policy)["chrome.mobileconfig"])
    assert first["PayloadUUID"] != second["PayloadUUID"]
    assert first["PayloadIdentifier"] == second["PayloadIdentifier"]  # replaces the old profile


def test_export_browsers_limit_is_an_error_not_a_truncation() -> None:
    policy = _policy()
    policy.blocking.extra_domains = [f"ai{i}.example" for i in range(MAX_URL_ENTRIES)]
    with pytest.raises(InputError) as info:
        _render(policy)
    assert "--format network" in info.value.hint
    assert "1000" in info.value.message or "1,000" in info.value.message


def test_export_browsers_enforce_local_only() -> None:
    policy = _policy()
    policy.local_inference.enforce_local_only = True
    policy.blocking.catalog = ["coding"]  # local-only blocks the whole catalog anyway
    files = _render(policy)
    chrome = json.loads(files["chrome-managed.json"])
    assert chrome["URLAllowlist"] == ["127.0.0.1", "localhost"]
    assert {"llm.klinikum-beispiel.de", "api.mistral.ai", "chatgpt.com"} <= set(chrome["URLBlocklist"])
    firefox = json.loads(files["firefox-policies.json"])["policies"]["WebsiteFilter"]
    assert firefox["Exceptions"] == ["*://127.0.0.1/*", "*://*.localhost/*"]
    # the same lists as the Windows formats (Registry.pol, .reg, Intune scripts)
    lists = url_lists(policy, load_catalog())
    assert set(chrome["URLBlocklist"]) == set(lists["$block_hosts"])
    assert chrome["URLAllowlist"] == lists["$allow_hosts"]
    policy.endpoints[0].url = "http://[::1]:8080"
    chrome = json.loads(_render(policy)["chrome-managed.json"])
    assert chrome["URLAllowlist"] == ["127.0.0.1", "localhost", "[::1]"]


def test_export_browsers_match_windows_lists() -> None:
    chrome = json.loads(_render()["chrome-managed.json"])
    lists = url_lists(_policy(), load_catalog())
    assert chrome["URLBlocklist"] == lists["$block_hosts"]
    assert chrome["URLAllowlist"] == lists["$allow_hosts"]


@settings(max_examples=60, deadline=None)
@given(org=st.text(min_size=1, max_size=200))
def test_export_browsers_hostile_organization(org: str) -> None:
    policy = _policy()
    policy.organization = org
    files = _render(policy)
    for browser in ("chrome", "edge", "firefox"):
        profile = plistlib.loads(files[f"{browser}.mobileconfig"])
        shown = profile["PayloadOrganization"]
        # no character that ends a line or cannot live in XML survives
        assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in shown), ascii(shown)
        # nothing is added or reordered: the visible characters are the original's, in order
        kept = [
            c for c in org if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp", "Cn", "Co")
        ]
        if not kept:
            assert shown == "mistral-sov"  # nothing visible left: a neutral fallback
            continue
        assert "".join(shown.rstrip("…").split()) == "".join(kept)[: len("".join(shown.rstrip("…").split()))]
        if org.isprintable() and org == " ".join(org.split()):
            assert shown == org
    for name in ("chrome-managed.json", "edge-managed.json", "firefox-policies.json"):
        json.loads(files[name])
