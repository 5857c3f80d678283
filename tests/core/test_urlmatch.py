"""Chrome/Edge URL-filter semantics: a reference table of documented cases, plus properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.core.urlmatch import FilterError, FilterSet, parse_filter

# (blocklist, allowlist, url, expected status) — cases from Chrome Enterprise's
# "URL blocklist filter format" documentation and Chromium's url_util precedence rules.
REFERENCE: list[tuple[list[str], list[str], str, str]] = [
    (["example.com"], [], "https://example.com/", "blocked"),
    (["example.com"], [], "https://www.example.com/", "blocked"),
    (["example.com"], [], "https://sub.www.example.com/x", "blocked"),
    (["example.com"], [], "https://notexample.com/", "unlisted"),
    (["example.com"], [], "https://example.com.evil.net/", "unlisted"),
    (["http://example.com"], [], "http://example.com/", "blocked"),
    (["http://example.com"], [], "https://example.com/", "unlisted"),
    (["https://*"], [], "https://any.org/", "blocked"),
    (["https://*"], [], "http://any.org/", "unlisted"),
    (["mail.example.com"], [], "https://mail.example.com/", "blocked"),
    (["mail.example.com"], [], "https://www.example.com/", "unlisted"),
    (["mail.example.com"], [], "https://example.com/", "unlisted"),
    ([".example.com"], [], "https://example.com/", "blocked"),
    ([".example.com"], [], "https://www.example.com/", "unlisted"),
    (["example.com/docs"], [], "https://example.com/docs/page", "blocked"),
    (["example.com/docs"], [], "https://example.com/other", "unlisted"),
    (["*"], [], "https://anything.example/", "blocked"),
    (["*:8080"], [], "http://host.example:8080/", "blocked"),
    (["*:8080"], [], "http://host.example/", "unlisted"),
    (["192.168.1.2"], [], "http://192.168.1.2/", "blocked"),
    (["192.168.1.2"], [], "http://192.168.1.20/", "unlisted"),
    (["*"], ["example.com"], "https://example.com/", "allowed"),
    (["*"], ["example.com"], "https://other.com/", "blocked"),
    (["example.com"], ["mail.example.com"], "https://mail.example.com/", "allowed"),
    (["example.com"], ["mail.example.com"], "https://www.example.com/", "blocked"),
    # same host length: the exact-host filter wins over the sub-domain one
    (["example.com"], [".example.com"], "https://example.com/", "allowed"),
    ([".example.com"], ["example.com"], "https://example.com/", "blocked"),
    # same host: the longer path wins
    (["example.com"], ["example.com/public"], "https://example.com/public/a", "allowed"),
    (["example.com/private"], ["example.com"], "https://example.com/private/a", "blocked"),
    # complete tie: allow beats block
    (["example.com"], ["example.com"], "https://example.com/", "allowed"),
    # the wildcard always loses, even against a scheme-only filter
    (["*"], ["https://*"], "https://x.org/", "allowed"),
    # IDN hosts are compared in punycode
    (["bücher.example"], [], "https://xn--bcher-kva.example/", "blocked"),
    (["xn--bcher-kva.example"], [], "https://BÜCHER.example/", "blocked"),
    # case-insensitive hosts, trailing dots ignored
    (["Example.COM"], [], "https://www.example.com./", "blocked"),
    # query conditions
    (["example.com/?type=a"], [], "https://example.com/?type=a", "blocked"),
    (["example.com/?type=a"], [], "https://example.com/?type=b", "unlisted"),
]


def _fs(block: list[str], allow: list[str]) -> FilterSet:
    return FilterSet([parse_filter(b, allow=False) for b in block] + [parse_filter(a, allow=True) for a in allow])


@pytest.mark.parametrize(("block", "allow", "url", "expected"), REFERENCE)
def test_reference_table(block: list[str], allow: list[str], url: str, expected: str) -> None:
    assert _fs(block, allow).decide(url).status == expected


@pytest.mark.parametrize("bad", ["*.example.com", "", "https://", "example.com:99999"])
def test_invalid_filters_are_rejected(bad: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(bad, allow=False)


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
tld = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6)
domain = st.tuples(st.lists(label, min_size=1, max_size=3), tld).map(lambda t: ".".join([*t[0], t[1]]))


@settings(max_examples=300, deadline=None)
@given(d=domain, prefix=st.lists(label, max_size=3), glue=label)
def test_domain_filter_matches_exactly_label_suffixes(d: str, prefix: list[str], glue: str) -> None:
    fs = _fs([d], [])
    sub = ".".join([*prefix, d])
    assert fs.decide(f"https://{sub}/").status == "blocked"
    # a look-alike that only shares the text, not the label boundary, is never matched
    lookalike = glue + d
    expected = "blocked" if lookalike == d or lookalike.endswith("." + d) else "unlisted"
    assert fs.decide(f"https://{lookalike}/").status == expected


@settings(max_examples=200, deadline=None)
@given(
    blocks=st.lists(domain, min_size=1, max_size=6),
    allows=st.lists(domain, max_size=6),
    host_prefix=st.lists(label, max_size=2),
    seed=st.integers(0, 1000),
)
def test_decision_is_order_independent_and_most_specific(
    blocks: list[str], allows: list[str], host_prefix: list[str], seed: int
) -> None:
    target = ".".join([*host_prefix, blocks[0]])
    filters = [parse_filter(b, allow=False) for b in blocks] + [parse_filter(a, allow=True) for a in allows]
    shuffled = list(filters)
    random.Random(seed).shuffle(shuffled)
    d1 = FilterSet(filters).decide(f"https://{target}/")
    d2 = FilterSet(shuffled).decide(f"https://{target}/")
    assert d1.status == d2.status
    # oracle: the longest matching domain decides; allow wins ties
    matching = [(len(f.host), f.allow) for f in filters if target == f.host or target.endswith("." + f.host)]
    best_len = max(n for n, _ in matching)
    expect_allow = any(allow for n, allow in matching if n == best_len)
    assert d1.status == ("allowed" if expect_allow else "blocked")
