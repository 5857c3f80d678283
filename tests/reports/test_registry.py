"""Every format name maps to an importable writer that renders bytes; spec parsing."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import pytest
from reports_samples import gate_report, residency_report

from mistral_sov import reports
from mistral_sov.errors import ExitStatus, InputError


@pytest.mark.parametrize("fmt", sorted(reports.WRITERS))
def test_reports_every_format_has_a_writer(fmt):
    module_name, _, func = reports.WRITERS[fmt].partition(":")
    module = importlib.import_module(module_name)
    assert module_name == f"mistral_sov.reports.{fmt}", "one module per format, named after it"
    function = getattr(module, func)
    assert next(iter(inspect.signature(function).parameters)) == "report"
    for report in (residency_report(), gate_report()):
        out = reports.render(report, fmt, fail_on="violation", base_dir=Path.cwd(), unknown_option=1)
        assert isinstance(out, bytes) and out
        out.decode("utf-8")


def test_reports_package_modules_are_all_registered():
    package_dir = Path(reports.__file__).parent
    modules = {p.stem for p in package_dir.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(reports.WRITERS)
    assert set(reports.EXTENSIONS) == set(reports.WRITERS)
    assert set(reports.ALIASES.values()) <= set(reports.WRITERS)


def test_reports_importing_registry_is_light():
    code = "import sys, mistral_sov.reports; print(sorted(m for m in ('rich','lxml','jsonschema') if m in sys.modules))"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("spec", "fmt", "path"),
    [
        ("sarif:out.sarif", "sarif", Path("out.sarif")),
        ("JUnit:reports/TEST-gate.xml", "junit", Path("reports/TEST-gate.xml")),
        ("md:summary.md", "markdown", Path("summary.md")),
        ("html:C:\\reports\\gate.html", "html", Path("C:\\reports\\gate.html")),
        ("json:-", "json", Path("-")),
    ],
)
def test_reports_parse_spec(spec, fmt, path):
    assert reports.parse_report_spec(spec) == (fmt, path)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("sarfi:out.sarif", "did you mean 'sarif'"),
        ("sarif", "FORMAT:PATH"),
        (":x", "FORMAT:PATH"),
        ("junit:", "FORMAT:PATH"),
        ("pdf:x.pdf", "formats: json"),
    ],
)
def test_reports_parse_spec_rejects(spec, needle):
    with pytest.raises(InputError) as info:
        reports.parse_report_spec(spec)
    assert info.value.exit_status is ExitStatus.USAGE
    text = "\n".join(d.render() for d in info.value.diagnostics())
    assert needle in text
    assert "--report" in text
