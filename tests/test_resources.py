"""Shipped YAML tables are read like the policy file (YAML 1.2 core schema, located errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistral_sov import resources
from mistral_sov.errors import InputError


@pytest.fixture
def templates(tmp_path: Path):
    resources.set_templates_dir(tmp_path)
    yield tmp_path
    resources.set_templates_dir(None)


def test_yaml_1_1_words_stay_text(templates: Path) -> None:
    (templates / "t.yaml").write_text("country: NO\nflag: on\nwhen: 2025-07-01\n", encoding="utf-8")
    assert resources.load_yaml_data("t.yaml") == {"country": "NO", "flag": "on", "when": "2025-07-01"}


def test_a_broken_table_is_a_located_error(templates: Path) -> None:
    (templates / "t.yaml").write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        resources.load_yaml_data("t.yaml")
    assert err.value.location is not None and err.value.location.line == 2


def test_shipped_operator_jurisdictions_are_country_codes() -> None:
    from mistral_sov.adapters.geo.operators import OperatorTable

    table = OperatorTable.load()
    assert table.version
    telenor = [op for op in table._by_asn.values() if op.jurisdiction == "NO"]
    assert telenor, "Norway's operators keep the code NO, never false"
