"""Audit benchmark: cost of trusted time and of the audit records, as ratios in one process.

1. Signing a 1 MB residency report with Ed25519 alone vs signing it and getting an RFC 3161 token
   from a local OpenSSL TSA over loopback (the TSA round trip dominates; a remote TSA adds the
   network latency) and checking the token against the CA.
2. Building the audit records (DORA rows, GDPR record, AI Act sheet) and rendering the files for a
   policy of 50 vs 500 endpoints with residency evidence for each (should grow linearly).

Usage: python tests/benchmarks/audit.py [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsa_helpers import LocalTSA, TestPKI

from mistral_sov.adapters import audit_pack, evidence, timestamp
from mistral_sov.core.policy import Policy
from mistral_sov.services.audit import AuditInputs, EvidenceFile, build_records

N = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def median(fn, n: int = N) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(endpoints: int) -> dict:
    hop = {"country": "DE", "flags": [], "operator": "Op", "jurisdiction": "DE", "rtt_ms": [1.25, 1.5, 2.0]}
    checks = [
        {
            "name": f"ep{i}",
            "verdict": "COMPLIANT",
            "details": {
                "endpoint": f"ep{i}",
                "host": f"ep{i}.example.eu",
                "hops": [hop] * 12 + [{**hop, "flags": ["destination"]}],
            },
        }
        for i in range(endpoints)
    ]
    return {"kind": "verify-residency", "generated_at": "2026-12-03T00:00:00Z", "checks": checks, "metadata": {}}


def inputs(endpoints: int) -> AuditInputs:
    policy = Policy.model_validate(
        {
            "version": 1,
            "organization": "Bench",
            "endpoints": [{"name": f"ep{i}", "url": f"https://ep{i}.example.eu"} for i in range(endpoints)],
        }
    )
    ev = EvidenceFile("E1", "e.json", "0" * 64, report(endpoints), "unsigned", "no trusted time")
    return AuditInputs(policy, "p.yaml", "0" * 64, None, [], [ev], None, "/var/log/a.jsonl", "now", "bench")


def main() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    payload = report(400)
    size = len(json.dumps(payload))
    with tempfile.TemporaryDirectory() as tmp, LocalTSA(TestPKI(Path(tmp))) as tsa:
        cas = timestamp.load_ca_bundle(Path(tmp) / "ca.pem")
        sign = median(lambda: evidence.sign(payload, key))

        def sign_and_stamp() -> None:
            env = evidence.sign(payload, key)
            entry = timestamp.request(evidence.canonical(env["payload"]), tsa.url)
            assert timestamp.check(entry, evidence.canonical(env["payload"]), cas).ok

        stamped = median(sign_and_stamp)
    print(f"sign {size / 1e6:.1f} MB report (Ed25519)      median {sign * 1000:8.1f} ms")
    print(f"sign + RFC 3161 token + check (local TSA) median {stamped * 1000:8.1f} ms")
    print(f"ratio {stamped / sign:.2f}  (the TSA round trip; one per report)")

    def records(n: int) -> float:
        data = inputs(n)

        def run() -> None:
            built = build_records(data)
            audit_pack.record_artifacts(data, built, {})

        return median(run, max(3, N // 3))

    few, many = records(50), records(500)
    print(f"audit records, 50 endpoints    median {few * 1000:8.2f} ms")
    print(f"audit records, 500 endpoints   median {many * 1000:8.2f} ms")
    print(f"ratio {many / few:.1f} for 10x the endpoints (linear: about 10)")


if __name__ == "__main__":
    main()
