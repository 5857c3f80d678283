# mypy: disable-error-code="union-attr,arg-type"
"""Location-aware, hostile-input-safe YAML loading.

PyYAML's event stream (libyaml when available) is turned into plain Python values by an
iterative builder, so that:
- every value and key keeps its ``line:column`` (``LocatedDoc.where(path)``);
- duplicate keys, non-string keys, unknown tags and multiple documents are errors;
- nesting depth, alias expansion (YAML "billion laughs") and file size are bounded,
  and recursive aliases are refused: no hang, no unbounded memory, no C-stack overflow;
- untagged plain scalars follow the **YAML 1.2 core schema**, not YAML 1.1: only
  ``true``/``false`` are booleans, so ``NO`` (Norway), ``yes``, ``on`` and ``off`` stay text;
  ``010`` is ten, ``1:30`` is text, ``1e3`` is a number; no implicit timestamps;
- an explicit tag with a value it cannot hold (``!!bool maybe``, ``!!int ""``) is an error
  at its line, never a crash;
- a merge (``<<: *base``) may be followed by keys that override merged ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from mistral_sov.errors import Diagnostic, InputError, Location

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 2_000_000

Path_ = tuple[Any, ...]
_STD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:merge",
    "!",
}


_T = "tag:yaml.org,2002:"
_CORE = [  # YAML 1.2.2 core schema, section 10.3.2
    (re.compile(r"^(?:~|null|Null|NULL|)$"), _T + "null"),
    (re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), _T + "bool"),
    (re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), _T + "int"),
    (
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        _T + "float",
    ),
]
YAML11_BOOLEANS = frozenset("y Y yes Yes YES n N no No NO on On ON off Off OFF".split())


def core_tag(value: str, plain: bool) -> str:
    """The tag the YAML 1.2 core schema gives an untagged scalar."""
    if not plain:
        return _T + "str"
    if value == "<<":
        return _T + "merge"
    for pattern, tag in _CORE:
        if pattern.match(value):
            return tag
    return _T + "str"


def core_value(value: str, tag: str) -> Any:
    """Construct an implicitly tagged core-schema scalar (no YAML 1.1 octal or sexagesimal)."""
    if tag == _T + "null":
        return None
    if tag == _T + "bool":
        return value.lower() == "true"
    if tag == _T + "int":
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    if tag == _T + "float":
        low = value.lower()
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        if low == ".nan":
            return math.nan
        return float(value)
    return value


@dataclass
class LocatedDoc:
    """A loaded YAML document with the position of every value and mapping key."""

    data: Any
    file: str
    text: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # character offsets into ``text``: where each value starts and ends, and whether a
    # collection is written in flow style ([a, b] / {k: v}); used for in-place edits
    spans: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    flow: dict[Path_, bool] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False) -> Location:
        """The location of ``path``; falls back to the nearest enclosing node."""
        p = tuple(path)
        while True:
            table = self.keys if key and p in self.keys else self.values
            if p in table:
                line, col = table[p]
                return Location(self.file, line, col)
            if not p:
                return Location(self.file, 1, 1)
            p = p[:-1]
            key = True  # a missing child is best shown at its parent's key


def _error(file: str, mark: Any, message: str, hint: str = "") -> InputError:
    loc = Location(file, mark.line + 1, mark.column + 1) if mark is not None else Location(file)
    return InputError(message, hint=hint, location=loc, diagnostics=[Diagnostic(message, loc, "", hint)])


def decode(data: bytes, file: str) -> str:
    if len(data) > MAX_BYTES:
        raise InputError(
            f"{file} is {len(data)} bytes; the limit is {MAX_BYTES}",
            location=Location(file),
            hint="split the file or move long domain lists into fewer entries",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        loc = Location(file, line, col)
        raise InputError(
            "the file is not valid UTF-8",
            location=loc,
            hint="save it as UTF-8 (Notepad: File > Save as > Encoding: UTF-8)",
        ) from None


class _Frame:
    __slots__ = ("anchor", "container", "is_map", "key", "key_mark", "last_end", "mark", "merged", "path", "size")

    def __init__(self, container: Any, is_map: bool, path: Path_, anchor: str | None, mark: Any) -> None:
        self.container = container
        self.is_map = is_map
        self.path = path
        self.anchor = anchor
        self.mark = mark
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.size = 1
        self.last_end = mark.index
        self.merged: set[str] = set()  # keys that came from '<<' and may still be overridden


_NO_KEY = object()


def load_yaml(text: str, file: str) -> LocatedDoc:
    """Parse one YAML document from ``text``; raise InputError (with location) on any problem."""
    import yaml
    from yaml import events as ev

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    constructor = yaml.constructor.SafeConstructor()
    doc = LocatedDoc(None, file, text)
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int, bool]] = {}  # anchor -> (value, size, closed)
    total = 0
    documents = 0
    root_set = False

    def attach(value: Any, size: int, mark: Any, end: int) -> None:
        nonlocal root_set
        if not stack:
            doc.data = value
            root_set = True
            return
        top = stack[-1]
        top.size += size
        top.last_end = max(top.last_end, end)
        if top.is_map:
            if top.key is _NO_KEY:
                if not isinstance(value, str) or isinstance(value, bool):
                    raise _error(file, mark, f"mapping keys must be strings, got {value!r}", "quote the key")
                if value in top.merged:
                    top.merged.discard(value)  # an explicit key overrides a merged one
                elif value in top.container:
                    first = doc.keys.get((*top.path, value))
                    where = f" (first at line {first[0]})" if first else ""
                    raise _error(
                        file,
                        mark,
                        f"duplicate key '{value}'{where}",
                        "remove one of them: YAML would silently keep only the last",
                    )
                top.key = value
                top.key_mark = mark
                doc.keys[(*top.path, value)] = (mark.line + 1, mark.column + 1)
            else:
                if top.key == "<<":
                    _merge(top, value, mark, file)
                else:
                    top.container[top.key] = value
                top.key = _NO_KEY
        else:
            top.container.append(value)

    def child_path() -> Path_:
        if not stack:
            return ()
        top = stack[-1]
        if top.is_map:
            return (*top.path, top.key) if top.key is not _NO_KEY else top.path
        return (*top.path, len(top.container))

    def check_tag(tag: str | None, mark: Any) -> None:
        if tag and tag not in _STD_TAGS:
            raise _error(file, mark, f"unsupported YAML tag '{tag}'", "remove the tag: plain values are enough")

    try:
        for raw_event in yaml.parse(text, Loader=loader_cls):
            event: Any = raw_event
            if isinstance(event, ev.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _error(
                        file,
                        event.start_mark,
                        "more than one YAML document in the file",
                        "remove the '---' separator: one policy per file",
                    )
                continue
            if isinstance(event, (ev.StreamStartEvent, ev.StreamEndEvent, ev.DocumentEndEvent)):
                continue
            mark = event.start_mark
            if isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
                check_tag(event.tag, mark)
                if len(stack) >= MAX_DEPTH:
                    raise _error(
                        file, mark, f"nesting deeper than {MAX_DEPTH} levels", "a policy file is only a few levels deep"
                    )
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    raise _error(
                        file, mark, "mapping keys must be plain strings", "a key cannot be a list or a mapping"
                    )
                is_map = isinstance(event, ev.MappingStartEvent)
                path = child_path()
                frame = _Frame({} if is_map else [], is_map, path, event.anchor, mark)
                doc.flow[path] = bool(event.flow_style)
                if not (stack and stack[-1].is_map and stack[-1].key == "<<"):
                    doc.values[path] = (mark.line + 1, mark.column + 1)
                if event.anchor:
                    anchors[event.anchor] = (frame.container, 1, False)
                stack.append(frame)
                total += 1
            elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
                frame = stack.pop()
                if frame.is_map and frame.key is not _NO_KEY:
                    raise _error(file, mark, "mapping key without a value", "add a value")
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.size, True)
                end = event.end_mark.index if doc.flow.get(frame.path) else frame.last_end
                doc.spans[frame.path] = (frame.mark.index, end)
                attach(frame.container, frame.size, frame.mark, end)
            elif isinstance(event, ev.ScalarEvent):
                check_tag(event.tag, mark)
                tag = event.tag
                implicit = tag is None or tag == "!"
                if implicit:
                    tag = core_tag(event.value, bool(event.implicit[0]) and tag is None)
                if tag == _T + "merge":
                    value: Any = "<<"
                elif implicit:
                    try:
                        value = core_value(event.value, tag)
                    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
                        raise _error(
                            file, mark, f"invalid number: {exc}", "quote the value to keep it as text"
                        ) from None
                else:
                    node = yaml.ScalarNode(tag, event.value, mark, event.end_mark, event.style)
                    try:
                        value = constructor.construct_object(node, deep=True)
                    except Exception:  # PyYAML constructors raise KeyError/IndexError/... on odd values
                        short = tag.rsplit(":", 1)[-1]
                        raise _error(
                            file,
                            mark,
                            f"'{event.value}' is not a valid !!{short} value",
                            f"remove the '!!{short}' tag, or write a valid {short}",
                        ) from None
                if stack and not (stack[-1].is_map and stack[-1].key is _NO_KEY):
                    doc.values[child_path()] = (mark.line + 1, mark.column + 1)
                elif not stack:
                    doc.values[()] = (mark.line + 1, mark.column + 1)
                if event.anchor:
                    anchors[event.anchor] = (value, 1, True)
                total += 1
                if stack and not (stack[-1].is_map and stack[-1].key is _NO_KEY):
                    doc.spans[child_path()] = (mark.index, event.end_mark.index)
                attach(value, 1, mark, event.end_mark.index)
            elif isinstance(event, ev.AliasEvent):
                if event.anchor not in anchors:
                    raise _error(file, mark, f"unknown alias '*{event.anchor}'", "define the anchor first")
                value, size, closed = anchors[event.anchor]
                if not closed:
                    raise _error(file, mark, f"recursive alias '*{event.anchor}'", "an anchor cannot contain itself")
                total += size
                if total > MAX_NODES:
                    raise _error(
                        file,
                        mark,
                        f"aliases expand the document beyond {MAX_NODES} values",
                        "this looks like a YAML alias bomb; write the values out",
                    )
                if stack and not (stack[-1].is_map and stack[-1].key is _NO_KEY):
                    doc.values[child_path()] = (mark.line + 1, mark.column + 1)
                attach(value, size, mark, event.end_mark.index)
            if total > MAX_NODES:
                raise _error(file, mark, f"the document has more than {MAX_NODES} values", "split the file")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        context = f" {exc.context}" if exc.context else ""
        raise _error(
            file,
            mark,
            f"YAML syntax error: {problem}{context}",
            "check indentation (spaces, not tabs), colons and quotes",
        ) from None
    except yaml.YAMLError as exc:
        raise _error(file, None, f"YAML error: {exc}", "check the file's syntax") from None
    if not root_set:
        raise InputError(
            "the file is empty", location=Location(file, 1, 1), hint="run `mistral-sov init` to write a starter policy"
        )
    return doc


def _merge(frame: _Frame, value: Any, mark: Any, file: str) -> None:
    sources = value if isinstance(value, list) else [value]
    for src in sources:
        if not isinstance(src, dict):
            raise _error(file, mark, "'<<' merges only mappings", "point '<<' at a mapping anchor")
        for k, v in src.items():
            if k not in frame.container:
                frame.container[k] = v
                frame.merged.add(k)
