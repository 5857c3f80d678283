"""Effective policy: managed values win over the YAML; YAML → Registry.pol → effective policy is
lossless; a managed value of the wrong type never falls back to the YAML value."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters import get_exporter
from mistral_sov.adapters.managed import POLICY_KEY, registry_pol
from mistral_sov.adapters.policyfile import parse_policy
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions
from mistral_sov.services.effective import (
    INVALID,
    NO_LICENSE,
    REG_DWORD,
    REG_SZ,
    ManagedSource,
    apply_managed,
    combine,
    managed_view,
)
from mistral_sov.services.effective_rows import effective_rows

REPO = Path(__file__).resolve().parents[2]
SHA_A = "a" * 64
SHA_B = "b" * 64


def _policy(text: str):
    return parse_policy(text.encode("utf-8"), "sovereignty.yaml", load_catalog()).policy


def _through_registry_pol(policy):
    """YAML → exported Machine/Registry.pol → the registry view a GP client would write."""
    arts = {a.path: a.data for a in get_exporter("gpo").render(policy, load_catalog(), ExportOptions())}
    state = registry_pol.state_from_pol(arts["gpo/Machine/Registry.pol"], POLICY_KEY)
    return combine([ManagedSource("HKLM\\" + POLICY_KEY, state)])


BASE = """
version: 1
organization: Test
endpoints:
  - {name: zeta, url: "https://zeta.example.eu/v1", region: azure:germanywestcentral, description: internal}
  - {name: alpha, url: "https://api.mistral.ai"}
zones: {allowed_cloud_regions: [azure:germanywestcentral, azure:francecentral]}
blocking: {catalog: none, exceptions: [api.mistral.ai, zeta.example.eu]}
local_inference:
  enforce_local_only: true
  models:
    - {name: m2, sha256: SHA_B, license: mit}
    - {name: m1, sha256: SHA_A, license: apache-2.0, file: models/m1.gguf}
