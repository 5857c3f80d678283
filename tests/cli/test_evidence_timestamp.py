"""Trusted time through the commands: ``verify-residency``, ``gate`` and ``audit pack`` with
``--timestamp-url`` (or ``evidence.tsa``) against a REAL local TSA (``openssl ts -reply``), and
``evidence verify --tsa-ca`` / ``evidence export``; ``openssl ts -verify`` and ``openssl pkeyutl``
judge the exported files. Hostile TSAs and tokens get defined exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelp import run_cli
from sharedpaths import shared_path
from tsa_helpers import LocalTSA, TestPKI, openssl_ed25519_verify, openssl_ts_verify

from mistral_sov.adapters import evidence, timestamp

POLICY = """\
version: 1
organization: Example Agency
endpoints:
  - name: india-svc
    url: https://220.226.205.30
evidence:
  tsa: {tsa}
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tsa(pki: TestPKI):  # type: ignore[no-untyped-def]
    with LocalTSA(pki) as server:
        yield server


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys")
    assert run_cli("keys", "generate", "--out", str(out)).code == 0
    return out


def residency(policy: Path, report: Path, keys: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(
        "verify-residency",
        "--policy",
        str(policy),
        "--from-atlas",
        str(shared_path("fixtures/ripe-atlas/traceroutes.jsonl")),
        "--report",
        f"json:{report}",
        "--sign-key",
        str(keys / "mistral-sov-evidence.key"),
        "-o",
        "json",
        *extra,
    )


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory, tsa: LocalTSA, keys: Path) -> Path:
    root = tmp_path_factory.mktemp("ev")
    policy = root / "sovereignty.yaml"
    policy.write_text(POLICY.format(tsa="https://unused.invalid/tsr"), encoding="utf-8")
    report = root / "evidence.json"
    result = residency(policy, report, keys, "--timestamp-url", tsa.url)
    assert result.code == 1, result.err  # the verdict (a violation): the TSA succeeded
    return report


def test_verify_residency_embeds_a_token_openssl_accepts(stamped: Path, pki: TestPKI, keys: Path) -> None:
    doc = json.loads(stamped.read_text(encoding="utf-8"))
    signed_bytes = evidence.canonical(doc["payload"])
    judged = openssl_ts_verify(signed_bytes, timestamp.response_bytes(doc["timestamp"]), pki.ca)
    assert judged.returncode == 0 and "Verification: OK" in judged.stdout, judged.stderr
    # the same bytes are what Ed25519 signed: OpenSSL checks the signature too
    import base64

    verified = openssl_ed25519_verify(
        signed_bytes, base64.b64decode(doc["signature"]["value"]), keys / "mistral-sov-evidence.pub"
    )
    assert verified.returncode == 0 and "Signature Verified Successfully" in verified.stdout, verified.stderr


def test_policy_evidence_tsa_is_used(tmp_path: Path, tsa: LocalTSA, keys: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(tsa=tsa.url), encoding="utf-8")
    report = tmp_path / "e.json"
    before = tsa.requests
    residency(policy, report, keys)
    assert "timestamp" in json.loads(report.read_text(encoding="utf-8"))
    assert tsa.requests == before + 1  # one token for the file and the stdout copy


@pytest.mark.parametrize("mode", ["garbage", "http500", "rogue-url"])
def test_tsa_failure_keeps_signed_evidence_without_trusted_time(
    tmp_path: Path, pki: TestPKI, keys: Path, mode: str
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(tsa="https://unused.invalid/tsr"), encoding="utf-8")
    report = tmp_path / "e.json"
    if mode == "rogue-url":
        result = residency(policy, report, keys, "--timestamp-url", "ftp://tsa.example/")
        assert result.code == 2 and not report.exists()
        return
    with LocalTSA(pki, mode) as bad:
        result = residency(policy, report, keys, "--timestamp-url", bad.url)
    # the verdict failed (1) so the TSA failure is a warning; the evidence is kept, signed
    assert result.code == 1
    assert "without trusted time" in result.err
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert "timestamp" not in doc
    assert run_cli("evidence", "verify", str(report), "--public-key", str(keys / "mistral-sov-evidence.pub")).code == 0


def test_timestamp_url_needs_a_sign_key(tmp_path: Path, tsa: LocalTSA) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(tsa=tsa.url), encoding="utf-8")
    result = run_cli(
        "verify-residency",
        "--policy",
        str(policy),
        "--from-atlas",
        str(shared_path("fixtures/ripe-atlas/traceroutes.jsonl")),
        "--timestamp-url",
        tsa.url,
    )
    assert result.code == 2 and "needs --sign-key" in result.err


def test_gate_signs_and_stamps_json_reports(tmp_path: Path, tsa: LocalTSA, pki: TestPKI, keys: Path) -> None:
    policy = tmp_path / "sovereignty.yaml"
    assert run_cli("init", str(policy)).code == 0
    report = tmp_path / "gate.json"
    result = run_cli(
        "gate",
        "--policy",
        str(policy),
        "--only",
        "policy",
        "--report",
        f"json:{report}",
        "--sign-key",
        str(keys / "mistral-sov-evidence.key"),
        "--timestamp-url",
        tsa.url,
        "-q",
    )
    assert result.code == 0, result.err
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["payload"]["kind"] == "gate"
    judged = openssl_ts_verify(evidence.canonical(doc["payload"]), timestamp.response_bytes(doc["timestamp"]), pki.ca)
    assert judged.returncode == 0, judged.stderr
    # a passing gate whose TSA fails exits 3: the requested trusted time is missing
    with LocalTSA(pki, "garbage") as bad:
        result = run_cli(
            "gate",
            "--policy",
            str(policy),
            "--only",
            "policy",
            "--report",
            f"json:{report}",
            "--sign-key",
            str(keys / "mistral-sov-evidence.key"),
            "--timestamp-url",
            bad.url,
            "-q",
        )
    assert result.code == 3 and "without trusted time" in result.err
    assert "timestamp" not in json.loads(report.read_text(encoding="utf-8"))


