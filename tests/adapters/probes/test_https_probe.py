"""Where inference runs: the HTTPS probe against a real HTTPS server in a network namespace that
answers with serving-region headers (x-ms-region, apim-request-id), judged end to end by
verify-residency; plus the header table on its own."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import netns_topo
from residency_helpers import write_city_mmdb

from mistral_sov.adapters.probes.https_probe import header_rules, read_region_headers

FRA = (50.11, 8.68)
SERVER = "203.0.113.10"
CLI = [sys.executable, "-m", "mistral_sov"]


def test_region_headers_are_read_from_the_sourced_table():
    found = read_region_headers({"X-MS-Region": "Sweden Central", "apim-request-id": "abc", "cf-ray": "8a1b-FRA"})
    by = {r.header: r for r in found}
    assert by["x-ms-region"].region == "azure:swedencentral" and by["x-ms-region"].country == "SE"
    assert by["x-ms-region"].reveals == "serving-region" and by["x-ms-region"].source
    assert by["apim-request-id"].reveals == "gateway"
    assert by["cf-ray"].reveals == "edge" and by["cf-ray"].region == "iata:FRA"
    assert read_region_headers({"x-ms-region": "switzerlandnorth"})[0].country == "CH"
    assert read_region_headers({"x-ms-region": "Atlantis East"})[0].country is None
    assert all(r.source for r in header_rules())


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aoai.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(SERVER))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


SERVER_CODE = textwrap.dedent(
    """
    import http.server, ssl, sys
    cert, key, region_file = sys.argv[1:4]
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(401)
            self.send_header("x-ms-region", open(region_file).read().strip())
            self.send_header("apim-request-id", "0f1e2d3c")
            self.send_header("content-length", "0")
            self.end_headers()
        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", 443), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    srv.serve_forever()
    """
)


@pytest.fixture(scope="module")
def https_topo(tmp_path_factory):
    ok, why = netns_topo.available()
    if not ok:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("https")
    cert, key = _certificate(tmp)
    region = tmp / "region.txt"
    region.write_text("Sweden Central", encoding="utf-8")
    with netns_topo.build(netns_topo.TopoSpec(routers=2, servers=1, listener=False)) as topo:
        import subprocess

        proc = topo.popen_in(
            topo.server_ns,
            [sys.executable, "-c", SERVER_CODE, str(cert), str(key), str(region)],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and b"ready" in proc.stdout.readline()
        yield topo, tmp, cert, region


def _verify(topo, tmp: Path, cert: Path, *extra: str):
    places = {"198.51.100.0/24": ("DE", *FRA), "203.0.113.0/24": ("DE", *FRA)}
    db = write_city_mmdb(tmp / "city.mmdb", places)
    policy = tmp / "sovereignty.yaml"
    policy.write_text(
        "version: 1\norganization: T\nzones: {allowed_countries: [EU]}\nvantage: {city: Frankfurt}\n"
        f"endpoints:\n  - name: aoai\n    url: https://{SERVER}\n{''.join(extra)}",
        encoding="utf-8",
    )
    proc = topo.run_in_client(
        [
            *CLI,
            "verify-residency",
            "-p",
            str(policy),
            "--geoip-db",
            str(db),
            "--ranges-dir",
            str(tmp / "ranges"),
            "--method",
            "udp",
            "--timeout",
            "1",
            "--max-hops",
            "6",
            "--ca-bundle",
            str(cert),
            "-o",
            "json",
        ],
        cwd=str(tmp),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.mark.netns
def test_in_zone_serving_region_is_recorded_with_the_tls_chain(https_topo):
    topo, tmp, cert, region = https_topo
    region.write_text("Sweden Central", encoding="utf-8")
    proc, doc = _verify(topo, tmp, cert)
    assert proc.returncode == 0, proc.stdout
    https = doc["checks"][0]["details"]["https"]
    assert https["status"] == 401 and https["address"] == SERVER and https["error"] == ""
    assert https["tls_version"].startswith("TLS")
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    import hashlib

    from cryptography.hazmat.primitives import serialization

    assert (
        https["certificates"][0]["sha256"] == hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
    )
    regions = {r["header"]: r for r in https["regions"]}
    assert regions["x-ms-region"]["region"] == "azure:swedencentral" and regions["x-ms-region"]["country"] == "SE"
    assert "RES-SERVING-REGION" not in {f["rule_id"] for c in doc["checks"] for f in c["findings"]}


@pytest.mark.netns
def test_out_of_zone_serving_region_is_a_violation(https_topo):
    topo, tmp, cert, region = https_topo
    region.write_text("Switzerland North", encoding="utf-8")
    proc, doc = _verify(topo, tmp, cert)
    assert proc.returncode == 1, proc.stdout
    found = [f for c in doc["checks"] for f in c["findings"] if f["rule_id"] == "RES-SERVING-REGION"]
    assert found and found[0]["verdict"] == "VIOLATION" and found[0]["evidence"]["country"] == "CH"
    assert found[0]["location"]["line"] == 7  # the endpoint's url: line, for SARIF annotations


@pytest.mark.netns
def test_global_deployment_is_a_violation_even_with_an_eu_path(https_topo):
    topo, tmp, cert, region = https_topo
    region.write_text("Sweden Central", encoding="utf-8")
    proc, doc = _verify(topo, tmp, cert, "    deployment: global\n")
    assert proc.returncode == 1, proc.stdout
    assert "RES-DEPLOYMENT" in {f["rule_id"] for c in doc["checks"] for f in c["findings"]}
