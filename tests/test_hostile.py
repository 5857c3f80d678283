"""Every command over the hostile corpus (tests/data/hostile/: files, paths, flags).

For each run: the exit code is one of the documented ones (0 ok, 1 check failed, 2 input,
3 inconclusive, 4 environment, 5 model refused — never 70), nothing looks like a traceback
or an internal error, and no file outside the run's chosen output folder is created,
changed or deleted (the corpus itself included)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from clihelp import run_cli

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
FILES = sorted((HOSTILE / "files").iterdir())
PATHS = json.loads((HOSTILE / "paths.json").read_text(encoding="utf-8"))["paths"]
FLAGS = json.loads((HOSTILE / "flags.json").read_text(encoding="utf-8"))["flags"]
ALLOWED = {0, 1, 2, 3, 4, 5}
VALID = HOSTILE / "files" / "valid-starter.yaml"
GARBAGE = HOSTILE / "files" / "atlas-garbage.json"
KEY_FILES = ("mistral-sov-evidence.key", "mistral-sov-evidence.pub")


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if _inside(here, skip):
            dirnames[:] = []
            continue
        for name in [*filenames, *dirnames]:
            path = here / name
            if _inside(path, skip):
                continue  # the chosen output (and its own entry) may change
            try:
                st = path.lstat()
            except OSError:
                continue
            if path.is_dir() and not path.is_symlink():  # a folder's mtime moves with its children
                out[str(path.relative_to(root))] = (0, 0, st.st_mode)
            else:
                out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture(autouse=True)
def _in_scratch(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative hostile paths ('-', 'CON', '~/…') land in the scratch folder, never the repo."""
    monkeypatch.chdir(scratch / "cwd")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "a-directory").mkdir()
    (root / "cwd").mkdir()
    (root / "read-only-dir").mkdir(mode=0o555)
    if os.name != "nt":
        (root / "dangling-link.yaml").symlink_to(root / "nowhere" / "x.yaml")
        (root / "loop-link.yaml").symlink_to(root / "loop-link.yaml")
    keys = root / "keys"
    assert run_cli("keys", "generate", "--out", str(keys)).code == 0
    return root


def _created_by(target: Path) -> tuple[Path, ...]:
    """What writing ``target`` may create: the target (or its link's target) from its first
    missing ancestor down (``mkdir -p``), and the schema ``init`` writes beside a policy."""
    out: list[Path] = []
    try:
        for path in {target, Path(os.path.realpath(target))}:
            top = path
            while not top.parent.exists() and top.parent != top:
                top = top.parent
            out.append(top)
            if path.name:
                out.append(path.with_name("sovereignty.schema.json"))
    except (OSError, ValueError):  # NUL bytes, names too long: nothing can be created there
        pass
    return tuple(out)


def _run(scratch: Path, args: list[str], out: Path | tuple[Path, ...]) -> None:
    skip = out if isinstance(out, tuple) else (out,)
    out = skip[0]

    def exists(path: Path) -> bool:
        try:
            return path.exists() or path.is_symlink()
        except (OSError, ValueError):
            return False

    new = [m for m in skip if m != out and not exists(m)]  # only what the run creates is cleaned up
    watched = _snapshot(HOSTILE), _snapshot(scratch, skip=skip)
    res = run_cli(*args)
    text = res.out + res.err
    shown = " ".join(repr(a) if (not a or " " in a or "\n" in a) else a for a in args)
    assert res.code in ALLOWED, f"{shown}: exit {res.code}\n{text[-800:]}"
    assert "Traceback" not in text and "internal error" not in text, f"{shown}:\n{text[-800:]}"
    assert (_snapshot(HOSTILE), _snapshot(scratch, skip=skip)) == watched, f"{shown} touched a file outside {skip}"
    if os.name == "posix":  # devices given as output paths are written into, never replaced
        assert all(stat.S_ISCHR(Path(d).stat().st_mode) for d in ("/dev/null", "/dev/full")), shown
    for made in [out, *new]:
        if scratch not in made.parents:
            continue
        try:
            if made.is_dir() and not made.is_symlink():
                shutil.rmtree(made, ignore_errors=True)
            elif made.is_file() and not made.is_symlink():
                made.unlink()
        except (OSError, ValueError):  # a name the file system refuses was never created
            pass


def _policy_commands(p: str, out: Path) -> dict[str, list[str]]:
    copy = out / "edit.yaml"
    return {
        "validate": ["policy", "validate", "-p", p],
        "validate-json": ["policy", "validate", "-p", p, "-o", "json"],
        "export": ["policy", "export", "-p", p, "--out", str(out / "bundle"), "-f", "network"],
        "export-check": ["policy", "export", "-p", p, "--out", str(out / "bundle"), "--check"],
        "diff": ["policy", "diff", p, str(VALID)],
        "allowlist-list": ["allowlist", "list", "-p", p, "-o", "yaml"],
        "allowlist-check": ["allowlist", "check", "https://chatgpt.com", "https://[2001:db8::1]/", "-p", p],
        "allowlist-add": ["allowlist", "add", "https://x.example.eu", "-p", str(copy)],
        "allowlist-remove": ["allowlist", "remove", "mistral-eu", "-p", str(copy)],
        "gate": ["gate", "-p", p, "--only", "policy", "-q"],
        "gate-json": ["gate", "-p", p, "--only", "policy,catalog-conflicts", "-o", "json"],
        "effective": ["policy", "effective", "-p", p, "-o", "json"],
        "models-list": ["local", "models", "list", "-p", p, "--store", str(out / "store")],
    }


