"""Attribution providers against real data: MaxMind test databases (incl. broken ones),
test mmdbs written with mmdb-writer, RFC 8805 geofeeds, cloud range files, operators."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from residency_helpers import write_asn_mmdb, write_city_mmdb
from sharedpaths import shared_path

from mistral_sov.adapters.geo import ranges
from mistral_sov.adapters.geo.countries import IptoccProvider
from mistral_sov.adapters.geo.geofeed import Geofeed
from mistral_sov.adapters.geo.mmdb import MmdbDatabase
from mistral_sov.adapters.geo.operators import OperatorTable
from mistral_sov.core.attribution import REGISTRATION, is_internal
from mistral_sov.errors import InputError


def test_geo_maxmind_layouts_detected():
    city = MmdbDatabase(shared_path("fixtures/mmdb/GeoIP2-City-Test.mmdb"))
    assert city.layout == "maxmind-geo" and city.name == "GeoIP2-City" and city.version.startswith("build ")
    fact = city.locate("81.2.69.142")
    assert (fact.country, fact.city, fact.accuracy_km) == ("GB", "London", 10.0)
    assert city.asn("81.2.69.142") is None
    asn = MmdbDatabase(shared_path("fixtures/mmdb/GeoLite2-ASN-Test.mmdb"))
    assert asn.layout == "maxmind-asn" and not asn.has_geo
    got = asn.asn("89.160.20.112")
    assert (got.asn, got.organisation, got.source) == (29518, "Bredband2 AB", "GeoLite2-ASN")
    country = MmdbDatabase(shared_path("fixtures/mmdb/GeoIP2-Country-Test.mmdb"))
    assert country.locate("2001:218::1").country == "JP"
    assert country.locate("10.0.0.1") is None


@pytest.mark.parametrize(
    "name", ["MaxMind-DB-test-broken-pointers-24.mmdb", "MaxMind-DB-test-broken-search-tree-24.mmdb"]
)
def test_geo_broken_mmdb_is_input_error(name):
    with pytest.raises(InputError) as err:
        MmdbDatabase(shared_path(f"fixtures/mmdb/{name}"))
    assert name in str(err.value.location) and "not a usable MaxMind DB" in err.value.message


def test_geo_not_an_mmdb(tmp_path):
    bogus = tmp_path / "x.mmdb"
    bogus.write_bytes(b"not a database at all" * 10)
    with pytest.raises(InputError):
        MmdbDatabase(bogus)
    with pytest.raises(InputError, match="not found"):
        MmdbDatabase(tmp_path / "missing.mmdb")


def test_geo_mmdb_writer_ipinfo_and_private_placement(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=6, database_type="ipinfo lite.mmdb", ipv4_compatible=True)
    w.insert_network(IPSet(["198.51.100.0/24"]), {"country_code": "FR", "asn": "AS16276", "as_name": "OVH SAS"})
    w.to_db_file(str(tmp_path / "ipinfo.mmdb"))
    db = MmdbDatabase(tmp_path / "ipinfo.mmdb")
    assert db.layout == "ipinfo" and db.has_geo and db.has_asn
    assert db.locate("198.51.100.7").country == "FR" and db.asn("198.51.100.7").asn == 16276
    # documentation ranges are special-purpose: internal, but explicit user data places them
    assert is_internal("198.51.100.7") and db.user_supplied
    city = MmdbDatabase(write_city_mmdb(tmp_path / "c.mmdb", {"2001:db8::/32": ("DE", 50.1, 8.7)}))
    assert city.locate("2001:db8::1").lat == pytest.approx(50.1)
    asn = MmdbDatabase(write_asn_mmdb(tmp_path / "a.mmdb", {"203.0.113.0/24": (3320, "DTAG")}))
    assert asn.asn("203.0.113.9").asn == 3320


def test_geo_iptocc_is_registration_and_skips_private():
    p = IptoccProvider()
    fact = p.locate("46.4.0.1")
    assert fact.country == "DE" and fact.kind == REGISTRATION and fact.version
    assert p.locate("10.0.0.1") is None and p.locate("fe80::1") is None


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


def test_geo_ranges_real_files_and_lookup():
    base = shared_path("fixtures/cloud-ranges")
    parsed = {}
    for path in sorted(base.iterdir()):
        item = ranges.parse(path.read_bytes(), str(path))
        parsed[item.key] = item
        assert item.provenance["sha256"] and item.prefixes
    assert set(parsed) == {"azure", "aws", "gcp", "oci", "cloudflare-v4", "cloudflare-v6", "fastly"}
    assert parsed["azure"].provenance["changeNumber"] == "363"
    assert parsed["aws"].provenance["createDate"].startswith("2025-07-24")
    idx = ranges.RangeIndex(list(parsed.values()))
    m = idx.lookup("20.52.0.1")
    assert (m.region, m.raw_region, m.country, m.implied_asns) == (
        "azure:germanywestcentral",
        "germanywc",
        "DE",
        (8075,),
    )
    assert idx.lookup("34.89.128.1").region == "gcp:europe-west3"
    fr = next(p for p, e in parsed["azure"].prefixes if e.raw_region == "centralfrance")
    assert idx.lookup(fr.split("/")[0]).region == "azure:francecentral"
    cf = idx.lookup("2606:4700::1")
    assert cf.provider == "cloudflare" and cf.anycast and cf.global_only and cf.region is None
    afd = idx.lookup("13.107.246.1")
    assert afd.global_only and afd.service.startswith("AzureFrontDoor")
    assert idx.lookup("192.0.2.1") is None


def test_geo_ranges_rejects_html_and_wrong_provider(tmp_path):
    with pytest.raises(InputError, match="HTML"):
        ranges.parse(b"<!DOCTYPE html><html>503</html>", "oracle.json")
    aws = shared_path("fixtures/cloud-ranges/aws-ip-ranges.json").read_bytes()
    with pytest.raises(InputError, match="looks like a aws"):
        ranges.parse(aws, "x.json", "azure")
    with pytest.raises(InputError):
        ranges.parse(b'{"values": [], "changeNumber": 1, "cloud": 5}'[:-3], "trunc.json")


def test_geo_ranges_store_tamper_and_update_from_local_server(tmp_path):
    import http.server
    import threading

    base = shared_path("fixtures/cloud-ranges")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(base), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        results = ranges.update(
            tmp_path,
            urls={
                "aws": f"{url}/aws-ip-ranges.json",
                "gcp": f"{url}/google-cloud-ip-ranges.json",
                "oci": f"{url}/oracle-cloud-ip-ranges.json",
                "cloudflare-v4": f"{url}/cloudflare-v4-ip-ranges.txt",
                "cloudflare-v6": f"{url}/cloudflare-v6-ip-ranges.txt",
                "fastly": f"{url}/fastly-ip-ranges.json",
            },
            azure_url=f"{url}/microsoft-azure-ip-ranges.json",
        )
        assert all(r.ok for r in results), results
        bad = ranges.update(tmp_path, only=("aws",), urls={"aws": f"{url}/missing.json"})
        assert not bad[0].ok and "404" in bad[0].message
    finally:
        server.shutdown()
    manifest = ranges.read_manifest(tmp_path)
    assert manifest["aws"]["syncToken"] == "1753388594" and manifest["azure"]["source"].endswith(".json")
    idx = ranges.RangeIndex.load(tmp_path)  # the failed update kept the good copy
    assert idx.lookup("3.120.0.1").region == "aws:eu-central-1"
    (tmp_path / "gcp.json").write_bytes((tmp_path / "gcp.json").read_bytes().replace(b"europe-west3", b"us-east1"))
    with pytest.raises(InputError, match="changed since"):
        ranges.RangeIndex.load(tmp_path)


def test_geo_ranges_azure_page_link():
    page = '<a href="https://download.microsoft.com/download/7/1/D/71D8/ServiceTags_Public_20251103.json">x</a>'
    assert ranges.find_azure_url(page).endswith("ServiceTags_Public_20251103.json")


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
