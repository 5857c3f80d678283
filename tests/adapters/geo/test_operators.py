"""Operator jurisdiction table."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mistral_sov.adapters.geo.operators import OperatorTable


def test_geo_operator_table_is_sourced():
    table = OperatorTable.load()
    assert len(table) >= 40
    for asn, cc in [
        (8075, "US"),
        (16509, "US"),
        (13335, "US"),
        (3356, "US"),
        (16276, "FR"),
        (24940, "DE"),
        (3320, "DE"),
        (1299, "SE"),
        (3303, "CH"),
        (1273, "GB"),
    ]:
        assert table.operator(asn).jurisdiction == cc
    assert all(op.source_url.startswith("https://") for op in table.all())


def test_every_jurisdiction_is_a_country_code():
    """Telenor (AS2119) is Norwegian: a bare `NO` in YAML 1.1 is the boolean false."""
    from mistral_sov.core.zones import is_country

    table = OperatorTable.load()
    assert table.operator(2119).jurisdiction == "NO"
    bad = [op for op in table.all() if not (isinstance(op.jurisdiction, str) and is_country(op.jurisdiction))]
    assert bad == []
