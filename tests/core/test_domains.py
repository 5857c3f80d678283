"""Domain normalisation: the ASCII fast path agrees with the full IDNA (UTS #46) check."""

from __future__ import annotations

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.core.domains import DomainError, normalize_domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ChatGPT.com", "chatgpt.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("example.com.", "example.com"),
        ("ＥＸＡＭＰＬＥ.com", "example.com"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["*.x.com", "https://x.com", "x.com/a", "x", "-a.com", "a..com", "xn--zz.com", "ab--c.com"]
)
def test_rejected(raw: str) -> None:
    with pytest.raises(DomainError):
        normalize_domain(raw)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-ABCXYZ", min_size=1, max_size=10), min_size=2, max_size=4
    )
)
def test_fast_path_agrees_with_idna(labels: list[str]) -> None:
    name = ".".join(labels)
    try:
        reference: str | None = idna.encode(name, uts46=True, transitional=False).decode().lower()
        if reference.split(".")[-1].isdigit():
            reference = None
    except idna.IDNAError:
        reference = None
    try:
        ours: str | None = normalize_domain(name)
    except DomainError:
        ours = None
    assert ours == reference
