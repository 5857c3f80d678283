"""``mistral-sov audit pack`` end to end: the real SmolLM2 GGUF in a store, a real export bundle,
signed residency evidence from RIPE Atlas results; the pack is read back by independent
consumers (csv, lxml's HTML parser, the CycloneDX schema, ``evidence verify``); bad input exits
2/5, a failed check 1, and never leaves a half-written pack."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from clihelp import run_cli
from gguf_models import smollm2, smollm2_sha256
from sharedpaths import shared_path

from mistral_sov.adapters import sbom
from mistral_sov.services.audit import B_02_02, B_05_01


@pytest.fixture(scope="module")
def model_sha() -> str:
    return smollm2_sha256()


POLICY = """\
version: 1
organization: Example Bank <SA> & Co
endpoints:
  - name: india-svc
    url: https://220.226.205.30
  - name: azure-openai-de
    url: https://contoso-de.openai.azure.com
    region: azure:germanywestcentral
blocking:
  exceptions: [contoso-de.openai.azure.com]
local_inference:
  audit_log_retention_days: {days}
  models:
    - name: smollm2
      sha256: {sha}
      license: apache-2.0
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, model_sha: str) -> dict[str, Path]:
    """A policy, a store holding the approved model, an export bundle, keys and signed evidence."""
    root = tmp_path_factory.mktemp("site")
    policy = root / "sovereignty.yaml"
    policy.write_text(POLICY.format(days=200, sha=model_sha), encoding="utf-8")
    store = root / "store"
    assert run_cli("local", "models", "import", str(smollm2()), "--name", "smollm2", "--store", str(store)).code == 0
    assert run_cli("policy", "export", "--policy", str(policy), "--out", str(root / "bundle")).code == 0
    assert run_cli("keys", "generate", "--out", str(root / "keys")).code == 0
    evidence = root / "evidence.json"
    atlas = shared_path("fixtures/ripe-atlas/traceroutes.jsonl")
    result = run_cli(
        "verify-residency",
        "--policy",
        str(policy),
        "--from-atlas",
        str(atlas),
        "--report",
        f"json:{evidence}",
        "--sign-key",
        str(root / "keys" / "mistral-sov-evidence.key"),
        "-o",
        "json",
    )
    assert evidence.is_file(), result.err
    return {
        "root": root,
        "policy": policy,
        "store": store,
        "bundle": root / "bundle",
        "key": root / "keys" / "mistral-sov-evidence.key",
        "pub": root / "keys" / "mistral-sov-evidence.pub",
        "evidence": evidence,
    }


def pack_args(site: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "audit",
        "pack",
        "--out",
        str(out),
        "--policy",
        str(site["policy"]),
        "--store",
        str(site["store"]),
        "--bundle",
        str(site["bundle"]),
        "--evidence",
        str(site["evidence"]),
        "--public-key",
        str(site["pub"]),
        *extra,
    ]


@pytest.fixture(scope="module")
def pack(site: dict[str, Path]) -> Path:
    out = site["root"] / "pack"
    result = run_cli(*pack_args(site, out, "--sign-key", str(site["key"])))
    assert result.code == 0, result.err
    assert "field(s) to complete by a human" in result.out
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_pack_file_list(pack: Path) -> None:
    files = sorted(p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file())
    assert files == [
        "TO-COMPLETE.md",
        "ai-act/art26-deployer-sheet.json",
        "ai-act/art26-deployer-sheet.md",
        "dora/B_02.02.csv",
        "dora/B_05.01.csv",
        "dora/register.json",
        "evidence/evidence.json",
        "gdpr/art30-record.json",
        "gdpr/art30-record.md",
        "index.html",
        "index.json",
        "sbom/ai-bom.cdx.json",
        "sbom/mistral-sov.cdx.json",
        "sources/bundle-manifest.json",
        "sources/sovereignty.yaml",
    ]


def test_index_is_signed_and_hashes_every_file(pack: Path, site: dict[str, Path]) -> None:
    result = run_cli("evidence", "verify", str(pack / "index.json"), "--public-key", str(site["pub"]))
    assert result.code == 0 and "VALID" in result.out
    index = json.loads((pack / "index.json").read_text(encoding="utf-8"))["payload"]
    listed = {f["path"]: f["sha256"] for f in index["files"]}
    on_disk = {
        p.relative_to(pack).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in pack.rglob("*")
        if p.is_file() and p.name not in ("index.json", "index.html")
    }
    assert listed == on_disk
    assert {r["id"] for r in index["records"]} == {"dora-b0501", "dora-b0202", "gdpr-art30", "ai-act-art26", "bom"}
    gdpr = next(r for r in index["records"] if r["id"] == "gdpr-art30")
    assert "evidence/evidence.json" in gdpr["supported_by"] and "sources/sovereignty.yaml" in gdpr["supported_by"]
    ev = index["evidence"][0]
    assert ev["signature"].startswith("valid Ed25519") and ev["kind"] == "verify-residency"
    # the copied evidence is byte-identical: its signature still verifies inside the pack
    assert (
        run_cli("evidence", "verify", str(pack / "evidence/evidence.json"), "--public-key", str(site["pub"])).code == 0
    )