""".replace("SHA_A", SHA_A).replace("SHA_B", SHA_B)


@pytest.mark.parametrize(
    "text",
    [
        BASE,
        (REPO / "tests/data/policy-export.yaml").read_text("utf-8"),
        (REPO / "templates/policies/starter.yaml").read_text("utf-8"),
    ],
    ids=["ordered-lists", "export-fixture", "starter"],
)
def test_yaml_to_registry_pol_to_effective_policy_is_lossless(text):
    policy = _policy(text)
    settings_ = _through_registry_pol(policy)
    assert set(settings_.origin) == {
        "EnforceLocalOnly",
        "BlockPublicAI",
        "ApprovedEndpoints",
        "AllowedRegions",
        "ApprovedModels",
    } | ({"DefaultEndpoint"} if policy.endpoints else set())
    effective = apply_managed(policy, settings_)
    assert effective.policy == policy  # the whole policy, every field, in order
    # and the managed values alone carry every managed setting, whatever the YAML says
    other = _policy("version: 1\norganization: Other\nlocal_inference: {enforce_local_only: false}\n")
    # (named lists carry no order in the registry or a plist: compared as sets, default first)
    got, want = managed_view(apply_managed(other, settings_).policy), managed_view(policy)
    for key in ("ApprovedEndpoints", "ApprovedModels"):
        assert set(got.pop(key)) == set(want.pop(key))
    assert got == want


@settings(max_examples=25, deadline=None)
@given(
    enforce=st.booleans(),
    catalog=st.sampled_from(["none", "all"]),
    regions=st.lists(
        st.sampled_from(["azure:germanywestcentral", "azure:francecentral", "aws:eu-central-1"]), unique=True
    ),
    models=st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
        ),
        unique_by=(lambda t: t[0], lambda t: t[1]),
        max_size=4,
    ),
)
def test_round_trip_property(enforce, catalog, regions, models):
    lines = [
        "version: 1",
        "organization: P",
        f"zones: {{allowed_cloud_regions: [{', '.join(regions)}]}}",
        f"blocking: {{catalog: {catalog}}}",
        "local_inference:",
        f"  enforce_local_only: {str(enforce).lower()}",
        "  models:" + ("" if models else " []"),
    ] + [f"    - {{name: {n}, sha256: '{h}', license: mit}}" for n, h in models]
    policy = _policy("\n".join(lines) + "\n")
    assert apply_managed(policy, _through_registry_pol(policy)).policy == policy


def _src(root=None, **subkeys):
    state = {"": root or {}}
    state.update(subkeys)
    return ManagedSource("HKLM\\" + POLICY_KEY, state)


def test_managed_values_win_and_rows_name_their_source():
    policy = _policy(BASE.replace("enforce_local_only: true", "enforce_local_only: false"))
    settings_ = combine(
        [
            _src(
                {"EnforceLocalOnly": (REG_DWORD, 1), "DefaultEndpoint": (REG_SZ, "https://api.mistral.ai/")},
                ApprovedModels={"only": (REG_SZ, SHA_A.upper())},
            ),
            ManagedSource("/etc/mistral-sov/managed.json", {"": {"EnforceLocalOnly": (REG_DWORD, 0)}}, "json"),
        ]
    )
    eff = apply_managed(policy, settings_)
    assert eff.policy.local_inference.enforce_local_only is True
    assert [e.name for e in eff.policy.endpoints] == ["alpha", "zeta"]  # DefaultEndpoint first
    (model,) = eff.policy.local_inference.models
    assert (model.name, model.sha256, model.license, model.file) == ("only", SHA_A, "apache-2.0", None)
    rows = {r["setting"]: r["source"] for r in effective_rows(eff, lambda p: "sovereignty.yaml:1:1" if p else None)}
    assert rows["local_inference.enforce_local_only"] == "managed: HKLM\\" + POLICY_KEY
    assert rows["local_inference.models"].startswith("managed: HKLM")
    assert rows["local_inference.max_tokens"] == "yaml: sovereignty.yaml:1:1"


def test_model_approved_only_by_the_managed_policy_has_no_licence_assertion():
    eff = apply_managed(_policy(BASE), combine([_src(ApprovedModels={"new": (REG_SZ, "c" * 64)})]))
    assert [(m.name, m.license) for m in eff.policy.local_inference.models] == [("new", NO_LICENSE)]
    assert NO_LICENSE.lower() not in eff.policy.local_inference.allowed_licenses


def test_block_public_ai_managed_on_turns_blocking_on():
    policy = _policy(BASE.replace("enforce_local_only: true", "enforce_local_only: false"))
    eff = apply_managed(policy, combine([_src({"BlockPublicAI": (REG_DWORD, 1)})]))
    assert eff.policy.blocking.catalog == "all"


@pytest.mark.parametrize(
    ("root", "subkeys", "message"),
    [
        ({"EnforceLocalOnly": (REG_SZ, "1")}, {}, "must be a REG_DWORD 0 or 1"),
        ({"EnforceLocalOnly": (REG_DWORD, 2)}, {}, "must be a REG_DWORD 0 or 1"),
        ({"EnforceLocalOnly": (11, 1)}, {}, "not REG_QWORD"),
        ({"BlockPublicAI": (INVALID, None)}, {}, "must be a REG_DWORD"),
        ({"DefaultEndpoint": (REG_DWORD, 1)}, {}, "must be a string"),
        ({"DefaultEndpoint": (REG_SZ, "http://public.example.com")}, {}, "not a valid endpoint URL"),
        ({}, {"ApprovedModels": {"m": (REG_SZ, "xyz")}}, "not a SHA-256"),
        ({}, {"ApprovedModels": {"m": (7, ["a" * 64])}}, "not REG_MULTI_SZ"),
        ({}, {"ApprovedModels": {"bad name!": (REG_SZ, SHA_A)}}, "not a valid name"),
        ({}, {"AllowedRegions": {"1": (REG_SZ, "azure:moon")}}, "not a known cloud region"),
        ({}, {"ApprovedEndpoints": {"x": (REG_SZ, "ftp://x")}}, "not a valid endpoint URL"),
    ],
)
def test_malformed_managed_values_are_errors_never_a_fallback(root, subkeys, message):
    with pytest.raises(InputError, match=message) as info:
        combine([_src(root, **subkeys)])
    assert "refuses to start rather than fall back" in info.value.hint


def test_default_endpoint_must_be_approved():
    with pytest.raises(InputError, match="not one of the approved endpoints"):
        apply_managed(_policy(BASE), combine([_src({"DefaultEndpoint": (REG_SZ, "https://other.example.eu")})]))


def test_value_names_are_case_insensitive_like_the_registry():
    settings_ = combine([_src({"enforcelocalonly": (REG_DWORD, 1)}, approvedmodels={"m": (REG_SZ, SHA_A)})])
    assert settings_.enforce_local_only is True and settings_.approved_models == (("m", SHA_A),)


def test_unknown_values_are_reported_not_silently_ignored():
    settings_ = combine([_src({"EnforceLocalOnlyy": (REG_DWORD, 1)})])
    assert any("EnforceLocalOnlyy" in w for w in settings_.warnings)
