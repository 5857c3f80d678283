"""Fleet inputs: Graph JSON, portal CSV in every encoding, collector JSON Lines, tracert captures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fleet_samples import EU_PATH, graph_doc, line, portal_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.fleet.sources import FleetSource, detect_encoding
from mistral_sov.adapters.fleet.tracert import parse_tracert
from mistral_sov.core.collector import UNKNOWN_RTT, decode_line, endpoint_path
from mistral_sov.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "data" / "fleet"
WHEN = "2026-12-03T10:01:12.1234567Z"
DEST_IP = "51.159.105.130"


def _rows(n: int = 3):
    return [(f"PC-{i:04d}", line(f"PC-{i:04d}"), WHEN) for i in range(n)]


def test_graph_json_page_streams_every_device(tmp_path):
    path = tmp_path / "runstates.json"
    data = json.dumps(graph_doc([*_rows(3), ("PC-PENDING", None, WHEN)]), indent=2).encode()
    path.write_bytes(data)
    src = FleetSource(path)
    items = list(src.items())
    assert src.format == "graph-json"
    assert [i.device for i in items] == ["PC-0000", "PC-0001", "PC-0002", "PC-PENDING"]
    assert items[0].reported_at == WHEN and items[0].device_id.endswith("000000000000")
    assert decode_line(items[1].output).device == "PC-0001"
    assert "pending" in items[3].error
    assert src.sha256 == hashlib.sha256(data).hexdigest() and src.records == 4


def test_graph_json_bare_array_jsonl_and_utf16(tmp_path):
    states = graph_doc(_rows(2))["value"]
    arr = tmp_path / "a.json"
    arr.write_text(json.dumps(states), encoding="utf-8")
    assert [i.device for i in FleetSource(arr).items()] == ["PC-0000", "PC-0001"]
    jl = tmp_path / "a.jsonl"
    jl.write_text("\n".join(json.dumps(s) for s in states) + "\n", encoding="utf-8")
    src = FleetSource(jl)
    assert src.format == "graph-jsonl" and [i.device for i in src.items()] == ["PC-0000", "PC-0001"]
    u16 = tmp_path / "u16.json"
    u16.write_bytes(json.dumps(graph_doc(_rows(2))).encode("utf-16"))
    src = FleetSource(u16)
    assert src.encoding == "utf-16-le"
    assert [decode_line(i.output).device for i in src.items()] == ["PC-0000", "PC-0001"]


def test_graph_json_truncated_keeps_what_was_read(tmp_path):
    data = json.dumps(graph_doc(_rows(5))).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: int(len(data) * 0.7)])
    src = FleetSource(path)
    items = list(src.items())
    assert 1 <= len(items) < 5
    assert src.problems and "ends or breaks" in src.problems[0]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-nobom"])
def test_portal_csv_in_every_encoding(tmp_path, encoding):
    path = tmp_path / f"export-{encoding}.csv"
    path.write_bytes(portal_csv(_rows(3), encoding))
    src = FleetSource(path)
    assert src.format == "intune-csv"
    items = list(src.items())
    assert [i.device for i in items] == ["PC-0000", "PC-0001", "PC-0002"]
    assert all(decode_line(i.output).device == i.device for i in items)
    assert items[0].reported_at == WHEN and items[0].where.endswith(":2")


def test_portal_csv_semicolon_and_reordered_columns(tmp_path):
    out = line("PC-7").replace('"', '""')
    text = f'Last run;Pre-remediation detection output;Device name\r\n{WHEN};"{out}";PC-7\r\n'
    path = tmp_path / "de.csv"
    path.write_text(text, encoding="utf-8-sig")
    (item,) = FleetSource(path).items()
    assert item.device == "PC-7" and decode_line(item.output).device == "PC-7"


def test_csv_without_output_column_and_unknown_files_are_input_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Device name,Status\r\nPC-1,ok\r\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        FleetSource(bad)
    assert "bad.csv:1:1" in err.value.diagnostics()[0].render()
    with pytest.raises(InputError):
        FleetSource(tmp_path / "missing.json")
    binary = tmp_path / "x.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError):
        FleetSource(binary)


def test_csv_hostile_rows_do_not_stop_the_stream(tmp_path):
    rows = _rows(2)
    text = portal_csv(rows).decode()
    text += 'PC-X,u,s,"unterminated\r\n'  # a quote never closed swallows the rest as one field
    path = tmp_path / "h.csv"
    path.write_text(text, encoding="utf-8")
    items = list(FleetSource(path).items())
    assert [i.device for i in items[:2]] == ["PC-0000", "PC-0001"]


def test_collector_jsonl_from_the_gpo_variant(tmp_path):
    path = tmp_path / "residency-collector.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(line(f"PC-{i}") for i in range(3)).encode() + b"\r\n{broken")
    src = FleetSource(path)
    items = list(src.items())
    assert src.format == "collector-jsonl" and len(items) == 4
    assert items[0].device == "PC-0" and items[3].output == "{broken"


@pytest.mark.parametrize(
    ("name", "hops", "last"),
    [
        ("tracert-en.txt", 6, "51.159.105.130"),
        ("tracert-de-cp850.txt", 5, "51.159.105.130"),
        ("tracert-fr-utf16.txt", 5, "51.159.105.130"),
        ("tracert-unreached.txt", 5, None),
    ],
)
def test_tracert_captures_in_three_languages(name, hops, last):
    src = FleetSource(DATA / name)
    assert src.format == "tracert"
    (item,) = src.items()
    doc = decode_line(item.output)
    path = endpoint_path(doc.endpoints[0], 0, doc.steps)
    assert path.host == "api.mistral.ai" and path.traced == "51.159.105.130"
    assert len(path.hops) == hops and path.hops[-1].address == last
    assert path.reached is (last is not None)
    silent = [h.ttl for h in path.hops if h.address is None]
    assert silent and all(h.rtts == [None] for h in path.hops if h.address is None)
    assert path.hops[0].rtts == [0, 0, 0]  # "<1 ms"


def test_tracert_parse_and_encoding_detection():
    host, address, hops = parse_tracert((DATA / "tracert-en.txt").read_text(encoding="ascii"))
    assert (host, address) == ("api.mistral.ai", "51.159.105.130")
    assert [h.rtts for h in hops][4] == [13, None, 14]
    assert detect_encoding(b"\xff\xfeT\x00") == ("utf-16-le", 2)
    assert detect_encoding("Tracing".encode("utf-16-le")) == ("utf-16-le", 0)
    assert detect_encoding(b"\xef\xbb\xbfx") == ("utf-8", 3)
    assert EU_PATH  # the samples module is shared with the service tests


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(lambda t: ("Device name,Pre-remediation detection output\r\n" + t).encode()),
        st.text(max_size=300).map(lambda t: ('{"value":[' + t).encode()),
        st.text(max_size=300).map(lambda t: ("Tracing route to x [1.2.3.4]\r\n  1  " + t).encode("utf-16")),
    )
)
def test_any_bytes_give_items_or_an_input_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "in.dat"
    path.write_bytes(data)
    try:
        src = FleetSource(path)
    except InputError:
        return
    for item in src.items():
        assert isinstance(item.where, str)
    assert len(src.sha256) == 64


def test_a_huge_line_costs_no_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(line("PC-1") + "\n")
        fh.write('{"k":"msov-rc","d":"' + "x" * (9 * 1024 * 1024) + '"}\n')
        fh.write(line("PC-2") + "\n")
    items = list(FleetSource(path).items())
    assert [i.device for i in items if not i.error] == ["PC-1", "PC-2"]
    assert "longer than" in items[1].error
    csv_path = tmp_path / "huge.csv"
    rows = portal_csv([("PC-1", line("PC-1"), WHEN)]).decode() + "PC-X," + "y" * (9 * 1024 * 1024) + "\r\n"
    csv_path.write_text(rows + 'PC-3,u,s,"' + line("PC-3").replace('"', '""') + '",,' + WHEN + "\r\n", encoding="utf-8")
    got = list(FleetSource(csv_path).items())
    assert got[0].device == "PC-1" and got[-1].device == "PC-3"


def test_test_netconnection_traceroute_capture():
    src = FleetSource(DATA / "tnc-traceroute-utf16.txt")
    assert src.format == "test-netconnection" and src.encoding == "utf-16-le"
    (item,) = src.items()
    doc = decode_line(item.output)
    path = endpoint_path(doc.endpoints[0], 0, doc.steps)
    assert path.host == "api.mistral.ai" and path.traced == "51.159.105.130" and path.reached
    assert [h.address for h in path.hops] == ["192.168.178.1", "62.155.240.1", None, "80.156.160.162", DEST_IP]
    assert path.hops[1].rtts == [UNKNOWN_RTT] and path.hops[-1].rtts == [15]