def test_index_html_links_resolve_with_their_hashes(pack: Path) -> None:
    from lxml import html as lxml_html

    tree = lxml_html.fromstring((pack / "index.html").read_bytes())
    links = [a.get("href") for a in tree.iter("a")]
    assert "index.json" in links and "dora/B_02.02.csv" in links and "evidence/evidence.json" in links
    for href in links:
        assert (pack / href).is_file(), href
    for code in tree.iter("code"):
        anchor = code.getprevious()
        if anchor is not None and anchor.tag == "a" and code.text:
            assert hashlib.sha256((pack / anchor.get("href")).read_bytes()).hexdigest() == code.text
    title = tree.findtext(".//h1")
    assert title == "Audit pack — Example Bank <SA> & Co"  # escaped in the source, read back as text
    assert b"<SA>" not in (pack / "index.html").read_bytes()


def test_dora_csv_columns_and_nothing_invented(pack: Path) -> None:
    rows = read_csv(pack / "dora/B_02.02.csv")
    assert list(rows[0])[:18] == [code for code, _ in B_02_02]
    by_endpoint = {r["mistral-sov:endpoint"]: r for r in rows}
    assert set(by_endpoint) == {"india-svc", "azure-openai-de"}
    azure = by_endpoint["azure-openai-de"]
    assert azure["B_02.02.0160"] == "DE"  # the declared cloud region's country
    filled = {code for r in rows for code, _ in B_02_02 if r[code]}
    assert filled == {"B_02.02.0160"}  # everything else is for a human
    assert "observed it answering from IN" in by_endpoint["india-svc"]["mistral-sov:provider_hint"]
    providers = read_csv(pack / "dora/B_05.01.csv")
    assert list(providers[0])[:12] == [code for code, _ in B_05_01]
    assert all(not r[code] for r in providers for code, _ in B_05_01)
    register = json.loads((pack / "dora/register.json").read_text(encoding="utf-8"))
    assert register["templates"]["B_05.01"]["columns"]["B_05.01.0080"].startswith("Country of the ICT")
    todo = (pack / "TO-COMPLETE.md").read_text(encoding="utf-8")
    assert "B_02.02.0010 Contractual arrangement reference number" in todo


def test_gdpr_record_transfers_from_evidence(pack: Path) -> None:
    record = json.loads((pack / "gdpr/art30-record.json").read_text(encoding="utf-8"))
    transfers = record["transfers_outside_eea"]
    assert transfers["india-svc"]["status"] == "outside the EEA" and transfers["india-svc"]["countries"] == ["IN"]
    assert transfers["azure-openai-de"]["status"] == "not established"  # no evidence: never "none"
    assert record["controller"]["name"] == "Example Bank <SA> & Co"
    assert "[TO COMPLETE" in record["purposes"][0]
    md = (pack / "gdpr/art30-record.md").read_text(encoding="utf-8")
    assert "outside the EEA" in md and "&lt;SA>" in md and "<SA>" not in md


def test_ai_act_sheet_models_and_retention(pack: Path, model_sha: str) -> None:
    sheet = json.loads((pack / "ai-act/art26-deployer-sheet.json").read_text(encoding="utf-8"))
    model = sheet["allowed_ai_systems"]["local_models"][0]
    assert model["sha256"] == model_sha and model["quantization"] == "Q4_1" and model["architecture"] == "llama"
    assert sheet["logs"]["retention_check"]["status"] == "OK"
    assert sheet["logs"]["local_inference_audit_log"].endswith("audit.jsonl")


def test_boms_in_pack_validate(pack: Path) -> None:
    for name in ("mistral-sov.cdx.json", "ai-bom.cdx.json"):
        assert sbom.validate(json.loads((pack / "sbom" / name).read_text(encoding="utf-8"))) == []


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_short_retention_fails_with_the_pack_written(site: dict[str, Path], model_sha: str, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(days=90, sha=model_sha), encoding="utf-8")
    out = tmp_path / "pack"
    result = run_cli(*pack_args({**site, "policy": policy}, out))
    assert result.code == 1, result.err
    assert "90 days < six months" in result.err
    sheet = json.loads((out / "ai-act/art26-deployer-sheet.json").read_text(encoding="utf-8"))
    assert sheet["logs"]["retention_check"]["status"] == "FAIL"


