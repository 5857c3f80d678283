"""Conventions every command follows, applied in one place when a sub-command is built
(``cli/app.py: build_subcommand``), so command modules stay thin and a new command cannot
forget them:

* an **Examples** section at the end of ``--help`` (``EXAMPLES``; a test requires one for every
  command);
* **human metavars**: ``FILE``, ``DIR``, ``URL``, ``N`` … instead of Python types such as
  ``<list[str]>`` or ``<path>``;
* **shell completion** of format names, gate check names, catalog ids and probe methods;
* every command **returns an ``ExitStatus``**: ``None`` becomes ``ExitStatus.OK``, an int
  becomes its ``ExitStatus`` (an undocumented code is a bug: exit 70).

To add a command: add its examples here (one line each, real flags).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXAMPLES: dict[str, list[str]] = {
    "init": ["mistral-sov init", "mistral-sov init policies/sovereignty.yaml --force"],
    "policy validate": ["mistral-sov policy validate -p sovereignty.yaml", "mistral-sov policy validate -o json"],
    "policy schema": ["mistral-sov policy schema > sovereignty.schema.json"],
    "policy regions": ["mistral-sov policy regions azure", "mistral-sov policy regions -o json"],
    "policy export": [
        "mistral-sov policy export -p sovereignty.yaml --out bundle",
        "mistral-sov policy export --format gpo --format browsers --lang en-US,de-DE",
        "mistral-sov policy export --out bundle --check    # exit 1 on drift",
    ],
    "policy diff": ["mistral-sov policy diff old.yaml sovereignty.yaml", "git show HEAD:sovereignty.yaml > old.yaml"],
    "policy lint-admx": ["mistral-sov policy lint-admx bundle/gpo/PolicyDefinitions/MistralSov.admx"],
    "policy effective": ["mistral-sov policy effective", "mistral-sov policy effective --managed managed.json -o json"],
    "catalog list": ["mistral-sov catalog list", "mistral-sov catalog list --category chat -o json"],
    "catalog show": ["mistral-sov catalog show openai-chatgpt"],
    "allowlist list": ["mistral-sov allowlist list", "mistral-sov allowlist list -o yaml"],
    "allowlist check": ["mistral-sov allowlist check https://chatgpt.com https://mistral.corp.example.eu/v1"],
    "allowlist add": [
        "mistral-sov allowlist add https://mistral.corp.example.eu --name corp --region azure:westeurope",
    ],
    "allowlist remove": [
        "mistral-sov allowlist remove corp",
        "mistral-sov allowlist remove https://mistral.corp.example.eu",
    ],
    "verify-residency": [
        "mistral-sov verify-residency",
        "mistral-sov verify-residency https://api.mistral.ai --method udp --vantage Frankfurt",
        "mistral-sov verify-residency --report json:evidence.json --sign-key keys/mistral-sov-evidence.key",
    ],
    "atlas measure": ["mistral-sov atlas measure --country DE --probes-per 5 --key-file atlas.key"],
    "atlas probes": ["mistral-sov atlas probes --out probes.json --country DE"],
    "ranges update": ["mistral-sov ranges update", "mistral-sov ranges update --provider aws"],
    "ranges import": ["mistral-sov ranges import ServiceTags_Public.json --provider azure"],
    "ranges list": ["mistral-sov ranges list", "mistral-sov ranges list -o json"],
    "keys generate": ["mistral-sov keys generate --out keys/"],
    "evidence verify": ["mistral-sov evidence verify evidence.json --public-key keys/mistral-sov-evidence.pub"],
    "evidence export": ["mistral-sov evidence export evidence.json --out evidence-parts/"],
    "local serve": ["mistral-sov local serve", "mistral-sov local serve --model mistral-7b --port 8080"],
    "local run": ['mistral-sov local run "Summarise GDPR Art. 30 in one sentence."'],
    "local doctor": ["mistral-sov local doctor", "mistral-sov local doctor --smoke -o json"],
    "local bench": ["mistral-sov local bench --tokens 64 --runs 3"],
    "local models list": ["mistral-sov local models list"],
    "local models show": ["mistral-sov local models show mistral-7b"],
    "local models import": ["mistral-sov local models import /media/usb/mistral-7b.Q4_K_M.gguf --name mistral-7b"],
    "local models remove": ["mistral-sov local models remove mistral-7b"],
    "local models seal": ["mistral-sov local models seal mistral-7b"],
    "local quota show": ["mistral-sov local quota show", "mistral-sov local quota show -o json"],
    "local quota reset": ["mistral-sov local quota reset KEY_ID", "mistral-sov local quota reset --all"],
    "gate": [
        "mistral-sov gate --bundle bundle",
        "mistral-sov gate --only policy,drift --report junit:gate.xml --report sarif:gate.sarif",
        "mistral-sov gate --fail-on warning --report json:gate.json",
        "mistral-sov gate --only policy,catalog-conflicts -o json",
    ],
    "gate history": ["mistral-sov gate history", "mistral-sov gate history --endpoint mistral-eu -o json"],
    "ci init": ["mistral-sov ci init github", "mistral-sov ci init gitlab --out .gitlab-ci.yml"],
    "audit pack": ["mistral-sov audit pack --out audit-2026Q4 --evidence evidence.json --sign-key keys/k.key"],
    "sbom": ["mistral-sov sbom --out sbom/", "mistral-sov sbom --toolkit-only"],
}

# parameter name -> metavar, where the name alone says it
_NAMED = {
    "policy": "FILE",
    "out": "DIR",
    "store": "DIR",
    "ranges_dir": "DIR",
    "adml_dir": "DIR",
    "bundle": "DIR",
    "history": "FILE",
    "urls": "URL...",
    "url": "URL",
    "targets": "TARGET...",
    "endpoints": "ENDPOINT...",
    "formats": "FORMAT",
    "lang": "LANG[,LANG...]",
    "report": "FORMAT:PATH",
    "report_specs": "FORMAT:PATH",
    "only": "CHECK[,CHECK...]",
    "skip": "CHECK[,CHECK...]",
    "region": "PROVIDER:REGION",
    "vantage": "CITY|LAT,LON",
    "timeout": "SECONDS",
    "port": "PORT",
    "service_id": "SERVICE_ID",
}


def _annotation(param: Any) -> tuple[Any, bool]:
    """The parameter's element type and whether it is repeated (``list[X]``)."""
    import typing
    from pathlib import Path

    descriptor = getattr(param, "type_descriptor", None)
    ann = getattr(descriptor, "annotation", None)
    if ann is None:  # older Typer: a Click type object
        kind = type(getattr(param, "type", None)).__name__.lower()
        ann = Path if "path" in kind else int if "int" in kind else float if "float" in kind else str
    repeated = False
    for _ in range(3):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        origin = typing.get_origin(ann)
        if origin in (list, tuple, set) and args:
            ann, repeated = args[0], True
        elif args and origin is not None and len(args) == 1:  # Optional[X] / X | None
            ann = args[0]
        else:
            break
    return ann, repeated


