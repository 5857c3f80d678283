"""Cloud range files: real files, lookup, store tamper, update from a local server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sharedpaths import shared_path

from mistral_sov.adapters.geo import ranges
from mistral_sov.errors import InputError


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
    import gzip
    import http.server
    import shutil
    import threading

    from mistral_sov.adapters.geo.asn_table import AsnTable

    base = tmp_path / "served"
    shutil.copytree(shared_path("fixtures/cloud-ranges"), base)
    tsv = "3.120.0.0\t3.127.255.255\t16509\tUS\tAMAZON-02\n2a05:d000::\t2a05:d07f:ffff:ffff:ffff:ffff:ffff:ffff\t16509\tUS\tAMAZON-02\n"
    (base / "ip2asn-combined.tsv.gz").write_bytes(gzip.compress(tsv.encode()))
    tmp_path = tmp_path / "store"

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
                "asn": f"{url}/ip2asn-combined.tsv.gz",
            },
            azure_url=f"{url}/microsoft-azure-ip-ranges.json",
        )
        assert all(r.ok for r in results), results
        assert [r.key for r in results][-1] == "asn"
        table = AsnTable.load(tmp_path)
        assert table is not None and table.asn("3.120.0.10").asn == 16509 and table.asn("8.8.8.8") is None
        assert table.asn("2a05:d000::1").organisation == "AMAZON-02"
        assert table.info().sha256 and table.info().kind == "asn"
        (tmp_path / "asn-ip2asn-combined.tsv.gz").write_bytes(gzip.compress(b"1.0.0.0\t1.0.0.255\t13335\tUS\tX\n"))
        with pytest.raises(InputError, match="changed since"):
            AsnTable.load(tmp_path)
        (base / "ip2asn-combined.tsv.gz").write_bytes(b"not\ta table\n")
        bad_asn = ranges.update(tmp_path, only=("asn",), urls={"asn": f"{url}/ip2asn-combined.tsv.gz"})
        assert not bad_asn[0].ok and "not 'start" in bad_asn[0].message
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
