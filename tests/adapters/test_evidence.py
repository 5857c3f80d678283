"""Signed evidence: sign, verify, tamper."""

from __future__ import annotations

import json
import os
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