def _file_commands(f: str, out: Path, scratch: Path) -> dict[str, list[str]]:
    return {
        "evidence-verify": [
            "evidence",
            "verify",
            f,
            "--public-key",
            str(scratch / "keys" / "mistral-sov-evidence.pub"),
        ],
        "evidence-key": ["evidence", "verify", str(VALID), "--public-key", f],
        "atlas": ["verify-residency", "-p", str(VALID), "--from-atlas", f, "-q"]
        if False
        else ["verify-residency", "-p", str(VALID), "--from-atlas", f],
        "ranges-import": ["ranges", "import", f, "--provider", "azure", "--ranges-dir", str(out / "ranges")],
        "lint-admx": ["policy", "lint-admx", f],
        "evidence-export": ["evidence", "export", f, "--out", str(out / "parts")],
        "models-import": [
            "local",
            "models",
            "import",
            f,
            "--name",
            "m",
            "--store",
            str(out / "store"),
            "-p",
            str(VALID),
        ],
        "policy-diff-old": ["policy", "diff", f, str(VALID)],
    }


def _prepare(out: Path, source: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if source is not None and source.is_file():
        shutil.copyfile(source, out / "edit.yaml")


@pytest.mark.parametrize("file", FILES, ids=[f.name for f in FILES])
def test_every_policy_command_on_every_file(file: Path, scratch: Path) -> None:
    out = scratch / "out"
    for args in _policy_commands(str(file), out).values():
        _prepare(out, file)
        _run(scratch, args, out)


@pytest.mark.parametrize("file", FILES, ids=[f.name for f in FILES])
def test_every_file_command_on_every_file(file: Path, scratch: Path) -> None:
    out = scratch / "out"
    for args in _file_commands(str(file), out, scratch).values():
        _prepare(out, None)
        _run(scratch, args, out)


@pytest.mark.parametrize("raw", PATHS, ids=[repr(p)[:40] for p in PATHS])
def test_every_command_on_hostile_paths(raw: str, scratch: Path) -> None:
    out = scratch / "out"
    path = raw.replace("{tmp}", str(scratch))
    runs = [*_policy_commands(path, out).values(), *_file_commands(path, out, scratch).values()]
    runs += [
        ["policy", "export", "-p", str(VALID), "--out", path, "-f", "network"],
        ["init", path],
        ["keys", "generate", "--out", path],
        ["ci", "init", "github", "--out", path],
        ["catalog", "show", path],
    ]
    for args in runs:
        _prepare(out, None)
        writes_path = args[0] in ("init", "keys", "ci") or (args[:2] == ["policy", "export"] and path in args[-3:])
        # "--" ends the options: the command then writes its documented default in the cwd
        defaults = [Path.cwd() / n for n in ("sovereignty.yaml", "sovereignty.schema.json", *KEY_FILES)]
        allowed = (out, *_created_by(Path(os.path.abspath(path))), *defaults) if writes_path else (out,)
        _run(scratch, args, allowed)


@pytest.mark.parametrize("command", sorted(FLAGS))
def test_every_command_with_hostile_flags(command: str, scratch: Path) -> None:
    out = scratch / "out"
    base = {
        "policy validate": ["policy", "validate", "-p", str(VALID)],
        "policy export": ["policy", "export", "-p", str(VALID), "--out", str(out / "b")],
        "policy regions": ["policy", "regions"],
        "catalog show": ["catalog", "show"],
        "catalog list": ["catalog", "list"],
        "allowlist check": ["allowlist", "check", "-p", str(VALID)],
        "allowlist add": ["allowlist", "add", "-p", str(out / "edit.yaml")],
        "allowlist remove": ["allowlist", "remove", "-p", str(out / "edit.yaml")],
        "gate": ["gate", "-p", str(VALID), "--only", "policy", "-q"],
        "verify-residency": ["verify-residency", "-p", str(VALID), "--from-atlas", str(GARBAGE)],
        "ci init": ["ci", "init", "--out", str(out / "ci.yml")],
        "evidence verify": ["evidence", "verify", str(GARBAGE)],
        "keys generate": ["keys", "generate"],
        "ranges import": ["ranges", "import", str(GARBAGE), "--ranges-dir", str(out / "r")],
        "init": ["init", str(out / "new.yaml")],
        "sbom": ["sbom"],
    }[command]
    for flags in FLAGS[command]:
        _prepare(out, VALID)
        args = [*base, *flags]
        cwd = Path.cwd()
        os.chdir(out)  # relative defaults (keys generate --out .) land in the output folder
        try:
            _run(scratch, args, out)
        finally:
            os.chdir(cwd)