def test_audit_pack_index_is_time_stamped(
    tmp_path: Path, tsa: LocalTSA, pki: TestPKI, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_SOV_TSA_TIMEOUT", "1")
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(tsa=tsa.url), encoding="utf-8")
    out = tmp_path / "pack"
    result = run_cli(
        "audit",
        "pack",
        "--out",
        str(out),
        "--policy",
        str(policy),
        "--store",
        str(tmp_path / "store"),
        "--sign-key",
        str(keys / "mistral-sov-evidence.key"),
    )
    assert result.code == 0, result.err
    assert "RFC 3161 token of" in result.out
    doc = json.loads((out / "index.json").read_text(encoding="utf-8"))
    judged = openssl_ts_verify(evidence.canonical(doc["payload"]), timestamp.response_bytes(doc["timestamp"]), pki.ca)
    assert judged.returncode == 0, judged.stderr
    assert "RFC 3161 token of" in (out / "index.html").read_text(encoding="utf-8")
    with LocalTSA(pki, "slow") as slow:  # a TSA that never answers: exit 3, no pack
        result = run_cli(
            "audit",
            "pack",
            "--out",
            str(tmp_path / "pack2"),
            "--policy",
            str(policy),
            "--store",
            str(tmp_path / "store"),
            "--sign-key",
            str(keys / "mistral-sov-evidence.key"),
            "--timestamp-url",
            slow.url,
        )
    assert result.code == 3 and "did not answer" in result.err
    assert not (tmp_path / "pack2").exists()


def verify(file: Path, keys: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("evidence", "verify", str(file), "--public-key", str(keys / "mistral-sov-evidence.pub"), *extra)


def test_evidence_verify_trusted_time(stamped: Path, pki: TestPKI, keys: Path) -> None:
    result = verify(stamped, keys, "--tsa-ca", str(pki.ca))
    assert result.code == 0, result.out + result.err
    assert "trusted time: valid" in result.out and "CN=Test TSA" in result.out
    result = verify(stamped, keys)  # token present, not checked without --tsa-ca
    assert result.code == 0 and "--tsa-ca" in result.out
    result = verify(stamped, keys, "--tsa-ca", str(pki.rogue_ca))  # another CA: not vouched for
    assert result.code == 1 and "untrusted" in result.out


def test_evidence_verify_hostile_tokens(stamped: Path, pki: TestPKI, keys: Path, tmp_path: Path) -> None:
    doc = json.loads(stamped.read_text(encoding="utf-8"))
    # a token lifted from other evidence (other signed bytes): mismatch, exit 1
    other = dict(doc)
    other["timestamp"] = timestamp.request(b"other evidence", _tsa_url(doc))
    lifted = tmp_path / "lifted.json"
    lifted.write_bytes(evidence.dump(other))
    result = verify(lifted, keys, "--tsa-ca", str(pki.ca))
    assert result.code == 1 and "different bytes" in result.out
    # garbage token: exit 1
    bad = dict(doc, timestamp=dict(doc["timestamp"], response="AAAA"))
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(evidence.dump(bad))
    assert verify(garbage, keys, "--tsa-ca", str(pki.ca)).code == 1
    # no token while trusted time is asked for: inconclusive, exit 3
    bare = {k: v for k, v in doc.items() if k != "timestamp"}
    unstamped = tmp_path / "bare.json"
    unstamped.write_bytes(evidence.dump(bare))
    result = verify(unstamped, keys, "--tsa-ca", str(pki.ca))
    assert result.code == 3 and "no trusted time" in result.out
    assert verify(unstamped, keys).code == 0  # signed, says "no trusted time"
    # a CA bundle that is not one: exit 2
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", encoding="utf-8")
    result = verify(stamped, keys, "--tsa-ca", str(junk))
    assert result.code == 2 and "Traceback" not in result.err


def _tsa_url(doc: dict) -> str:
    return doc["timestamp"]["tsa_url"]


def test_evidence_export_for_openssl(stamped: Path, pki: TestPKI, keys: Path, tmp_path: Path) -> None:
    out = tmp_path / "check"
    result = run_cli("evidence", "export", str(stamped), "--out", str(out))
    assert result.code == 0, result.err
    data = (out / "signed-bytes.json").read_bytes()
    judged = openssl_ts_verify(data, (out / "timestamp.tsr").read_bytes(), pki.ca)
    assert judged.returncode == 0 and "Verification: OK" in judged.stdout, judged.stderr
    signature = openssl_ed25519_verify(data, (out / "signature.bin").read_bytes(), keys / "mistral-sov-evidence.pub")
    assert signature.returncode == 0, signature.stderr
    assert "openssl ts -verify" in (out / "README.txt").read_text(encoding="utf-8")
    again = run_cli("evidence", "export", str(stamped), "--out", str(out))  # never overwrites
    assert again.code == 2 and "refusing to overwrite" in again.err


@pytest.mark.parametrize("url", ["ftp://tsa.example", "tsa.example.eu/tsr", "https://user:pw@tsa.example/tsr"])
def test_policy_validate_refuses_a_bad_tsa_url_at_its_line(tmp_path: Path, url: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(f"version: 1\norganization: X\nevidence:\n  tsa: {url}\n", encoding="utf-8")
    result = run_cli("policy", "validate", "-p", str(policy))
    assert result.code == 2 and f"{policy}:4:8" in result.err and "evidence.tsa" in result.err
