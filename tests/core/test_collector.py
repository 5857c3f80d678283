"""The collector format: tracert hop lines in any language, the hop string, decoding lines."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mistral_sov.core.collector import (
    UNKNOWN_RTT,
    CollectorLineError,
    EndpointObservation,
    Observation,
    ParsedHop,
    decode_hops,
    decode_line,
    encode_hops,
    endpoint_path,
    last_line,
    parse_hop_line,
    render_line,
)


@pytest.mark.parametrize(
    ("line", "ttl", "address", "rtts"),
    [
        ("  1    <1 ms    <1 ms    <1 ms  192.168.178.1", 1, "192.168.178.1", [0, 0, 0]),
        ("  5    13 ms     *       14 ms  193.0.6.139", 5, "193.0.6.139", [13, None, 14]),
        ("  3     *        *        *     Request timed out.", 3, None, [None, None, None]),
        ("  3     *        *        *     Zeitüberschreitung der Anforderung.", 3, None, [None, None, None]),
        ("  3     *        *        *     Délai d’attente de la demande dépassé.", 3, None, [None, None, None]),
        (" 12   102 ms   101 ms   100 ms  2a00:1450:4001:808::1010", 12, "2a00:1450:4001:808::1010", [102, 101, 100]),
        ("  2    12 ms    11 ms    11 ms  p5B0C1.dip0.t-ipconnect.de [91.12.0.1]", 2, "91.12.0.1", [12, 11, 11]),
        (" 30  1234 ms     *        *     62.155.240.1", 30, "62.155.240.1", [1234, None, None]),
    ],
)
def test_hop_lines_in_every_language(line, ttl, address, rtts):
    hop = parse_hop_line(line)
    assert hop == ParsedHop(ttl, address, rtts)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Tracing route to api.mistral.ai [51.159.105.130]",
        "über maximal 30 Hops:",
        "Trace complete.",
        "  4  10.0.0.1  reports: Destination host unreachable.",
        "  7    12 ms    11 ms    11 ms  no-address-here",
        "300   1 ms  1 ms  1 ms  10.0.0.1",
    ],
)
def test_non_hop_lines_are_ignored(line):
    assert parse_hop_line(line) is None


@given(st.text(max_size=300))
def test_parse_hop_line_never_raises(text):
    hop = parse_hop_line(text)
    assert hop is None or (1 <= hop.ttl <= 255 and 1 <= len(hop.rtts) <= 3)


_addr = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
_hop = st.builds(
    lambda address, rtts: (address, rtts),
    st.one_of(st.none(), _addr),
    st.lists(st.one_of(st.none(), st.integers(0, 5000), st.just(UNKNOWN_RTT)), min_size=1, max_size=3),
)


@given(st.lists(_hop, max_size=40))
def test_hop_string_round_trip(raw):
    hops = [ParsedHop(i + 1, a, r if a else [None]) for i, (a, r) in enumerate(raw)]
    text, lan = encode_hops(hops)
    assert lan == 0
    back = decode_hops(text)
    assert [(h.ttl, h.address) for h in back] == [(h.ttl, h.address) for h in hops]
    assert [h.rtts for h in back if h.address] == [h.rtts for h in hops if h.address]
    # min-only keeps the lowest RTT, the one physics uses
    text, _ = encode_hops(hops, min_only=True)
    for a, b in zip(decode_hops(text), hops, strict=True):
        if b.address:
            got = [r for r in b.rtts if r is not None and r >= 0]
            assert a.rtts == ([min(got)] if got else [UNKNOWN_RTT] if UNKNOWN_RTT in b.rtts else [None])


@given(st.text(max_size=200))
def test_decode_hops_raises_only_its_error(text):
    try:
        decode_hops(text)
    except ValueError:
        pass


def _obs() -> Observation:
    hops = [ParsedHop(1, "192.168.1.1", [0, 0, 0]), ParsedHop(2, None, [None]), ParsedHop(3, "51.159.105.130", [9])]
    ep = EndpointObservation(
        "api", "api.mistral.ai", 443, ["x.example"], ["51.159.105.130"], "51.159.105.130", hops, True, 12
    )
    return Observation("PC-1", "2026-12-03T10:00:00Z", {"ad": "FRA"}, [ep])


def test_decode_line_round_trip_and_output_before_the_line():
    line, _ = render_line(_obs())
    got = decode_line("WARNING: something\r\n" + line + "\r\n\r\n")
    assert got.device == "PC-1" and got.site == {"ad": "FRA"} and got.time == "2026-12-03T10:00:00Z"
    path = endpoint_path(got.endpoints[0], 0, got.steps)
    assert not path.reason and path.reached and path.tcp_ms == 12
    assert [h.address for h in path.hops] == ["192.168.1.1", None, "51.159.105.130"]


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (None, "no collector output"),
        ("   ", "no collector output"),
        ("mistral-sov: compliant", "not collector output"),
        ('"e":[{"n":"api","h":"api.mistral.ai","p":443,"r":"1.2.3.4@5"}]}', "truncated: the output starts mid-record"),
        ('{"k":"msov-rc","v":1,"sv":"1.0.0","d":"PC-1","t":"', "truncated or not JSON"),
        ('{"k":"msov-rc","v":2,"d":"x","t":"","e":[]}', "schema version 2 is not supported"),
        ('{"k":"msov-rc","v":1,"d":"x","t":"","e":[],"fail":"Access denied"}', "the collector failed"),
        ('{"k":"msov-rc","v":1,"d":7,"t":"","e":[]}', "lacks d"),
        ('{"a":1}', "not a mistral-sov collector line"),
        ('{"k":' + "[" * 100000, "truncated or not JSON"),
        ("[" * 100000, "not collector output"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, str) else None,
)
def test_unusable_lines_say_why(output, reason):
    with pytest.raises(CollectorLineError) as err:
        decode_line(output)
    assert reason in str(err.value)


@pytest.mark.parametrize(
    ("entry", "steps", "reason"),
    [
        ({"n": "a", "h": "h", "p": 443, "err": "dns: no such host"}, [], "could not resolve"),
        ({"n": "a", "h": "h", "p": 443, "ta": "1.2.3.4"}, ["path:0"], "dropped this path"),
        ({"n": "a", "h": "h", "p": 443, "ta": "1.2.3.4"}, [], "reported no path"),
        ({"n": "a", "h": "h", "p": 443, "ta": "1.2.3.4", "r": ""}, [], "no route"),
        ({"n": "a", "h": "h", "p": 443, "ta": "1.2.3.4", "r": "1.2.3.4@x"}, [], "malformed"),
        ({"n": "a", "h": "h", "p": 443, "ta": "not-an-ip", "r": "1.2.3.4@1"}, [], "no traced address"),
    ],
)
def test_endpoint_without_usable_path(entry, steps, reason):
    assert reason in endpoint_path(entry, 0, steps).reason


def test_last_line_and_json_stays_one_line():
    assert last_line("a\r\nb\r\n\r\n") == "b"
    assert last_line("\ufeff{}\n") == "{}"
    obs = _obs()
    obs.device = 'PC"\n\\1'
    line, _ = render_line(obs)
    assert "\n" not in line and json.loads(line)["d"] == 'PC"\n\\1'
