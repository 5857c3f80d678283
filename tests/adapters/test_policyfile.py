"""Policy loading: every error located (file:line:col), named, explained; warnings kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.policyfile import parse_policy
from mistral_sov.errors import InputError, PolicyError

REPO = Path(__file__).resolve().parents[2]
STARTER = (REPO / "templates" / "policies" / "starter.yaml").read_text(encoding="utf-8")

CONTRACT = """\
version: 1
organization: Contoso Bank AG
zones:
  allowed_countries: [DE, NL, FR]
  allowed_cloud_regions: [azure:germanywestcentral, azure:westeurope, azure:francecentral]
  operator_jurisdictions: {US: warn}
  transit: strict
  unknown_hops: warn
vantage: {city: Frankfurt}
endpoints:
  - name: mistral-large-eu
    url: https://contoso-mistral.germanywestcentral.inference.ai.azure.com
    region: azure:germanywestcentral
    private_link: true
blocking:
  catalog: all
  extra_domains: [example-ai.net]
  exceptions: []
browsers: {edge: true, chrome: true, firefox: true, disable_builtin_ai: true}
windows: {disable_copilot: true, disable_recall: true}
local_inference:
  enforce_local_only: false
  models: []
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_policy(text.encode("utf-8"), "s.yaml", load_catalog())
    return [d.render() for d in info.value.diagnostics() if d.severity == "error"]


def test_issue_contract_example_is_valid() -> None:
    loaded = parse_policy(CONTRACT.encode(), "s.yaml", load_catalog())
    assert loaded.policy.organization == "Contoso Bank AG"
    assert loaded.policy.endpoints[0].host == "contoso-mistral.germanywestcentral.inference.ai.azure.com"
    assert loaded.warnings == []
    assert len(loaded.sha256) == 64


def test_starter_is_valid() -> None:
    parse_policy(STARTER.encode(), "s.yaml", load_catalog())


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "transit: strict",
            "transit: strictt",
            "s.yaml:7:12: error: zones.transit: input should be 'strict' or 'endpoint'",
        ),
        (
            "  unknown_hops: warn\n",
            "  unknown_hops: warn\n  unknwon: 1\n",
            "s.yaml:9:3: error: zones.unknwon: unknown key 'unknwon'",
        ),
        ("disable_recall", "disable_recal", "did you mean 'disable_recall'?"),
        ("[DE, NL, FR]", "[DE, NL, fr]", "s.yaml:4:31: error: zones.allowed_countries[2]: unknown country code 'fr'"),
        ("[DE, NL, FR]", "[DE, XX]", "unknown country code 'XX'"),
        ("azure:francecentral]", "azure:francecentrl]", "did you mean 'francecentral'?"),
        ("azure:westeurope,", "aws:eu-west-9,", "unknown aws region 'eu-west-9'"),
        ("azure:westeurope,", "ibm:eu-de,", "'ibm:eu-de' is not a cloud region"),
        ("{city: Frankfurt}", "{city: Frankfrut}", "did you mean 'Frankfurt'?"),
        ("url: https://contoso", "url: http://contoso", "uses plain http on a public host"),
        ("url: https://contoso", "url: ftp://contoso", "is not an https URL"),
        ("[example-ai.net]", "['*.example-ai.net']", "uses a wildcard"),
        ("models: []", "models: [{name: m, sha256: abc, license: apache-2.0}]", "malformed SHA-256"),
        ("models: []", "models: [{name: m, sha256: " + "a" * 64 + ", license: llama3}]", "licence 'llama3'"),
        ("version: 1", "version: 2", "input should be 1"),
        ("organization: Contoso Bank AG\n", "", "required key 'organization' is missing"),
        ("private_link: true", "private_link: 'yes'", "expected true or false, got the string 'yes'"),
        ("catalog: all", "catalog: [chat, imagez]", "unknown category 'imagez'"),
        ("extra_domains: [example-ai.net]", "extra_domains: [chatgpt.com]\n  # x", ""),
        ("[DE, NL, FR]", "[DE, UK]", "did you mean 'GB'?"),
        ("[DE, NL, FR]", "[DE, EL]", "did you mean 'GR'?"),
        ("{US: warn}", "{UK: warn}", "did you mean 'GB'?"),
        ("[DE, NL, FR]", "[DE, NO, SE]", ""),  # Norway: YAML 1.2 keeps NO as text
        ("private_link: true", "private_link: yes", "read as YAML 1.2, where 'yes' is text"),
        ("organization: Contoso Bank AG", 'organization: "Contoso\\x07 Bank"', "control character U+0007"),
        (
            "private_link: true",
            'private_link: true\n    description: "a\\x1bb"',
            "s.yaml:15:18: error: endpoints[0].description: contains the control character U+001B",
        ),
        ("exceptions: []", "exceptions: []\n  base: &b {x: 1}", "unknown key 'base'"),
    ],
)
def test_each_error_is_located_and_explained(old: str, new: str, expected: str) -> None:
    assert old in CONTRACT
    text = CONTRACT.replace(old, new, 1)
    if not expected:
        parse_policy(text.encode(), "s.yaml", load_catalog())
        return
    rendered = "\n".join(errors_of(text))
    assert expected in rendered
    assert "hint:" in rendered
    assert rendered.startswith("s.yaml:")


