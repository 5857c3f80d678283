"""cli/conventions.py: every command's --help has an Examples section using real flags and
human metavars (no Python types), and completion offers formats, checks and catalog ids."""

from __future__ import annotations

import re

import pytest

from mistral_sov.cli import conventions
from mistral_sov.cli.app import SUBCOMMANDS, build_subcommand

try:
    from typer._click import Context
except ImportError:  # pragma: no cover - older Typer
    from click import Context  # type: ignore[no-redef,assignment]

COMMANDS = [
    (path, cmd)
    for name in SUBCOMMANDS
    for path, cmd in conventions.walk(build_subcommand(name), (name,))
    if not getattr(cmd, "commands", None) or getattr(cmd, "invoke_without_command", False)
]


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_has_examples_and_human_metavars(path: tuple[str, ...], cmd) -> None:
    text = cmd.get_help(Context(cmd, info_name=" ".join(path)))
    assert "Examples:" in text, f"add examples for '{' '.join(path)}' to cli/conventions.py"
    lines = text.splitlines()
    first_columns = [lines[0]] + [re.split(r"\s{2,}", line.strip())[0] for line in lines if line.startswith("  ")]
    for column in first_columns:  # usage line and option/argument names: no <path>, <str>, <list[str]>
        assert not re.search(r"<[a-z]+(\[[^\]]*\])?>", column), column
    # every example runs this command and uses only options it has
    options = {o for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", []))} | {"-h", "--help"}
    for example in conventions.EXAMPLES[" ".join(path)]:
        if not example.startswith("mistral-sov "):
            continue
        words = example.split("#")[0].split()
        assert words[1 : 1 + len(path)] == list(path), example
        for word in words:
            if word.startswith("-") and not word.startswith("--") and len(word) > 2 and word[1] != "-":
                word = word[:2]
            if word.startswith("-"):
                assert word.split("=")[0] in options, f"{example}: unknown option {word}"


def test_examples_name_only_real_commands() -> None:
    known = {" ".join(p) for p, _ in COMMANDS}
    assert set(conventions.EXAMPLES) <= known


def _complete(path: tuple[str, ...], param_name: str, incomplete: str) -> list[str]:
    cmd = dict(COMMANDS)[path]
    param = next(p for p in cmd.params if p.name == param_name)
    return [item.value for item in param.shell_complete(Context(cmd), incomplete)]


def test_completion_of_formats_checks_and_catalog_ids() -> None:
    assert {"gpo", "browsers", "network"} <= set(_complete(("policy", "export"), "formats", ""))
    assert _complete(("policy", "export"), "formats", "br") == ["browsers"]
    assert "drift" in _complete(("gate",), "only", "")
    assert "openai-chatgpt" in _complete(("catalog", "show"), "service_id", "openai")
    assert "junit:" in _complete(("verify-residency",), "report", "j")


def test_every_command_returns_an_exit_status() -> None:
    from mistral_sov.errors import ExitStatus

    for path, cmd in COMMANDS:
        assert getattr(cmd.callback, "returns_exit_status", False), path
    wrapped = conventions.returns_exit_status(lambda: None)
    assert wrapped() is ExitStatus.OK
    assert conventions.returns_exit_status(lambda: 3)() is ExitStatus.INCONCLUSIVE
    with pytest.raises(ValueError):  # an undocumented code is a bug (exit 70), never passed on
        conventions.returns_exit_status(lambda: 42)()


def test_enum_options_match_their_sources_and_refuse_other_values() -> None:
    from clihelp import run_cli

    from mistral_sov.adapters.geo.ranges import PROVIDERS as RANGE_PROVIDERS
    from mistral_sov.cli.catalog import Category
    from mistral_sov.cli.policy import RegionProvider
    from mistral_sov.cli.ranges import CloudProvider
    from mistral_sov.core.catalog import CATEGORIES
    from mistral_sov.core.zones import PROVIDERS as REGION_PROVIDERS

    assert [c.value for c in Category] == list(CATEGORIES)
    assert tuple(p.value for p in CloudProvider) == RANGE_PROVIDERS
    assert tuple(p.value for p in RegionProvider) == REGION_PROVIDERS
    for args in (("catalog", "list", "--category", "chatt"), ("policy", "regions", "azur"), ("ranges", "list")):
        res = run_cli(*args)
        if args[0] == "ranges":
            continue
        assert res.code == 2 and "did you mean" in res.err, res
    assert run_cli("policy", "regions", "AZURE").code == 0  # case-insensitive
    assert run_cli("catalog", "list", "--category", "chat").code == 0
