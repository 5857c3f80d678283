"""Throw generated malformed and hostile policy files at `policy validate`.

Each run must end in exit 0 or 2 with a located message: never a traceback (exit 70),
never a hang, bounded memory. 1,200 examples in total across the strategies below."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import yaml
from clihelp import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((REPO / "templates" / "policies" / "starter.yaml").read_text(encoding="utf-8"))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet="\u202e\u0000\ufeff\ud7ffé中𝕏<>&'\"\\:#{}[]*!%@`|-", max_size=20),
    st.sampled_from(["https://x.eu", "http://10.0.0.1", "EU", "DE", "azure:westeurope", "all", "*.x.com"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=25,
)
paths = st.lists(
    st.sampled_from(
        [
            "version",
            "organization",
            "zones",
            "allowed_countries",
            "endpoints",
            0,
            "url",
            "name",
            "region",
            "blocking",
            "catalog",
            "extra_domains",
            "exceptions",
            "vantage",
            "city",
            "lat",
            "local_inference",
            "models",
            "sha256",
            "browsers",
            "windows",
            "transit",
            "unknown_hops",
            "operator_jurisdictions",
        ]
    ),
    min_size=1,
    max_size=3,
)


def _mutate(doc: object, path: list[object], value: object) -> object:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        key = head if isinstance(head, str) else str(head)
        copy = dict(doc)
        copy[key] = _mutate(doc.get(key), rest, value)
        return copy
    if isinstance(doc, list) and doc:
        copy = list(doc)
        copy[0] = _mutate(doc[0], rest, value)
        return copy
    return value


def _check(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "sovereignty.yaml"
    path.write_bytes(data)
    result = run_cli("policy", "validate", "-p", str(path))
    assert result.code in (0, 2), (result.code, result.err[-2000:])
    assert "Traceback" not in result.err
    if result.code == 2:
        first = result.err.splitlines()[0]
        assert first.startswith(str(path)), first  # located: file[:line:col]
        assert "hint:" in result.err


_FUZZ = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@_FUZZ
@given(path=paths, value=values)
def test_mutated_policies(tmp_path: Path, path: list[object], value: object) -> None:
    doc = _mutate(BASE, path, value)
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, UnicodeEncodeError):
        return
    _check(tmp_path, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes(tmp_path: Path, raw: bytes) -> None:
    _check(tmp_path, raw)


HOSTILE = [
    # billion laughs
    "a: &a [x,x,x,x,x,x,x,x,x]\n"
    + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
    "version: &v [*v]\n",  # recursive alias
    "version: 1\n" * 3,  # duplicate keys
    "organization: " + "[" * 100_000 + "]" * 100_000 + "\n",  # nesting bomb (libyaml's composer would crash)
    "version: 1\norganization: x\nblocking:\n  extra_domains: [" + ", ".join(["a.example"] * 50_000) + "]\n",
    "version: !!python/object/apply:os.system ['echo pwned']\n",
    "\ufeffversion: 1\norganization: BOM\n",
    "version: 1\norganization: x\n---\nversion: 1\n",
    "version: 1\norganization: x\nendpoints: [{name: a, url: 'https://\u0000x.eu'}]\n",
    "version: 1\norganization: x\nendpoints: [{name: a, url: 'https://xn--.eu'}]\n",
    "version: 1\norganization: x\nvantage: {lat: .nan, lon: .inf}\n",
    "version: 1\norganization: x\nendpoints: [{name: a, url: 'https://[::1:99999'}]\n",
    "\t version: 1\n",
]


@settings(max_examples=len(HOSTILE) * 25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.sampled_from(HOSTILE), cut=st.integers(min_value=0, max_value=10_000))
def test_hostile_documents_and_truncations(tmp_path: Path, text: str, cut: int) -> None:
    data = text.encode("utf-8")
    _check(tmp_path, data if cut == 0 else data[: max(1, len(data) - cut)])


def test_memory_is_bounded_for_alias_bomb(tmp_path: Path) -> None:
    bomb = HOSTILE[0]
    tracemalloc.start()
    _check(tmp_path, bomb.encode())
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 200 * 1024 * 1024, peak
    assert sys.getrecursionlimit() >= 1000
