"""iptocc registration-country provider."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.core.attribution import REGISTRATION


def test_geo_iptocc_is_registration_and_skips_private():
    p = IptoccProvider()
    fact = p.locate("46.4.0.1")
    assert fact.country == "DE" and fact.kind == REGISTRATION and fact.version
    assert p.locate("10.0.0.1") is None and p.locate("fe80::1") is None
