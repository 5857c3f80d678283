"""Validate a located YAML document against a pydantic model and turn every problem into a
``file:line:column`` diagnostic with a hint."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mistral_sov.core.policy import suggest
from mistral_sov.errors import Diagnostic, PolicyError
from mistral_sov.yamlsrc import YAML11_BOOLEANS, LocatedDoc

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string '{shown}'"
    return f"the {type(value).__name__} {value!r}"[:80]


def _data_path(doc: LocatedDoc, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union-branch labels from ``loc``: keep what exists in the data."""
    path: list[Any] = []
    node = doc.data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not path_is_label(part):
            path.append(part)  # a missing or extra key
            break
        else:
            continue
    return tuple(path)


def path_is_label(part: str) -> bool:
    return "[" in part or part.startswith(("literal", "list", "function", "nullable", "str", "bool"))


def diagnostics_from(exc: ValidationError, doc: LocatedDoc, fields_at: Any = None) -> list[Diagnostic]:
    by_path: dict[tuple[Any, ...], Diagnostic] = {}
    for err in exc.errors(include_url=False):
        path = _data_path(doc, tuple(err["loc"]))
        kind = err["type"]
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        value = err.get("input")
        if kind == "extra_forbidden":
            name = str(path[-1]) if path else "?"
            choices = fields_at(path[:-1]) if fields_at else []
            hint = suggest(name, choices) or (
                f"allowed keys here: {', '.join(choices)}" if choices else "remove the key"
            )
            diag = Diagnostic(f"unknown key '{name}'", doc.where(path, key=True), field, hint)
        elif kind == "missing":
            name = str(path[-1]) if path else "?"
            diag = Diagnostic(
                f"required key '{name}' is missing",
                doc.where(path[:-1], key=True),
                field,
                f"add '{name}:' (see docs/policy.md)",
            )
        elif kind in _TYPE_NAMES:
            hint = "quote text values; write lists as [a, b] or one '- item' per line"
            if kind == "bool_type" and isinstance(value, str) and value in YAML11_BOOLEANS:
                hint = (
                    f"write true or false: this file is read as YAML 1.2, where '{value}' is text "
                    "(so that country codes such as NO stay text)"
                )
            diag = Diagnostic(f"expected {_TYPE_NAMES[kind]}, got {_describe(value)}", doc.where(path), field, hint)
        else:
            msg = err["msg"]
            if kind == "string_pattern_mismatch":
                msg = f"{_describe(value)} has the wrong format ({err['msg'].lower()})"
            diag = Diagnostic(msg[0].lower() + msg[1:] if msg else kind, doc.where(path), field, _hint_for(kind))
        if path in by_path:
            prev = by_path[path]
            if diag.message not in prev.message:
                by_path[path] = Diagnostic(f"{prev.message}; or {diag.message}", prev.location, prev.field, prev.hint)
        else:
            by_path[path] = diag
    return list(by_path.values())


def _hint_for(kind: str) -> str:
    return {
        "literal_error": "use one of the listed values",
        "union_tag_invalid": "use one of the listed values",
        "too_long": "shorten the value",
        "too_short": "give a value",
        "greater_than_equal": "raise the value",
        "less_than_equal": "lower the value",
        "string_too_long": "shorten the value",
        "string_too_short": "the value cannot be empty",
    }.get(kind, "see docs/policy.md for this field")


def validate_located(model: type[M], doc: LocatedDoc, fields_at: Any = None) -> M:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        diags = diagnostics_from(exc, doc, fields_at)
        raise PolicyError(diags[0].message, diagnostics=diags) from None