def _metavar(param: Any) -> str | None:
    from enum import Enum
    from pathlib import Path

    name = (param.name or "").lower()
    if name in _NAMED:
        return _NAMED[name]
    ann, repeated = _annotation(param)
    if isinstance(ann, type) and issubclass(ann, Enum):
        return "|".join(str(m.value) for m in ann)
    if ann is Path:
        word = "DIR" if any(k in name for k in ("dir", "out", "store", "folder")) else "FILE"
    elif ann is int:
        word = "N"
    elif ann is float:
        word = "NUMBER"
    else:
        word = name.upper().replace("_", "-") or "VALUE"
        if repeated and word.endswith("S") and len(word) > 3:
            word = word[:-1]
    if repeated and getattr(param, "param_type_name", "") == "argument":
        return f"{word}..."
    return word


def _complete(values: Callable[[], list[str]]) -> Callable[[Any, Any, str], list[Any]]:
    def complete(ctx: Any, param: Any, incomplete: str) -> list[Any]:
        item: Any
        try:
            from typer._click.shell_completion import CompletionItem as item
        except ImportError:  # pragma: no cover - older Typer
            from click.shell_completion import CompletionItem as item
        try:
            options = values()
        except Exception:  # completion must never print a traceback into the shell
            return []
        return [item(v) for v in options if v.startswith(incomplete)]

    return complete


def _exporter_names() -> list[str]:
    from mistral_sov.adapters.exporters import EXPORTERS

    return sorted(EXPORTERS)


def _check_names() -> list[str]:
    from mistral_sov.services.gate import CHECKS

    return list(CHECKS)


def _catalog_ids() -> list[str]:
    from mistral_sov.adapters.catalogfile import load_catalog

    return sorted(s.id for s in load_catalog().services)


def _report_formats() -> list[str]:
    from mistral_sov.reports import WRITERS

    return [f"{name}:" for name in sorted(WRITERS)]


COMPLETIONS: dict[str, Callable[[], list[str]]] = {
    "formats": _exporter_names,
    "only": _check_names,
    "skip": _check_names,
    "service_id": _catalog_ids,
    "report": _report_formats,
    "report_specs": _report_formats,
}


def walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``command`` (groups included), with its path of names."""
    out = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        out += walk(sub, (*path, name))
    return out


def returns_exit_status(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command callback so that what it returns is always an ``ExitStatus``."""
    import functools

    from mistral_sov.errors import ExitStatus

    @functools.wraps(callback)
    def command(*args: Any, **kwargs: Any) -> ExitStatus:
        result = callback(*args, **kwargs)
        return ExitStatus.OK if result is None else ExitStatus(int(result))

    command.returns_exit_status = True  # type: ignore[attr-defined]
    return command


def apply(command: Any, name: str) -> None:
    """Add examples, human metavars and completions to ``command`` and its sub-commands, and
    make every callback return an ``ExitStatus``."""
    for path, cmd in walk(command, (name,)):
        if cmd.callback is not None and not getattr(cmd.callback, "returns_exit_status", False):
            cmd.callback = returns_exit_status(cmd.callback)
        key = " ".join(path)
        if key in EXAMPLES and "Examples:" not in (cmd.epilog or ""):
            lines = "\n".join(f"  {line}" for line in EXAMPLES[key])
            cmd.epilog = "\b\nExamples:\n" + lines
        for param in cmd.params:
            if getattr(param, "metavar", None) is None and not getattr(param, "is_flag", False):
                if getattr(param, "param_type_name", "") in ("option", "argument"):
                    param.metavar = _metavar(param)
            if getattr(param, "param_type_name", "") == "argument" and hasattr(param, "display_type_rich"):
                param.display_type_rich = lambda ctx: None  # Typer adds "<path>" after the metavar
            complete = COMPLETIONS.get(param.name or "")
            if complete is not None and getattr(param, "_custom_shell_complete", None) is None:
                param._custom_shell_complete = _complete(complete)
