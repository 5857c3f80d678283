"""A real RFC 3161 Time-Stamping Authority for tests: OpenSSL's ``openssl ts -reply`` behind a
tiny loopback HTTP server, with a test CA and a TSA certificate (extendedKeyUsage critical
timeStamping) made here with ``cryptography``.

``TestPKI`` writes ca.pem / tsa.pem / tsa.key (and an unrelated "rogue" CA + TSA) into a
directory; ``LocalTSA`` serves ``POST /`` (application/timestamp-query) by running OpenSSL, and
has modes for hostile behaviour: ``garbage`` (random bytes), ``slow`` (never answers in time),
``http500``, ``rogue`` (signs with a certificate from another CA), ``replay`` (answers with a
token for other bytes). ``openssl_ts_verify`` runs ``openssl ts -verify``: the third-party judge.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TSA_CONF = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/{signer}.pem
signer_key = $dir/{signer}.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(cn: str):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(obj) -> bytes:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    if hasattr(obj, "private_bytes"):
        return obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    return obj.public_bytes(serialization.Encoding.PEM)


def make_ca(cn: str):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_tsa(cn: str, ca_key, ca_cert, *, eku_critical: bool = True, days: int = 365):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=eku_critical)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@dataclass
class TestPKI:
    """A test CA + TSA, and a rogue CA + TSA nobody trusts, written as PEM files into ``dir``."""

    dir: Path

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for prefix, ca_cn, tsa_cn in (("", "Test Root CA", "Test TSA"), ("rogue-", "Rogue CA", "Rogue TSA")):
            ca_key, ca_cert = make_ca(ca_cn)
            tsa_key, tsa_cert = make_tsa(tsa_cn, ca_key, ca_cert)
            (self.dir / f"{prefix}ca.pem").write_bytes(_pem(ca_cert))
            (self.dir / f"{prefix}tsa.pem").write_bytes(_pem(tsa_cert))
            (self.dir / f"{prefix}tsa.key").write_bytes(_pem(tsa_key))
            (self.dir / f"{prefix}tsa-chain.pem").write_bytes(_pem(tsa_cert) + _pem(ca_cert))
        (self.dir / "serial").write_text("01\n", encoding="ascii")
        for signer in ("tsa", "rogue-tsa"):
            (self.dir / f"{signer}.cnf").write_text(TSA_CONF.format(dir=self.dir, signer=signer), encoding="utf-8")
        # a TSA that embeds its chain (TSA certificate, then the CA) in chain order, as OpenSSL,
        # Microsoft and Bouncy Castle TSAs do: often not DER's sorted SET OF order
        chained = TSA_CONF.format(dir=self.dir, signer="tsa").replace(
            "signer_digest", f"certs = {self.dir}/ca.pem\nsigner_digest"
        )
        (self.dir / "tsa-chain.cnf").write_text(chained, encoding="utf-8")

    @property
    def ca(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def rogue_ca(self) -> Path:
        return self.dir / "rogue-ca.pem"


def openssl_reply(pki: TestPKI, query: bytes, signer: str = "tsa") -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
        q.write_bytes(query)
        subprocess.run(
            [
                "openssl",
                "ts",
                "-reply",
                "-config",
                str(pki.dir / f"{signer}.cnf"),
                "-queryfile",
                str(q),
                "-out",
                str(r),
            ],
            check=True,
            capture_output=True,
        )
        return r.read_bytes()


def openssl_query(data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        d, q = Path(tmp) / "d.bin", Path(tmp) / "q.tsq"
        d.write_bytes(data)
        subprocess.run(
            ["openssl", "ts", "-query", "-data", str(d), "-sha256", "-cert", "-out", str(q)],
            check=True,
            capture_output=True,
        )
        return q.read_bytes()


class LocalTSA:
    """``with LocalTSA(pki, mode) as tsa: tsa.url``; modes: ok, chain, garbage, slow, http500, rogue, replay."""

    def __init__(self, pki: TestPKI, mode: str = "ok") -> None:
        self.pki, self.mode = pki, mode
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if outer.mode == "slow":
                    time.sleep(3)
                    return
                if outer.mode == "http500":
                    self.send_error(500, "TSA on fire")
                    return
                if outer.mode == "garbage":
                    payload = b"<html>not a timestamp</html>" + os.urandom(64)
                elif outer.mode == "rogue":
                    payload = openssl_reply(outer.pki, body, "rogue-tsa")
                elif outer.mode == "chain":
                    payload = openssl_reply(outer.pki, body, "tsa-chain")
                elif outer.mode == "replay":
                    payload = openssl_reply(outer.pki, openssl_query(b"some other bytes"))
                else:
                    payload = openssl_reply(outer.pki, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/tsa"

    def __enter__(self) -> LocalTSA:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def openssl_ts_verify(data: bytes, response_der: bytes, ca: Path) -> subprocess.CompletedProcess[str]:
    """The third-party judge: ``openssl ts -verify -data FILE -in RESPONSE -CAfile CA``."""
    assert shutil.which("openssl"), "openssl is needed (Debian: apt-get install openssl)"
    with tempfile.TemporaryDirectory() as tmp:
        d, r = Path(tmp) / "signed-bytes.bin", Path(tmp) / "response.tsr"
        d.write_bytes(data)
        r.write_bytes(response_der)
        return subprocess.run(
            ["openssl", "ts", "-verify", "-data", str(d), "-in", str(r), "-CAfile", str(ca)],
            capture_output=True,
            text=True,
            check=False,
        )


def openssl_ed25519_verify(data: bytes, signature: bytes, public_key: Path) -> subprocess.CompletedProcess[str]:
    """The third-party judge of the Ed25519 signature: ``openssl pkeyutl -verify -rawin``."""
    with tempfile.TemporaryDirectory() as tmp:
        d, sig = Path(tmp) / "signed-bytes.json", Path(tmp) / "signature.bin"
        d.write_bytes(data)
        sig.write_bytes(signature)
        return subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                str(public_key),
                "-rawin",
                "-in",
                str(d),
                "-sigfile",
                str(sig),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
