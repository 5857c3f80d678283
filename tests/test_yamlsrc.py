"""yamlsrc: YAML 1.2 core schema (no Norway problem), explicit tags with odd values are
located errors, merges may be overridden, hostile numbers and nesting are bounded."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.errors import InputError
from mistral_sov.yamlsrc import YAML11_BOOLEANS, load_yaml


def _load(text: str):
    return load_yaml(text, "t.yaml").data


@pytest.mark.parametrize("word", sorted(YAML11_BOOLEANS))
def test_yaml11_booleans_are_text(word: str) -> None:
    assert _load(f"countries: [DE, {word}]\nflag: {word}\n") == {"countries": ["DE", word], "flag": word}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("FALSE", False),
        ("~", None),
        ("", None),
        ("010", 10),
        ("0o17", 15),
        ("0x1F", 31),
        ("-7", -7),
        ("1e3", 1000.0),
        ("1.5", 1.5),
        ("-.inf", -math.inf),
        ("1:30", "1:30"),
        ("2026-01-01", "2026-01-01"),
        ("1_000", "1_000"),
        ("'true'", "true"),
        ("! 12", "12"),
    ],
)
def test_core_schema_values(text: str, value: object) -> None:
    assert _load(f"v: {text}\n") == {"v": value}


@pytest.mark.parametrize(
    "text",
    ["v: !!bool maybe", 'v: !!int ""', 'v: !!timestamp ""', 'v: !!float "x"', "v: !!int 12abc"],
)
def test_explicit_tag_with_an_impossible_value_is_a_located_error(text: str) -> None:
    with pytest.raises(InputError, match="is not a valid !!") as info:
        _load("a: 1\n" + text + "\n")
    assert info.value.diagnostics()[0].location.line == 2


def test_explicit_tags_still_work() -> None:
    assert _load('a: !!int "12"\nb: !!bool true\nc: !!str 12\n') == {"a": 12, "b": True, "c": "12"}


def test_merge_then_override_and_duplicates() -> None:
    text = "base: &b {catalog: none, extra: [a]}\nblocking:\n  <<: *b\n  catalog: all\n"
    assert _load(text)["blocking"] == {"catalog": "all", "extra": ["a"]}
    before = "base: &b {catalog: none}\nblocking:\n  catalog: all\n  <<: *b\n"
    assert _load(before)["blocking"] == {"catalog": "all"}
    with pytest.raises(InputError, match="duplicate key 'catalog'"):
        _load("blocking:\n  catalog: all\n  catalog: none\n")
    with pytest.raises(InputError, match="duplicate key 'catalog'"):
        _load("base: &b {catalog: none}\nblocking:\n  <<: *b\n  catalog: all\n  catalog: x\n")


def test_huge_integer_and_deep_nesting_are_errors() -> None:
    with pytest.raises(InputError, match="invalid number"):
        _load("v: " + "9" * 5000 + "\n")
    with pytest.raises(InputError, match="nesting deeper"):
        _load("[" * 5000 + "]" * 5000)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_scalar_text_loads_or_fails_cleanly(value: str) -> None:
    for text in (f"v: {value}\n", f"v: !!int {value}\n", f"v: !!bool {value}\n", f"v: !!timestamp {value}\n"):
        try:
            _load(text)
        except InputError:
            pass
