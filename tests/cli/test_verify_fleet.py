"""``verify-residency --from-fleet``: the real command on downloaded Intune results; reports
checked by their consumers (junitparser, the SARIF 2.1.0 schema), evidence by ``evidence verify``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
from fleet_samples import EU_PATH, US_PATH, graph_doc, line, portal_csv, write_policy
from junitparser import JUnitXml
from sharedpaths import shared_path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "fleet"
CLI = [sys.executable, "-m", "mistral_sov"]


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [*CLI, "verify-residency", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def _recent(hours: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_fleet_run_end_to_end(tmp_path):
    policy = write_policy(tmp_path)
    t = _recent(2)
    rows = [(f"FRA-{i}", line(f"FRA-{i}", time=t), t) for i in range(4)]
    rows += [("LYS-1", line("LYS-1", US_PATH, time=t, site={"ad": "LYS"}), t)]
    rows += [("FRA-CUT", line("FRA-CUT", time=t)[100:], t)]  # Intune kept only the tail
    graph = tmp_path / "runstates.json"
    graph.write_text(json.dumps(graph_doc(rows)), encoding="utf-8")
    t2 = _recent(1)
    csv_rows = [(f"PAR-{i}", line(f"PAR-{i}", time=t2, site={"ad": "PAR"}), t2) for i in range(2)]
    export = tmp_path / "intune-export.csv"
    export.write_bytes(portal_csv(csv_rows, "utf-16"))
    sites = tmp_path / "sites.csv"
    sites.write_text('site,vantage\nFRA-HQ,Frankfurt\nPAR,"48.86,2.35"\n', encoding="utf-8")
    key_dir = tmp_path / "keys"
    gen = subprocess.run(
        [*CLI, "keys", "generate", "--out", str(key_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert gen.returncode == 0, gen.stderr
    key = next(key_dir.glob("*.key"))
    proc = _run(
        tmp_path,
        "-p", str(policy),
        "--from-fleet", str(graph),
        "--from-fleet", str(export),
        "--fleet-sites", str(sites),
        "--ranges-dir", str(tmp_path / "ranges"),
        "--report", f"junit:{tmp_path / 'fleet.xml'}",
        "--report", f"sarif:{tmp_path / 'fleet.sarif'}",
        "--report", f"html:{tmp_path / 'fleet.html'}",
        "--report", f"markdown:{tmp_path / 'fleet.md'}",
        "--report", f"json:{tmp_path / 'evidence.json'}",
        "--sign-key", str(key),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr  # LYS-1 crosses the US
    assert "mistral-eu: compliant from 6 of 8 devices" in proc.stdout
    # JUnit: one testcase per endpoint and site, read by junitparser
    xml = JUnitXml.fromfile(str(tmp_path / "fleet.xml"))
    cases = {c.name: c for suite in xml for c in suite}
    assert any("FRA-HQ" in n for n in cases) and any("LYS" in n for n in cases) and any("PAR" in n for n in cases)
    # SARIF validates against the official schema
    schema = json.loads(shared_path("schemas/sarif/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    sarif = json.loads((tmp_path / "fleet.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(sarif, schema)
    assert any(r["ruleId"] == "RES-TRANSIT-COUNTRY" for r in sarif["runs"][0]["results"])
    md = (tmp_path / "fleet.md").read_text(encoding="utf-8")
    assert "compliant from 4 of 4 devices" in md and "LYS-1" in md
    assert "LYS-1" in (tmp_path / "fleet.html").read_text(encoding="utf-8")
    # signed evidence with each source file's SHA-256
    envelope = json.loads((tmp_path / "evidence.json").read_text(encoding="utf-8"))
    fleet = envelope["payload"]["metadata"]["evidence"]["fleet"]
    by_file = {Path(i["file"]).name: i for i in fleet["inputs"]}
    assert by_file["runstates.json"]["sha256"] == hashlib.sha256(graph.read_bytes()).hexdigest()
    assert by_file["intune-export.csv"]["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    assert by_file["intune-export.csv"]["encoding"] == "utf-16-le"
    assert fleet["endpoints"]["mistral-eu"]["sites"]["FRA-HQ"] == {"devices": 4, "compliant": 4}
    pub = next(key_dir.glob("*.pub"))
    ok = subprocess.run(
        [*CLI, "evidence", "verify", str(tmp_path / "evidence.json"), "--public-key", str(pub)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    checks = {c["name"]: c for c in envelope["payload"]["checks"]}
    cut = checks["mistral-eu @ (no site hint)"]  # a truncated line has no site any more
    assert cut["verdict"] == "INCONCLUSIVE"
    assert cut["details"]["worst_devices"][0]["device"] == "FRA-CUT"
    assert "truncated" in cut["details"]["worst_devices"][0]["reason"]


def test_fleet_tracert_captures_and_json_output(tmp_path):
    policy = write_policy(tmp_path)
    files = [str(DATA / n) for n in ("tracert-en.txt", "tracert-de-cp850.txt", "tracert-fr-utf16.txt")]
    for f in files:
        os.utime(f)  # a capture's time is its file's modification time
    args = [a for f in files for a in ("--from-fleet", f)]
    proc = _run(tmp_path, "-p", str(policy), *args, "--ranges-dir", str(tmp_path / "r"), "-o", "json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr  # warnings only (a silent hop each)
    fleet = doc["metadata"]["evidence"]["fleet"]
    assert fleet["endpoints"]["mistral-eu"]["summary"] == "compliant from 3 of 3 devices"
    assert fleet["notes"]


def test_fleet_bad_input_exits_2_without_traceback(tmp_path):
    policy = write_policy(tmp_path)
    missing = _run(tmp_path, "-p", str(policy), "--from-fleet", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "nope.json" in missing.stderr
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(4096))
    bad = _run(tmp_path, "-p", str(policy), "--from-fleet", str(junk))
    assert bad.returncode == 2 and "junk.bin:1:1" in bad.stderr
    sites = tmp_path / "sites.csv"
    sites.write_text("FRA-HQ,Atlantis\n", encoding="utf-8")
    good = tmp_path / "g.jsonl"
    good.write_text(line("PC-1", time=_recent(1)) + "\n", encoding="utf-8")
    wrong = _run(tmp_path, "-p", str(policy), "--from-fleet", str(good), "--fleet-sites", str(sites))
    assert wrong.returncode == 2 and "sites.csv:1:" in wrong.stderr


def test_fleet_hostile_json_is_inconclusive_not_a_crash(tmp_path):
    policy = write_policy(tmp_path)
    t = _recent(1)
    rows = [("PC-1", line("PC-1", time=t), t), ("PC-2", "{" * 50000, t), ("PC-3", "\x00\ufffd", t), (None, 5, t)]
    doc = graph_doc(rows)  # type: ignore[arg-type]
    doc["value"].append("not an object")
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc)[:-40], encoding="utf-8")  # and cut short
    proc = _run(
        tmp_path, "-p", str(policy), "--from-fleet", str(path), "--ranges-dir", str(tmp_path / "r"), "-o", "json"
    )
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["checks"][0]["name"] == "fleet input"
    fleet = out["metadata"]["evidence"]["fleet"]
    assert fleet["endpoints"]["mistral-eu"]["compliant"] == 1 and fleet["devices"] >= 3


def test_worker_processes_give_the_same_result(tmp_path):
    """The parallel path (worker processes, chunks in flight) equals the serial one."""
    from mistral_sov.adapters.catalogfile import load_catalog
    from mistral_sov.adapters.policyfile import load_policy
    from mistral_sov.cli.verify_fleet import judge_fleet
    from mistral_sov.services.verify import VerifyOptions

    policy = load_policy(write_policy(tmp_path), load_catalog())
    t = _recent(1)
    rows = [(f"PC-{i}", line(f"PC-{i}", US_PATH if i % 7 == 0 else EU_PATH, time=t), t) for i in range(60)]
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph_doc(rows)), encoding="utf-8")
    options = VerifyOptions(ranges_dir=tmp_path / "r")
    serial = judge_fleet(policy, [path], options, workers=1)
    parallel = judge_fleet(policy, [path], options, workers=2)
    a, b = serial.metadata["evidence"]["fleet"], parallel.metadata["evidence"]["fleet"]
    assert a["device_verdicts_sha256"] == b["device_verdicts_sha256"]
    assert a["endpoints"] == b["endpoints"] and a["endpoints"]["mistral-eu"]["compliant"] == 51
    assert [c.verdict for c in serial.checks] == [c.verdict for c in parallel.checks]
    # the worst devices' findings and path come from checks the workers ship as bytes
    assert [c.to_dict() for c in serial.checks] == [c.to_dict() for c in parallel.checks]
    listed = [c.details["worst_device_path"] for c in parallel.checks if c.details.get("worst_device_path")]
    assert listed and any(f.rule_id == "RES-TRANSIT-COUNTRY" for c in parallel.checks for f in c.findings)
