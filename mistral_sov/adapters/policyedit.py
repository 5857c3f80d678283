"""In-place edits of ``sovereignty.yaml`` that keep the administrator's comments, order and
formatting: the YAML parser's character offsets tell where to splice; nothing else in the
file is rewritten. Every edit is re-validated before it is written (atomically).

``edit_list`` is the safe entry point. It works on the text with its line breaks normalised
(CR-only, CRLF, U+2028/U+2029/NEL files are edited like LF ones and written back in their
own style), splices, then *proves* the edit: the new text must parse to exactly the old
document with the one list changed. If the splice cannot be proven (an unusual layout), the
list alone is rewritten in flow style (``[{name: …, url: …}]``; comments inside that list
are lost and the caller says so); if that cannot be proven either, ``EditError`` says so
without blaming the user's file, which is left untouched.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mistral_sov.errors import InputError, Location
from mistral_sov.yamlsrc import LocatedDoc, core_tag, load_yaml

_STR = "tag:yaml.org,2002:str"
_BREAK_RE = re.compile("\r\n|\r|\u2028|\u2029|\x85")


class EditError(InputError):
    """mistral-sov could not apply an edit to this file's layout (the file is unchanged)."""


def line_style(text: str) -> str:
    """The file's line break: the most frequent of CRLF, CR, LF, U+2028, U+2029, NEL."""
    counts = {"\r\n": text.count("\r\n")}
    counts["\r"] = text.count("\r") - counts["\r\n"]
    counts["\n"] = text.count("\n") - counts["\r\n"]
    for ch in ("\u2028", "\u2029", "\x85"):
        counts[ch] = text.count(ch)
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else "\n"


def normalize_breaks(text: str) -> str:
    return _BREAK_RE.sub("\n", text)


def _flow_list(items: list[Any]) -> str:
    def one(item: Any) -> str:
        if isinstance(item, dict):
            return "{" + ", ".join(f"{yaml_scalar(str(k))}: {one(v)}" for k, v in item.items()) + "}"
        if isinstance(item, list):
            return "[" + ", ".join(one(v) for v in item) + "]"
        return yaml_scalar(item)

    return "[" + ", ".join(one(i) for i in items) + "]"


def _rewrite_list(doc: LocatedDoc, key: str, items: list[Any]) -> str:
    text = doc.text
    if (key,) not in doc.spans:
        sep = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{sep}{key}: {_flow_list(items)}\n"
    start, end = doc.spans[(key,)]
    span = text[start:end]
    return text[:start] + _flow_list(items) + span[len(span.rstrip()) :] + text[end:]


def edit_list(
    text: str, file: str, key: str, *, add: dict[str, Any] | None = None, remove: int | None = None
) -> tuple[str, str]:
    """Append ``add`` to, or remove item ``remove`` from, the top-level list ``key``.

    Returns ``(new_text, note)``; ``note`` is non-empty when the list had to be rewritten in
    flow style. Raises ``EditError`` (exit 2) when no edit can be proven correct.
    """
    style = line_style(text)
    doc = load_yaml(normalize_breaks(text), file)
    if not isinstance(doc.data, dict):
        raise EditError("the policy is not a YAML mapping", location=Location(file))
    expected = copy.deepcopy(doc.data)
    items = list(expected.get(key) or [])
    if add is not None:
        items.append({k: v for k, v in add.items() if v is not None})
    elif remove is not None:
        del items[remove]
    expected[key] = items
    flow_note = f"the '{key}' list was rewritten in flow style; comments inside it were not kept"
    for note in ("", flow_note):
        try:
            if note:
                candidate = _rewrite_list(doc, key, items)
            elif add is not None:
                candidate = add_list_item(doc, key, add)
            else:
                candidate = remove_list_item(doc, key, remove or 0)
        except (KeyError, IndexError, ValueError, TypeError):
            continue
        final = candidate if style == "\n" else normalize_breaks(candidate).replace("\n", style)
        try:
            if load_yaml(normalize_breaks(final), file).data == expected:
                return final, note
        except InputError:
            continue
    snippet = (
        ""
        if add is None
        else f"{key}:\n  - " + "\n    ".join(f"{k}: {yaml_scalar(v)}" for k, v in add.items() if v is not None)
    )
    raise EditError(
        f"mistral-sov could not apply this edit to the layout of '{file}'; the file was not changed "
        "(it is valid: this is a limit of the editor, not a problem in your file)",
        location=Location(file),
        hint=(f"add the entry by hand:\n{snippet}" if snippet else f"remove the entry from '{key}' by hand")
        + "\n    and please report the layout so the editor can learn it",
    )