def test_duplicate_endpoint_names_and_keys() -> None:
    dup = CONTRACT.replace(
        "    private_link: true\n",
        "    private_link: true\n  - name: mistral-large-eu\n    url: https://b.example.eu\n",
    )
    assert any("duplicate endpoint name" in e for e in errors_of(dup))
    assert any("duplicate key 'version'" in e for e in errors_of("version: 1\n" + CONTRACT))


def test_blocked_endpoint_conflict_and_exception_fix() -> None:
    conflict = CONTRACT.replace(
        "url: https://contoso-mistral.germanywestcentral.inference.ai.azure.com", "url: https://chatgpt.com"
    )
    errors = errors_of(conflict)
    assert any("would be blocked by catalog service 'openai-chatgpt'" in e for e in errors)
    fixed = conflict.replace("exceptions: []", "exceptions: [chatgpt.com]")
    parse_policy(fixed.encode(), "s.yaml", load_catalog())


def test_idn_is_normalised_to_punycode_and_http_loopback_warns() -> None:
    text = CONTRACT.replace("[example-ai.net]", "[bücher-ki.example]").replace(
        "url: https://contoso-mistral.germanywestcentral.inference.ai.azure.com", "url: http://127.0.0.1:8080"
    )
    loaded = parse_policy(text.encode(), "s.yaml", load_catalog())
    assert loaded.policy.blocking.extra_domains == ["xn--bcher-ki-65a.example"]
    assert [w.severity for w in loaded.warnings] == ["warning"]
    assert "plain http" in loaded.warnings[0].message
    assert str(loaded.warnings[0].location) == "s.yaml:12:10"


def test_not_a_mapping_and_bad_encoding() -> None:
    with pytest.raises(PolicyError):
        parse_policy(b"- a\n- b\n", "s.yaml", None)
    from mistral_sov.errors import InputError

    with pytest.raises(InputError) as info:
        parse_policy(b"version: 1\norganization: \xff\xfe\n", "s.yaml", None)
    assert str(info.value.location) == "s.yaml:2:15"


def test_atomic_write_keeps_mode_and_uses_umask_for_new_files(tmp_path: Path) -> None:
    import os
    import stat

    from mistral_sov.adapters.fileio import atomic_write_text

    if os.name == "nt":
        pytest.skip("POSIX modes")
    new = tmp_path / "new.txt"
    atomic_write_text(new, "a\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    new.chmod(0o600)
    atomic_write_text(new, "b\r\n", newline="\r\n")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert new.read_bytes() == b"b\r\n"
