"""Signed evidence: sign, verify, tamper."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mistral_sov.adapters import evidence
from mistral_sov.errors import InputError


def test_residency_evidence_sign_verify_tamper(tmp_path):
    private, public = evidence.generate_keypair(tmp_path)
    if os.name == "posix":
        assert private.stat().st_mode & 0o777 == 0o600
    payload = {"kind": "verify-residency", "verdict": "COMPLIANT", "checks": [{"rtt": 1.25, "name": "ä"}]}
    signed = evidence.dump(evidence.sign(payload, evidence.load_private_key(private)))
    key = evidence.load_public_key(public)
    assert evidence.verify(signed, key)[0]
    doc = json.loads(signed)
    doc["payload"]["checks"][0]["rtt"] = 1.26
    ok, why = evidence.verify(json.dumps(doc).encode(), key)
    assert not ok and "changed" in why
    other = evidence.generate_keypair(tmp_path / "other")[1]
    assert not evidence.verify(signed, evidence.load_public_key(other))[0]
    with pytest.raises(InputError):
        evidence.verify(b'{"payload": {}}', key)
    with pytest.raises(InputError):
        evidence.verify(b"\x00not json", key)
    with pytest.raises(InputError, match="already exists"):
        evidence.generate_keypair(tmp_path)
    with pytest.raises(InputError):
        evidence.load_private_key(public)


# RTTs and other floats whose shortest round-trip form differs between Python's repr and
# ECMAScript (exponents, tiny and huge values), non-ASCII keys sorted by UTF-16 code units
VECTOR = {
    "kind": "verify-residency",
    "verdict": "COMPLIANT",
    "hops": [
        {"ttl": 1, "address": "192.0.2.1", "rtt_ms": [0.1, 12.5, 1.0, 100.0]},
        {"ttl": 2, "address": "2001:db8::1", "rtt_ms": [1e-7, 3.3333333333333335, 1e21, 5e-324]},
    ],
    "bounds": {"km": 1234.5678, "c_fraction": 0.6666666666666666, "neg": -0.5, "int_like": 2.0},
    "\u00e9t\u00e9": "\u20ac",
    "\U0001f600": "emoji key",
    "Z": None,
    "a": [True, False],
}


def _node_with_canonicalize() -> dict[str, str] | None:
    node = shutil.which("node")
    if not node:
        return None
    env = dict(os.environ)
    try:
        root = subprocess.run(
            ["npm", "root", "-g"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    env["NODE_PATH"] = root
    probe = subprocess.run([node, "-e", "require.resolve('canonicalize')"], env=env, capture_output=True, check=False)
    return env if probe.returncode == 0 else None


def test_jcs_bytes_match_rfc8785_on_floats() -> None:
    data = evidence.canonical(VECTOR)
    assert b" " not in data.replace(b"emoji key", b"")
    text = data.decode()
    # ECMAScript number forms (Python's json writes 1.0, 100.0, 1e-07, 2.0)
    assert '"rtt_ms":[0.1,12.5,1,100]' in text
    assert '"rtt_ms":[1e-7,3.3333333333333335,1e+21,5e-324]' in text
    assert '"int_like":2,' in text
    assert text.startswith('{"Z":null,"a":[true,false],')  # keys sorted by UTF-16 code units
    assert text.endswith('"\u00e9t\u00e9":"\u20ac","\U0001f600":"emoji key"}')


def test_javascript_jcs_reproduces_the_signed_bytes_and_verifies(tmp_path: Path) -> None:
    env = _node_with_canonicalize()
    if env is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node and the npm package 'canonicalize' are required in CI (.ci/run installs them)")
        pytest.skip("needs node and `npm install -g canonicalize@2.1.0`")
    private, public = evidence.generate_keypair(tmp_path)
    signed = evidence.sign(VECTOR, evidence.load_private_key(private))
    file = tmp_path / "evidence.json"
    file.write_bytes(evidence.dump(signed))
    script = Path(__file__).with_name("jcs_verify.cjs")
    run = subprocess.run(
        ["node", str(script), str(file), str(public)], env=env, capture_output=True, text=True, check=True
    )
    answer = json.loads(run.stdout)
    assert base64.b64decode(answer["canonical"]) == evidence.canonical(VECTOR)
    assert answer["valid"] is True  # Node's own Ed25519 accepts our signature over its own JCS bytes
    doc = json.loads(file.read_text())
    doc["payload"]["hops"][0]["rtt_ms"][1] = 12.6
    file.write_text(json.dumps(doc))
    run = subprocess.run(
        ["node", str(script), str(file), str(public)], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(run.stdout)["valid"] is False


@pytest.fixture
def signed(tmp_path: Path):
    private, public = evidence.generate_keypair(tmp_path)
    payload = {"kind": "verify-residency", "verdict": "VIOLATION", "rtt": 1.5}
    return evidence.sign(payload, evidence.load_private_key(private)), evidence.load_public_key(public)


def test_verify_refuses_duplicate_keys_anywhere(signed) -> None:
    doc, key = signed
    good = evidence.dump(doc).decode()
    assert evidence.verify(good.encode(), key)[0]
    # an unsigned verdict placed before the signed one: json.loads would keep the last
    forged_payload = good.replace('"payload": {', '"payload": {"verdict": "COMPLIANT", ', 1)
    forged_envelope = good.replace('{\n  "format"', '{"payload": {"verdict": "COMPLIANT"}, "format"', 1)
    nested = good.replace('"signature": {', '"signature": {"value": "AAAA", ', 1)
    for text in (forged_payload, forged_envelope, nested):
        assert text != good
        with pytest.raises(InputError, match="twice") as info:
            evidence.verify(text.encode(), key)
        assert info.value.exit_status == 2


def test_verify_refuses_unknown_envelope_and_signature_keys(signed) -> None:
    doc, key = signed
    for extra in ({"note": "unsigned claim"}, {"verdict": "COMPLIANT"}):
        with pytest.raises(InputError, match="unsigned fields"):
            evidence.verify(evidence.dump({**doc, **extra}), key)
    bad_sig = {**doc, "signature": {**doc["signature"], "comment": "x"}}
    with pytest.raises(InputError, match="unknown keys: comment"):
        evidence.verify(evidence.dump(bad_sig), key)
    # the documented optional field is accepted by the parser (its own verifier checks it)
    envelope = evidence.parse_envelope(evidence.dump({**doc, "timestamp": {"type": "rfc3161"}}))
    assert envelope.optional == {"timestamp": {"type": "rfc3161"}}
    assert envelope.signed_bytes() == evidence.canonical(doc["payload"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[" * 5000 + "]" * 5000, "nests deeper"),
        ('{"format": "x", "payload": ' + "9" * 5000 + "}", "cannot carry"),
        ('{"payload": NaN}', "cannot carry"),
        ("\ufeff\x00", "not JSON"),
    ],
)
def test_hostile_json_is_exit_2(signed, text: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        evidence.verify(text.encode(), signed[1])


def test_legacy_format_1_still_verifies_and_says_so(tmp_path: Path) -> None:
    private, public = evidence.generate_keypair(tmp_path)
    key = evidence.load_private_key(private)
    payload = {"verdict": "COMPLIANT", "rtt": 1e-7}
    legacy = {
        "format": evidence.LEGACY_FORMAT,
        "payload": payload,
        "signature": {
            "algorithm": "Ed25519",
            "public_key_sha256": evidence._public_fingerprint(key.public_key()),
            "value": base64.b64encode(key.sign(evidence.legacy_canonical(payload))).decode(),
        },
    }
    ok, why = evidence.verify(evidence.dump(legacy), evidence.load_public_key(public))
    assert ok and "legacy" in why
    assert evidence.legacy_canonical(payload) != evidence.canonical(payload)  # 1e-07 vs 1e-7