def test_bad_inputs_leave_the_previous_pack_untouched(site: dict[str, Path], model_sha: str, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    assert run_cli(*pack_args(site, out)).code == 0
    before = _snapshot(out)

    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\norganization: Org\n", encoding="utf-8")
    result = run_cli(*pack_args({**site, "policy": empty}, out))
    assert result.code == 2 and "nothing to record" in result.err

    refused_store = tmp_path / "store2"
    assert (
        run_cli("local", "models", "import", str(smollm2()), "--name", "rogue", "--store", str(refused_store)).code == 0
    )
    other = tmp_path / "other.yaml"
    other.write_text(POLICY.format(days=200, sha="ab" * 32), encoding="utf-8")
    result = run_cli(*pack_args({**site, "policy": other, "store": refused_store}, out))
    assert result.code == 5 and "refused by the policy" in result.err

    tampered = tmp_path / "tampered.json"
    doc = json.loads(site["evidence"].read_text(encoding="utf-8"))
    doc["payload"]["verdict"] = "COMPLIANT"
    tampered.write_text(json.dumps(doc), encoding="utf-8")
    result = run_cli(*pack_args({**site, "evidence": tampered}, out))
    assert result.code == 1 and "INVALID" in result.err

    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "verify-residency",\n "checks": [}', encoding="utf-8")
    result = run_cli(*pack_args({**site, "evidence": broken}, out))
    assert result.code == 2 and f"{broken}:2:" in result.err and "Traceback" not in result.err

    twice = tmp_path / "twice.json"  # which verdict would the auditor see? refused
    twice.write_text('{"kind": "gate", "checks": [], "verdict": "VIOLATION", "verdict": "COMPLIANT"}', encoding="utf-8")
    result = run_cli(*pack_args({**site, "evidence": twice}, out))
    assert result.code == 2 and "twice" in result.err

    not_report = tmp_path / "list.json"
    not_report.write_text("[1, 2]", encoding="utf-8")
    assert run_cli(*pack_args({**site, "evidence": not_report}, out)).code == 2

    assert _snapshot(out) == before


def test_refuses_to_replace_a_foreign_directory(site: dict[str, Path], tmp_path: Path) -> None:
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"precious")
    result = run_cli(*pack_args(site, foreign))
    assert result.code == 2 and "refusing to replace it" in result.err
    assert [p.name for p in foreign.iterdir()] == ["thesis.docx"]
    # nor an export bundle
    result = run_cli(*pack_args(site, site["bundle"]))
    assert result.code == 2
    assert (site["bundle"] / "manifest.json").is_file()


def test_rerun_replaces_a_pack_atomically(site: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "pack"
    assert run_cli(*pack_args(site, out)).code == 0
    (out / "my-notes.txt").write_text("written by the auditor", encoding="utf-8")
    result = run_cli(*pack_args(site, out))
    assert result.code == 0
    # a re-run replaces the pack's own files, never one it did not write (kept and listed)
    assert (out / "my-notes.txt").read_text(encoding="utf-8") == "written by the auditor"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pack")]  # no temporary leftovers
    assert not (out / ".mistral-sov-export").exists()
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["kind"] == "mistral-sov-audit-pack"  # unsigned without --sign-key


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_evidence_is_exit_2(site: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    result = run_cli(*pack_args({**site, "evidence": missing}, tmp_path / "pack"))
    assert result.code == 2 and "cannot read" in result.err


def test_two_evidence_files_with_one_name(site: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "evidence.json"
    other.parent.mkdir()
    other.write_bytes(site["evidence"].read_bytes())
    out = tmp_path / "pack"
    result = run_cli(*pack_args(site, out), "--evidence", str(other))
    assert result.code == 0, result.err
    assert (out / "evidence/evidence.json").is_file() and (out / "evidence/evidence-2.json").is_file()
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in index["evidence"]] == ["E1", "E2"]
    assert {e["original_path"] for e in index["evidence"]} == {str(site["evidence"]), str(other)}


def test_json_summary(site: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "pack"
    result = run_cli(*pack_args(site, out), "-o", "json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["out"] == str(out) and summary["checks"][0]["status"] == "OK"
    assert {f["path"] for f in summary["files"]} >= {"dora/B_02.02.csv", "gdpr/art30-record.json"}
