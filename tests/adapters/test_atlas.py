"""RIPE Atlas parsing: real results, malformed lines, fuzzing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sharedpaths import shared_path

from mistral_sov.adapters import atlas
from mistral_sov.errors import InputError


def test_residency_atlas_real_results():
    traces = atlas.load(shared_path("fixtures/ripe-atlas/traceroutes.jsonl"))
    assert len(traces) == 19
    by_probe = {(t.raw["prb_id"], t.raw["fw"], t.raw["paris_id"]): t for t in traces}
    t = by_probe[(394, 4610, 15)]
    assert t.target == "220.226.205.30" and t.reached and t.tracer == "ripe-atlas" and t.method == "udp"
    assert t.hops[-1].replies[0].kind == "port-unreachable"
    v6 = [t for t in traces if t.raw["af"] == 6]
    assert v6 and all(":" in t.target for t in v6)
    assert any("Network is unreachable" in n for t in traces for n in t.fidelity_notes)
    assert any(r.kind == "unreachable" for t in traces for h in t.hops for r in h.replies)  # err "H"
    assert traces[-1].target == "syndication.exoclick.com" and not traces[-1].hops
    # a JSON array gives the same
    lines = shared_path("fixtures/ripe-atlas/traceroutes.jsonl").read_text(encoding="utf-8").splitlines()
    again = atlas.parse("[" + ",".join(lines) + "]", "a.json")
    assert [x.target for x in again] == [x.target for x in traces]


def test_residency_atlas_malformed_names_the_line():
    with pytest.raises(InputError) as err:
        atlas.parse('{"type": "traceroute", "result": []}\n{oops\n', "r.jsonl")
    assert err.value.location.line == 2
    with pytest.raises(InputError):
        atlas.parse('{"type": "ping", "result": []}', "r.jsonl")
    with pytest.raises(InputError):
        atlas.parse("", "r.jsonl")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda c: (
        st.lists(c, max_size=4)
        | st.dictionaries(
            st.sampled_from(["hop", "result", "from", "rtt", "x", "err", "error", "dst_addr", "type", "af"]),
            c,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "dst_addr", "result", "proto", "prb_id", "timestamp"]), json_values, max_size=6
    )
)
def test_residency_atlas_fuzz_never_crashes(record):
    try:
        atlas.parse(json.dumps(record), "fuzz.jsonl")
    except InputError:
        pass
