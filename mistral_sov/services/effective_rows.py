"""``policy effective`` rows: every setting of the effective policy with where its value came
from — the managed source, the YAML ``file:line:col``, or the default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mistral_sov.services.effective import EffectivePolicy, blocks_public_ai

SECTIONS = ("zones", "endpoints", "blocking", "browsers", "windows", "local_inference")


def effective_rows(
    effective: EffectivePolicy, yaml_where: Callable[[tuple[str, ...]], str | None]
) -> list[dict[str, Any]]:
    """One row per setting: ``setting``, ``value``, ``source`` (the managed source, the YAML
    ``file:line:col``, or ``default``). ``yaml_where(path)`` locates a path in the YAML or None."""
    p = effective.policy
    rows: list[dict[str, Any]] = []

    def source_of(dotted: str, path: tuple[str, ...]) -> str:
        if dotted in effective.origin:
            return f"managed: {effective.origin[dotted]}"
        loc = yaml_where(path)
        return f"yaml: {loc}" if loc else "default"

    for section in SECTIONS:
        value = getattr(p, section)
        if isinstance(value, list):
            rows.append({"setting": section, "value": _show(value), "source": source_of(section, (section,))})
            if section == "endpoints" and "endpoints[0] (default)" in effective.origin:
                rows.append(
                    {
                        "setting": "endpoints[0] (default)",
                        "value": value[0].url if value else None,
                        "source": source_of("endpoints[0] (default)", ()),
                    }
                )
            continue
        if section == "blocking":
            rows.append(
                {
                    "setting": "blocking (BlockPublicAI)",
                    "value": blocks_public_ai(p),
                    "source": f"managed: {effective.managed.origin['BlockPublicAI']}"
                    if "BlockPublicAI" in effective.managed.origin
                    else "derived from blocking and local_inference.enforce_local_only",
                }
            )
        for name in type(value).model_fields:
            dotted = f"{section}.{name}"
            rows.append(
                {
                    "setting": dotted,
                    "value": _show(getattr(value, name)),
                    "source": source_of(dotted, (section, name)),
                }
            )
    return rows


def _show(value: Any) -> Any:
    if isinstance(value, list):
        return [_show(v) for v in value]
    if isinstance(value, dict):
        return {k: _show(v) for k, v in value.items()}
    if hasattr(value, "model_dump"):
        return {k: v for k, v in value.model_dump().items() if v not in (None, "", False)}
    return value
