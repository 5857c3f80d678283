"""Speed-of-light bounds (reference §2 table) and the country nearest-point approximation."""

from __future__ import annotations

import pytest

from mistral_sov.core import physics
from mistral_sov.core.places import find_place, great_circle_km
from mistral_sov.errors import InputError


def test_residency_constants_and_frankfurt_ashburn():
    assert physics.bounds(1.0).max_km_fibre == pytest.approx(102.1, abs=0.05)
    assert physics.bounds(1.0).max_km_vacuum == pytest.approx(149.9, abs=0.05)
    fra, ash = find_place("Frankfurt"), find_place("Ashburn")
    km = great_circle_km(fra.lat, fra.lon, ash.lat, ash.lon)
    assert km == pytest.approx(6549, rel=0.01)
    fibre, vacuum = physics.min_rtt_ms(km)
    assert fibre == pytest.approx(64.1, abs=0.3) and vacuum == pytest.approx(43.7, abs=0.3)
    # an answer in under ~40 ms cannot come from Ashburn; at 80 ms it can
    assert physics.check_point(fra and (fra.lat, fra.lon), 40.0, ash.lat, ash.lon) is not None
    assert physics.check_point((fra.lat, fra.lon), 80.0, ash.lat, ash.lon) is None
    # the US box (incl. Alaska) is generous: its nearest point is ~5,300 km away, so 30 ms excludes it
    assert physics.check_country((fra.lat, fra.lon), 30.0, "US") is not None
    assert physics.check_country((fra.lat, fra.lon), 40.0, "US") is None
    assert physics.check_country((fra.lat, fra.lon), 0.05, "DE") is None  # inside the box
    assert physics.check_country((fra.lat, fra.lon), 0.05, "ZZ") is None  # unknown: never judged


def test_residency_country_box_is_conservative():
    # Zurich is ~300 km from Frankfurt, but the CH box reaches 48.0 N: nearest point ~230 km
    d = physics.distance_to_country_km(50.11, 8.68, "CH")
    assert 150 < d < 300
    assert physics.distance_to_country_km(48.86, 2.35, "FR") == 0


def test_residency_vantage_parsing():
    assert physics.parse_vantage("frankfurt").name == "Frankfurt"
    assert physics.parse_vantage("50.11, 8.68").coords == (50.11, 8.68)
    for bad in ("Frankfort-on-Moon", "91,0", "a,b"):
        with pytest.raises(InputError):
            physics.parse_vantage(bad)