def _yaml_printable(ch: str) -> bool:
    """Printable for YAML and not a line break (U+2028/U+2029 break lines) nor a BOM."""
    o = ord(ch)
    if o in (0x2028, 0x2029, 0xFEFF):
        return False
    return o in (0x9, 0x20) or 0x21 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


def double_quoted(text: str) -> str:
    """A one-line YAML double-quoted scalar for any string: JSON escapes, plus \\u escapes
    for everything YAML would fold or refuse (line separators, NEL, BOM, C1 controls)."""
    import json

    out = []
    for ch in json.dumps(text, ensure_ascii=False)[1:-1]:
        if _yaml_printable(ch) or ch == "\\":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def yaml_scalar(value: Any) -> str:
    """The shortest safe one-line YAML spelling of a scalar (quoted only when needed)."""
    import yaml

    if isinstance(value, str):
        # plain only if it stays text under YAML 1.2 (our loader) and 1.1 (other tools), in
        # block and flow context alike
        plain_ok = not any(c in value for c in "#,[]{}") and core_tag(value, True) == _STR
        if value and value == value.strip() and plain_ok and all(_yaml_printable(c) for c in value):
            try:  # plain when it reads back as the same string (URLs: no quotes needed)
                block = yaml.safe_load(f"k: {value}") == {"k": value}
                if block and yaml.safe_load(f"[{{k: {value}, j: 1}}]") == [{"k": value, "j": 1}]:
                    return value  # the same in block and flow context
            except yaml.YAMLError:
                pass
        return double_quoted(value)
    dumped = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10_000)
    return str(dumped).strip()[1:-1]


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _nl(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def add_list_item(doc: LocatedDoc, key: str, item: dict[str, Any]) -> str:
    """Append ``item`` (a flat mapping) to the top-level list ``key``; return the new text."""
    text = doc.text
    nl = _nl(text)
    fields = [(k, yaml_scalar(v)) for k, v in item.items() if v is not None]
    path = (key,)
    if path not in doc.spans:
        body = nl.join(("  - " if i == 0 else "    ") + f"{k}: {v}" for i, (k, v) in enumerate(fields))
        sep = "" if text.endswith(("\n", "\r")) or not text else nl
        return f"{text}{sep}{key}:{nl}{body}{nl}"
    start, end = doc.spans[path]
    if doc.flow.get(path):
        items = doc.data.get(key) or []
        if not items:
            indent = " " * (doc.where(path, key=True).column - 1 + 2)
            body = nl.join(indent + ("- " if i == 0 else "  ") + f"{k}: {v}" for i, (k, v) in enumerate(fields))
            before = text[:start].rstrip(" ")
            return before + nl + body + text[end:]
        flow_item = "{" + ", ".join(f"{k}: {v}" for k, v in fields) + "}"
        close = text.rfind("]", start, end)
        return text[:close].rstrip() + ", " + flow_item + text[close:]
    indent = " " * (start - _line_start(text, start))
    body = nl.join(indent + ("- " if i == 0 else "  ") + f"{k}: {v}" for i, (k, v) in enumerate(fields))
    while end > start and text[end - 1] in " \t\r\n":  # a block scalar's span ends on the next line
        end -= 1
    cut = _line_end(text, end)
    if cut > 0 and text[cut - 1] == "\r":
        cut -= 1
    return text[:cut] + nl + body + text[cut:]


def remove_list_item(doc: LocatedDoc, key: str, index: int) -> str:
    """Remove item ``index`` of the top-level list ``key``; return the new text."""
    text = doc.text
    items = doc.data[key]
    start, end = doc.spans[(key, index)]
    if doc.flow.get((key,)):
        seq_start, seq_end = doc.spans[(key,)]
        if len(items) == 1:
            return text[:seq_start] + "[]" + text[seq_end:]
        if index < len(items) - 1:
            nxt = doc.spans[(key, index + 1)][0]
            return text[:start] + text[nxt:]
        prev_end = doc.spans[(key, index - 1)][1]
        return text[:prev_end] + text[end:]
    if len(items) == 1:
        key_loc = doc.keys[(key,)]
        seq_start, seq_end = doc.spans[(key,)]
        first = _line_start(text, seq_start)
        last = _line_end(text, seq_end)
        remainder = text[:first] + text[last + 1 :] if last < len(text) else text[:first]
        lines = remainder.split("\n")
        line = lines[key_loc[0] - 1]
        colon = line.find(":", key_loc[1] - 1 + len(key))
        lines[key_loc[0] - 1] = (
            line[: colon + 1] + " []" + line[colon + 1 :].rstrip("\r") + ("\r" if line.endswith("\r") else "")
        )
        return "\n".join(lines)
    first = _line_start(text, start)
    last = _line_end(text, end)
    return text[:first] + text[last + 1 :] if last < len(text) else text[:first]
