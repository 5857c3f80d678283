"""The deployment-type rule (one home: core/zones.deployment_problem), used by policy validate
and the residency verdict."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mistral_sov.core.zones import (
    DATA_ZONES,
    EU_COUNTRIES,
    cloud_regions,
    data_zone_of,
    deployment_problem,
    expand_countries,
)

EU = expand_countries(["EU"])


def test_regional_and_unset_are_never_a_problem() -> None:
    for deployment in (None, "regional"):
        assert deployment_problem(deployment, "azure:swedencentral", EU) is None
        assert deployment_problem(deployment, None, frozenset({"DE"})) is None


def test_global_may_process_anywhere() -> None:
    problem = deployment_problem("global", "azure:swedencentral", EU)
    assert problem is not None and not problem.undetermined and "global" in problem.message


def test_eu_data_zone_fits_an_eu_zone_but_not_a_narrower_one() -> None:
    assert deployment_problem("datazone", "azure:swedencentral", EU) is None
    assert deployment_problem("datazone", "azure:germanywestcentral", expand_countries(["EEA"])) is None
    narrow = deployment_problem("datazone", "azure:germanywestcentral", frozenset({"DE"}))
    assert (
        narrow is not None and not narrow.undetermined and "EU data zone" in narrow.message and "AT" in narrow.message
    )


def test_us_data_zone_is_outside_an_eu_zone() -> None:
    problem = deployment_problem("datazone", "azure:eastus", EU)
    assert problem is not None and not problem.undetermined and "US data zone" in problem.message


def test_unknown_data_zone_is_undetermined_never_a_pass() -> None:
    for region in (None, "azure:switzerlandnorth", "azure:uksouth"):
        problem = deployment_problem("datazone", region, EU | {"CH", "GB"})
        assert problem is not None and problem.undetermined, region


def test_a_worldwide_zone_has_no_residency_constraint() -> None:
    everything = frozenset(c for r in cloud_regions().values() for c in [r.country]) | frozenset(
        f"X{i:02d}" for i in range(150)
    )
    assert deployment_problem("global", None, everything) is None


@given(st.sampled_from(sorted(cloud_regions())), st.sets(st.sampled_from(sorted(EU_COUNTRIES | {"US", "CH", "GB"}))))
def test_datazone_passes_only_when_the_whole_data_zone_is_allowed(region: str, allowed: set[str]) -> None:
    problem = deployment_problem("datazone", region, frozenset(allowed))
    zone = data_zone_of(cloud_regions()[region].country)
    if zone is None:
        assert problem is not None and problem.undetermined
    else:
        assert (problem is None) == (DATA_ZONES[zone] <= frozenset(allowed))
