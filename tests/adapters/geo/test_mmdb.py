"""MaxMind/IPinfo mmdb provider against the MaxMind test databases (incl. broken ones) and mmdb-writer files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from residency_helpers import write_asn_mmdb, write_city_mmdb
from sharedpaths import shared_path

from mistral_sov.adapters.geo.mmdb import MmdbDatabase
from mistral_sov.core.attribution import is_internal
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
