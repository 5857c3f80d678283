"""Text helpers shared by the browser and network exporters (escaping free text safely).

Domains reaching an exporter are already normalised (lowercase ASCII, IDN as punycode) by
the policy loader; only free text (organization, endpoint names and descriptions, catalog
service names) needs care. Comments in DNS/PAC/hosts files are kept ASCII: every consumer
(BIND, unbound, dnsmasq, the Windows hosts parser, PAC engines) reads ASCII identically.
"""

from __future__ import annotations

import json
import unicodedata

_DROP_CATEGORIES = {"Cc", "Cs", "Cn", "Co", "Zl", "Zp"}
MAX_COMMENT = 200


def display_text(text: str, limit: int = 200) -> str:
    """Free text fit for a display string (plist, JSON): no control characters, surrogates,
    unassigned or private-use code points, or line/paragraph separators; whitespace runs
    collapsed; at most ``limit`` characters."""
    cleaned = "".join(" " if unicodedata.category(ch) in _DROP_CATEGORIES or ch.isspace() else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


def comment_text(text: str, limit: int = MAX_COMMENT) -> str:
    """Free text for a one-line comment: ``display_text`` then ASCII with ``\\uXXXX`` escapes,
    so no character can end the comment (newline, U+2028 in JavaScript) or confuse a parser."""
    ascii_text = display_text(text, limit).encode("ascii", "backslashreplace").decode("ascii")
    return ascii_text


def js_string(text: str) -> str:
    """A JavaScript string literal (JSON is a subset of ES5 once U+2028/9 are escaped, which
    ``ensure_ascii`` does)."""
    return json.dumps(text, ensure_ascii=True)


def checked_hosts(names: list[str], what: str) -> list[str]:
    """Every name must be a normalised host (lowercase ASCII domain, IP literal or localhost):
    the policy loader guarantees it, this keeps a hand-built Policy or a damaged catalog
    (``--templates-dir``) from injecting syntax into a generated file."""
    from mistral_sov.core.domains import DomainError, is_ip, validate_ascii_domain
    from mistral_sov.errors import InputError

    for name in names:
        if name == "localhost" or is_ip(name):
            continue
        try:
            if name != name.lower() or not name.isascii():
                raise DomainError(f"'{name}' is not in normalised (lowercase ASCII) form")
            validate_ascii_domain(name)
        except DomainError as exc:
            raise InputError(
                f"{what}: {name!a} cannot be exported ({exc})",
                hint="fix the policy or catalog entry; domains must be valid host names",
            ) from None
    return names
