"""The third-party controls table's schema: row type, allowed names, and the validating
parser (``parse_table``). ``controls.py`` selects and resolves rows for each channel."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from mistral_sov.errors import InputError, Location

TABLE = "controls/third-party.yaml"

PRODUCTS = ("chrome", "edge", "firefox", "windows")
PRODUCT_LABELS = {
    "chrome": "Google Chrome",
    "edge": "Microsoft Edge",
    "firefox": "Mozilla Firefox",
    "windows": "Windows",
}
# control -> the policy-file switch that asks for it (None: always on when the product is)
CONTROLS: dict[str, str | None] = {
    "url_filter": None,
    "doh_off": None,
    "builtin_ai_off": "browsers.disable_builtin_ai",
    "recall_off": "windows.disable_recall",
    "copilot_off": "windows.disable_copilot",
}
PLATFORMS = ("windows", "linux", "macos")
# channel -> (platform, products it can carry, bundle files)
CHANNELS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "registry_pol": (
        "windows",
        ("chrome", "edge", "firefox", "windows"),
        "gpo/Machine/Registry.pol, gpo/User/Registry.pol",
    ),
    "reg": ("windows", ("chrome", "edge", "firefox", "windows"), "gpo/mistral-sov.reg"),
    "intune_scripts": ("windows", ("chrome", "edge", "firefox", "windows"), "intune/detect.ps1, intune/remediate.ps1"),
    "intune_catalog": ("windows", ("chrome", "edge", "windows"), "intune/settings-catalog-*.json"),
    "managed_json": ("linux", ("chrome", "edge"), "browsers/chrome-managed.json, browsers/edge-managed.json"),
    "policies_json": ("linux", ("firefox",), "browsers/firefox-policies.json"),
    "mobileconfig": ("macos", ("chrome", "edge", "firefox"), "browsers/*.mobileconfig"),
}
REGISTRY_CHANNELS = ("registry_pol", "reg", "intune_scripts")
TYPES = ("bool", "int", "string", "list", "object")
PLACEHOLDERS = ("$block_hosts", "$allow_hosts", "$block_patterns", "$allow_patterns")
SCOPES = ("Machine", "User")
# Registry key of each browser's policies (Windows); windows rows carry their own `key`.
BASE_KEYS = {
    "chrome": r"Software\Policies\Google\Chrome",
    "edge": r"Software\Policies\Microsoft\Edge",
    "firefox": r"Software\Policies\Mozilla\Firefox",
}
REQUIRED = ("product", "policy", "control", "type", "value", "platforms", "channels", "min_version", "source")
OPTIONAL = ("allowed", "scope", "key", "deprecated_by", "cloud_only", "instead", "note")
# Chrome and Edge ignore URL-list entries past the 1000th; Firefox's WebsiteFilter likewise.
MAX_URL_ENTRIES = 1000


@dataclass(frozen=True)
class ControlRow:
    product: str
    policy: str
    control: str
    type: str
    value: Any
    platforms: tuple[str, ...]
    channels: tuple[str, ...]
    min_version: str
    source: str
    allowed: tuple[Any, ...] = ()
    scope: str = "Machine"
    key: str = ""
    deprecated_by: str = ""
    cloud_only: bool = False
    instead: tuple[str, ...] = ()
    note: str = ""
    line: int = 0

    @property
    def label(self) -> str:
        return f"{self.product}:{self.policy}"

    @property
    def enforcing(self) -> bool:
        """True when mistral-sov emits the row somewhere (not cloud-only, not deprecated)."""
        return bool(self.channels)

    @property
    def registry_key(self) -> str:
        return self.key or BASE_KEYS.get(self.product, "")

    def why_not(self) -> str:
        if self.cloud_only:
            return "cloud-only policy (honoured only when set from the vendor's cloud console)"
        if self.deprecated_by:
            return f"deprecated by {self.deprecated_by}"
        return self.note or "not emitted"


# --------------------------------------------------------------------------- loading


def _fail(origin: str, line: int, message: str, hint: str) -> InputError:
    return InputError(message, hint=hint, location=Location(origin, line))


def _check_value(row: dict[str, Any], origin: str, line: int) -> None:
    label = f"{row['product']}:{row['policy']}"
    kind, value = row["type"], row["value"]

    def bad(why: str) -> InputError:
        return _fail(
            origin,
            line,
            f"control {label}: malformed value {value!r} ({why})",
            "give a value of the row's type (bool true/false, int, string, a list placeholder, or a mapping)",
        )

    def leaf_ok(v: Any) -> bool:
        return isinstance(v, (bool, int, str)) and not (
            isinstance(v, str) and v.startswith("$") and v not in PLACEHOLDERS
        )

    if kind == "bool" and not isinstance(value, bool):
        raise bad("type bool needs true or false")
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad("type int needs an integer")
    if kind == "string" and not isinstance(value, str):
        raise bad("type string needs a string")
    if kind == "list" and not (
        value in PLACEHOLDERS or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    ):
        raise bad(f"type list needs one of {', '.join(PLACEHOLDERS)} or a list of strings")
    if kind == "object":
        if not isinstance(value, dict) or not value:
            raise bad("type object needs a non-empty mapping")
        stack = [value]
        while stack:
            node = stack.pop()
            for k, v in node.items():
                if not isinstance(k, str) or not k:
                    raise bad("object keys must be non-empty strings")
                if isinstance(v, dict):
                    stack.append(v)
                elif not leaf_ok(v):
                    raise bad(f"'{k}' must be true/false, an integer, a string or a list placeholder")
    allowed = row.get("allowed")
    if allowed is not None:
        if kind not in ("int", "string") or not isinstance(allowed, list) or not allowed:
            raise bad("'allowed' is a non-empty list, for int and string rows only")
        if value not in allowed or (isinstance(value, bool) != any(isinstance(a, bool) for a in allowed)):
            raise bad(f"not one of the vendor's allowed values {allowed}")


def parse_table(text: str, origin: str = TABLE) -> tuple[ControlRow, ...]:
    """Parse and validate the table text; every problem is an ``InputError`` at its line."""
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
        root = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _fail(origin, (mark.line + 1) if mark else 0, f"{origin} is not valid YAML", str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("controls"), list) or root is None:
        raise _fail(origin, 1, f"{origin} has no 'controls' list", "the file is `controls:` followed by rows")
    nodes = next(v for k, v in root.value if k.value == "controls").value
    rows: list[ControlRow] = []
    seen: dict[tuple[str, str], int] = {}
    for raw, node in zip(data["controls"], nodes, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(raw, dict):
            raise _fail(origin, line, "a control row must be a mapping", "see the field list at the top of the file")
        unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise _fail(
                origin, line, f"unknown field(s) {', '.join(unknown)}", f"fields are {', '.join(REQUIRED + OPTIONAL)}"
            )
        missing = [f for f in REQUIRED if f not in raw or (f != "value" and raw[f] in (None, ""))]
        if "channels" in missing and raw.get("channels") == []:
            missing.remove("channels")
        if missing:
            what = raw.get("policy", "?")
            raise _fail(
                origin,
                line,
                f"control {raw.get('product', '?')}:{what} lacks {', '.join(missing)}",
                "every row needs product, policy, control, type, value, platforms, channels, min_version "
                "and source (the vendor's definition URL)",
            )
        label = f"{raw['product']}:{raw['policy']}"
        source = str(raw["source"])
        if not source.startswith("https://"):
            raise _fail(origin, line, f"control {label}: source must be an https:// URL of the vendor's definition", "")
        if raw["product"] not in PRODUCTS:
            raise _fail(
                origin, line, f"control {label}: unknown product '{raw['product']}'", f"use {', '.join(PRODUCTS)}"
            )
        if raw["control"] not in CONTROLS:
            raise _fail(
                origin, line, f"control {label}: unknown control '{raw['control']}'", f"use {', '.join(CONTROLS)}"
            )
        if raw["type"] not in TYPES:
            raise _fail(origin, line, f"control {label}: unknown type '{raw['type']}'", f"use {', '.join(TYPES)}")
        for field, allowed_names in (("platforms", PLATFORMS), ("channels", tuple(CHANNELS))):
            items = raw[field]
            if (
                not isinstance(items, list)
                or any(i not in allowed_names for i in items)
                or len(set(items)) != len(items)
            ):
                raise _fail(
                    origin,
                    line,
                    f"control {label}: unknown or repeated {field[:-1]} in {items!r}",
                    f"use {', '.join(allowed_names)}",
                )
        if not raw["platforms"]:
            raise _fail(origin, line, f"control {label}: no platforms", "list where the vendor honours it")
        for ch in raw["channels"]:
            platform, products, _ = CHANNELS[ch]
            if platform not in raw["platforms"]:
                raise _fail(origin, line, f"control {label}: channel {ch} is for {platform}, not in its platforms", "")
            if raw["product"] not in products:
                raise _fail(origin, line, f"control {label}: channel {ch} cannot carry {raw['product']} policies", "")
        registry = [c for c in REGISTRY_CHANNELS if c in raw["channels"]]
        if registry and len(registry) != len(REGISTRY_CHANNELS):
            raise _fail(
                origin,
                line,
                f"control {label}: the registry channels go together ({', '.join(REGISTRY_CHANNELS)})",
                "they write the same registry values; list all three or none",
            )
        retired = bool(raw.get("cloud_only")) or bool(raw.get("deprecated_by"))
        if retired and raw["channels"]:
            raise _fail(
                origin,
                line,
                f"control {label}: a cloud-only or deprecated policy is never emitted",
                "leave its channels empty and name what is used instead",
            )
        if not raw["channels"] and not (raw.get("note") or retired):
            raise _fail(origin, line, f"control {label}: an unused row needs a note saying why", "")
        scope = raw.get("scope", "Machine")
        if scope not in SCOPES:
            raise _fail(origin, line, f"control {label}: unknown scope '{scope}'", "use Machine or User")
        if raw["product"] == "windows" and registry and not raw.get("key"):
            raise _fail(origin, line, f"control {label}: a Windows row on registry channels needs its key", "")
        key = str(raw.get("key") or "")
        if key.upper().startswith("HK") or "\x00" in key:
            raise _fail(origin, line, f"control {label}: key must not name a hive", r"write it as Software\Policies\…")
        _check_value(raw, origin, line)
        ident = (raw["product"], raw["policy"])
        if ident in seen:
            raise _fail(
                origin, line, f"control {label} is listed twice (also line {seen[ident]})", "keep one row per policy"
            )
        seen[ident] = line
        rows.append(
            ControlRow(
                product=raw["product"],
                policy=str(raw["policy"]),
                control=raw["control"],
                type=raw["type"],
                value=raw["value"],
                platforms=tuple(raw["platforms"]),
                channels=tuple(raw["channels"]),
                min_version=str(raw["min_version"]),
                source=source,
                allowed=tuple(raw.get("allowed") or ()),
                scope=scope,
                key=key,
                deprecated_by=str(raw.get("deprecated_by") or ""),
                cloud_only=bool(raw.get("cloud_only")),
                instead=tuple(raw.get("instead") or ()),
                note=" ".join(str(raw.get("note") or "").split()),
                line=line,
            )
        )
    return tuple(rows)


@cache
def _load(templates: str) -> tuple[ControlRow, ...]:
    from mistral_sov import resources

    return parse_table(resources.read_text(TABLE), str(resources.path(TABLE)))


def load_table() -> tuple[ControlRow, ...]:
    from mistral_sov import resources

    return _load(str(resources.templates_dir()))
