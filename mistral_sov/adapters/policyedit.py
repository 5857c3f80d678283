"""In-place edits of ``sovereignty.yaml`` that keep the administrator's comments, order and
formatting: the YAML parser's character offsets tell where to splice; nothing else in the
file is rewritten. Every edit is re-validated before it is written (atomically)."""

from __future__ import annotations

from typing import Any

from mistral_sov.yamlsrc import LocatedDoc


def yaml_scalar(value: Any) -> str:
    """The shortest safe YAML spelling of a scalar (quoted only when needed)."""
    import yaml

    if isinstance(value, str) and value and "#" not in value and "\n" not in value:
        try:  # plain when it reads back as the same string (URLs: no quotes needed)
            if yaml.safe_load(f"k: {value}") == {"k": value}:
                return value
        except yaml.YAMLError:
            pass
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
