"""RFC 8805 geofeeds: parsing, errors, fuzzing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mistral_sov.adapters.geo.geofeed import Geofeed
from mistral_sov.errors import InputError


def test_geo_geofeed_parse_and_errors(tmp_path):
    feed = Geofeed.parse(
        "# c\n\n192.0.2.0/24,DE,DE-HE,Frankfurt,\n2001:db8::/32,FR,,,\n192.0.2.128/25,NL,,,\n", "f.csv"
    )
    assert feed.locate("192.0.2.1").country == "DE"
    assert feed.locate("192.0.2.200").country == "NL"  # the longer prefix wins
    assert feed.locate("2001:db8::5").country == "FR" and feed.locate("8.8.8.8") is None
    for bad, line in [
        ("192.0.2.0/24,DE\nnot-a-prefix,DE\n", 2),
        ("192.0.2.1/24,DE\n", 1),
        ("192.0.2.0/24,Germany\n", 1),
        ("192.0.2.0/24,DE,FR-75\n", 1),
        ("x\n", 1),
    ]:
        with pytest.raises(InputError) as err:
            Geofeed.parse(bad, "feed.csv")
        assert err.value.location.line == line, bad


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789abcdef.:/,#-DEFRX \n")), max_size=200))
def test_geo_geofeed_fuzz_never_crashes(text):
    try:
        Geofeed.parse(text, "fuzz.csv")
    except InputError as err:
        assert err.location is not None
