"""verify-residency end to end: the full CLI in the client namespace of a real topology
(client - r1 - r2 - r3 - server) built by tests/netns_topo.py; test mmdbs place the
documentation-range addresses (explicit user data places special-purpose addresses)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import netns_topo
from residency_helpers import write_city_mmdb

pytestmark = [pytest.mark.netns, pytest.mark.slow]

FRA = (50.11, 8.68)
ASH = (39.04, -77.49)
CLI = [sys.executable, "-m", "mistral_sov"]


@pytest.fixture(scope="module")
def topo():
    ok, why = netns_topo.available()
    if not ok:
        pytest.skip(why)
    spec = netns_topo.TopoSpec(
        routers=3,
        servers=[
            netns_topo.ServerSpec("203.0.113.10", "2001:db8:200::10"),
            netns_topo.ServerSpec("203.0.113.50", "2001:db8:200::50", drop=True),
        ],
    )
    with netns_topo.build(spec) as t:
        yield t


def mmdb(tmp_path: Path, *, r2=("DE", *FRA), server=("DE", *FRA), routers=True) -> Path:
    """``routers=False``: only r2 and the server are placed (the namespace has no latency, so a
    far-away place next to a placed Frankfurt router is refuted by hop-to-hop physics)."""
    places = {"203.0.113.0/24": server, "2001:db8:200::/48": server}
    if r2 is not None:
        places["198.51.100.2/32"] = r2
    if routers:
        places |= {"198.51.100.1/32": ("DE", *FRA), "198.51.100.3/32": ("DE", *FRA), "2001:db8:100::/48": ("DE", *FRA)}
    return write_city_mmdb(tmp_path / "test-city.mmdb", places)


def run(topo, tmp_path, *args):
    proc = topo.run_in_client(
        [
            *CLI,
            "verify-residency",
            *args,
            "--ranges-dir",
            str(tmp_path / "ranges"),
            "--timeout",
            "1",
            "--max-hops",
            "8",
            "--method",
            "udp",
            "-o",
            "json",
        ],
        cwd=str(tmp_path),
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return proc, doc


def rules(doc):
    return {f["rule_id"] for c in doc["checks"] for f in c["findings"]}


def test_residency_netns_all_eu_compliant_with_physics(topo, tmp_path):
    proc, doc = run(topo, tmp_path, "203.0.113.10", "--geoip-db", str(mmdb(tmp_path)), "--vantage", "Frankfurt")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    check = doc["checks"][0]
    assert check["verdict"] == "COMPLIANT"
    hops = check["details"]["hops"]
    assert [h["address"] for h in hops] == ["198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.10"]
    assert all(h["country"] == "DE" and h["max_km_vacuum"] is not None for h in hops)
    assert "destination" in hops[-1]["flags"] and check["details"]["reached"]
    ev = doc["metadata"]["evidence"]
    assert ev["raw_traces"] and any(s["name"] == "Test-City" for s in ev["sources"])


def test_residency_netns_us_transit_is_violation_and_physics_live(topo, tmp_path):
    db = mmdb(tmp_path, r2=("US", *ASH))
    # without a vantage: hop 1 (Frankfurt) and hop 2 ("Virginia") both answered within a millisecond,
    # so the claims contradict each other; nothing says which is wrong: INCONCLUSIVE, never a pass
    proc, doc = run(topo, tmp_path, "203.0.113.10", "--geoip-db", str(db))
    assert proc.returncode == 3, proc.stderr
    physics = [f for c in doc["checks"] for f in c["findings"] if f["rule_id"] == "RES-PHYSICS"]
    assert physics and physics[0]["verdict"] == "INCONCLUSIVE" and physics[0]["evidence"]["against"].startswith("hop 1")
    assert doc["checks"][0]["details"]["not_evaluated"][0]["check"] == "physics"
    # live physics: a sub-millisecond hop placed in Virginia from a Frankfurt vantage is impossible
    proc, doc = run(topo, tmp_path, "203.0.113.10", "--geoip-db", str(db), "--vantage", "Frankfurt")
    assert proc.returncode == 0, proc.stdout
    assert "RES-PHYSICS" in rules(doc) and "RES-TRANSIT-COUNTRY" not in rules(doc)
    assert "physics-contradiction" in doc["checks"][0]["details"]["hops"][1]["flags"]


def test_residency_netns_forbidden_destination_ipv6_and_dropping_target(topo, tmp_path):
    db = mmdb(tmp_path, server=("US", *ASH), r2=None, routers=False)
    proc, doc = run(topo, tmp_path, "203.0.113.10", "--geoip-db", str(db))
    assert proc.returncode == 1 and "RES-DEST-COUNTRY" in rules(doc)
    # next to a router placed in Frankfurt, a sub-millisecond "Virginia" destination is refuted: never a pass
    proc, doc = run(topo, tmp_path, "203.0.113.10", "--geoip-db", str(mmdb(tmp_path, server=("US", *ASH))))
    assert proc.returncode == 3 and "RES-PHYSICS" in rules(doc)
    proc, doc = run(topo, tmp_path, "2001:db8:200::10", "--geoip-db", str(mmdb(tmp_path)))
    assert proc.returncode == 0, proc.stdout
    assert doc["checks"][0]["details"]["hops"][-1]["address"] == "2001:db8:200::10"
    proc, doc = run(topo, tmp_path, "203.0.113.50", "--geoip-db", str(mmdb(tmp_path)))
    assert proc.returncode == 3 and "RES-UNREACHED" in rules(doc)


def test_residency_netns_private_link_policy_sarif_and_signed(topo, tmp_path):
    policy = tmp_path / "sovereignty.yaml"
    policy.write_text(
        "version: 1\norganization: Test Bank\nzones:\n  allowed_countries: [EU]\n"
        "vantage:\n  city: Frankfurt\nendpoints:\n"
        "  - name: aoai-private\n    url: https://203.0.113.10\n    region: azure:germanywestcentral\n"
        "    private_link: true\n",
        encoding="utf-8",
    )
    feed = tmp_path / "feed.csv"
    feed.write_text("198.51.100.0/24,DE,DE-HE,Frankfurt,\n", encoding="utf-8")
    key_dir = tmp_path / "keys"
    assert topo.run_in_client([*CLI, "keys", "generate", "--out", str(key_dir)]).returncode == 0
    proc, doc = run(
        topo,
        tmp_path,
        "-p",
        str(policy),
        "--geofeed",
        str(feed),
        "--report",
        f"sarif:{tmp_path / 'r.sarif'}",
        "--report",
        f"json:{tmp_path / 'e.json'}",
        "--sign-key",
        str(key_dir / "mistral-sov-evidence.key"),
    )
    # private_link: true on an IP literal: no privatelink.* CNAME proves it, so INCONCLUSIVE (exit 3)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    check = doc["payload"]["checks"][0]  # -o json is the signed envelope
    assert [f["rule_id"] for f in check["findings"]] == ["RES-PRIVATE-LINK"]
    verify = topo.run_in_client(
        [
            *CLI,
            "evidence",
            "verify",
            str(tmp_path / "e.json"),
            "--public-key",
            str(key_dir / "mistral-sov-evidence.pub"),
        ]
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    sarif = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"


def test_residency_netns_silent_router_warns(tmp_path):
    ok, why = netns_topo.available()
    if not ok:
        pytest.skip(why)
    with netns_topo.build(netns_topo.TopoSpec(routers=3, servers=1, silent_routers={2})) as t:
        proc, doc = run(t, tmp_path, "203.0.113.10", "--geoip-db", str(mmdb(tmp_path)))
        assert proc.returncode == 0, proc.stdout
        assert doc["verdict"] == "WARNING" and "RES-UNKNOWN-HOP" in rules(doc)
        assert "silent" in doc["checks"][0]["details"]["hops"][1]["flags"]
        proc, _ = run(t, tmp_path, "203.0.113.10", "--geoip-db", str(mmdb(tmp_path)), "--fail-on", "warning")
        assert proc.returncode == 1


def test_residency_cli_tcp_demanded_without_privileges_and_bad_input(monkeypatch, tmp_path, capsys):
    """In process: the raw tracer reported unavailable (as for an unprivileged user) -> exit 4."""
    from mistral_sov.adapters.probes import tracers
    from mistral_sov.cli.app import main

    monkeypatch.setattr(tracers, "raw_unavailable_reasons", lambda: ["no raw-socket privilege (test)"])
    monkeypatch.chdir(tmp_path)
    base = ["verify-residency", "--ranges-dir", str(tmp_path / "r")]
    for argv, code in [
        ([*base, "192.0.2.10", "--method", "tcp"], 4),
        ([*base, "192.0.2.10", "--vantage", "Atlantis"], 2),
        ([*base, "192.0.2.10", "--geoip-db", str(tmp_path / "none.mmdb")], 2),
        ([*base, "192.0.2.10", "--report", "nonsense"], 2),
        ([*base, "--from-atlas", str(tmp_path / "missing.jsonl")], 2),
        ([*base], 2),  # no policy, no target
        ([*base, "nx.invalid", "--method", "udp", "--timeout", "0.2"], 3),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == code, (argv, err)
        assert "Traceback" not in err


def test_residency_ctrl_c_stops_within_a_second(tmp_path):
    """SIGINT during a trace to a destination that never answers (--timeout 30): the command
    prints 'interrupted' and exits 130 within a second, without a traceback."""
    import signal
    import subprocess
    import time

    ok, why = netns_topo.available()
    if not ok:
        pytest.skip(why)
    spec = netns_topo.TopoSpec(
        routers=2, servers=[netns_topo.ServerSpec("203.0.113.50", "2001:db8:200::50", drop=True)]
    )
    with netns_topo.build(spec) as t:
        argv = t.exec_argv(
            t.client_ns,
            [
                *CLI,
                "verify-residency",
                "203.0.113.50",
                "--method",
                "udp",
                "--timeout",
                "30",
                "--no-https-probe",
                "--ranges-dir",
                str(tmp_path / "r"),
            ],
        )
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
        time.sleep(2.0)
        assert proc.poll() is None, "the trace ended before the interrupt"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert elapsed < 1.0, f"took {elapsed:.2f} s to stop"
