"""Chrome/Edge URLBlocklist / URLAllowlist filter semantics.

Filter format: ``[scheme://][.]host[:port][/path][?query]`` (Chrome documents the query
part as ``@query``; both separators are accepted here).

- ``example.com`` matches the host and every sub-domain; ``.example.com`` only the host;
  ``*`` matches every URL. IP-address hosts never match sub-domains.
- The path is a prefix; a port or scheme, when given, must be equal.
- When several filters match, the most specific one wins: a longer host, then an exact
  host over a sub-domain match, then a longer path, then more query conditions; on a
  complete tie an allow filter beats a block filter. The ``*`` wildcard always loses.

This mirrors Chromium's ``components/url_matcher/url_util.cc`` (FilterTakesPrecedence), so
``allowlist check`` predicts what the browser does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from mistral_sov.core.domains import DomainError, is_ip, normalize_domain

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


class FilterError(ValueError):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class UrlFilter:
    """One parsed filter. ``data`` is whatever the caller attaches (rule, service…)."""

    text: str
    allow: bool
    scheme: str = ""
    host: str = ""  # "" = any host (the '*' filter)
    match_subdomains: bool = True
    port: int = 0  # 0 = any port
    path: str = ""
    query: tuple[tuple[str, str | None], ...] = ()
    data: object = field(default=None, compare=False)

    @property
    def is_wildcard(self) -> bool:
        return not self.host and not self.scheme and not self.port and not self.path and not self.query

    def matches(self, url: ParsedUrl) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.host:
            if self.match_subdomains:
                if not (url.host == self.host or url.host.endswith("." + self.host)):
                    return False
            elif url.host != self.host:
                return False
        if self.port and self.port != url.port:
            return False
        if self.path and not url.path.startswith(self.path):
            return False
        for key, value in self.query:
            values = url.query.get(key)
            if values is None:
                return False
            if value is not None and value not in values:
                return False
        return True


def _precedes(lhs: UrlFilter, rhs: UrlFilter) -> bool:
    """True if ``lhs`` takes precedence over ``rhs`` (both match the same URL)."""
    if lhs.is_wildcard != rhs.is_wildcard:
        return rhs.is_wildcard
    if len(lhs.host) != len(rhs.host):
        return len(lhs.host) > len(rhs.host)
    if lhs.match_subdomains != rhs.match_subdomains:
        return not lhs.match_subdomains
    if len(lhs.path) != len(rhs.path):
        return len(lhs.path) > len(rhs.path)
    if len(lhs.query) != len(rhs.query):
        return len(lhs.query) > len(rhs.query)
    return lhs.allow and not rhs.allow


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int
    path: str
    query: dict[str, list[str]]


def parse_url(url: str) -> ParsedUrl:
    """Parse a URL the way the browser sees it (host lowercased and punycoded)."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise FilterError(f"'{url}' is not a valid URL ({exc})", "write e.g. https://chatgpt.com/") from None
    scheme = parts.scheme.lower()
    raw_host = parts.hostname or ""
    if not raw_host:
        raise FilterError(f"'{url}' has no host", "write e.g. https://chatgpt.com/")
    host = _canonical_host(raw_host, url)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    return ParsedUrl(
        scheme=scheme,
        host=host,
        port=port or _DEFAULT_PORTS.get(scheme, 0),
        path=parts.path or "/",
        query=query,
    )


def _canonical_host(raw: str, original: str) -> str:
    raw = raw.strip("[]").rstrip(".").lower()
    if is_ip(raw) or raw == "localhost":
        return raw
    if "." not in raw:
        return raw  # intranet single-label names are matched literally
    try:
        return normalize_domain(raw)
    except DomainError as exc:
        raise FilterError(f"'{original}': {exc}", exc.hint) from None


def parse_filter(text: str, *, allow: bool, data: object = None) -> UrlFilter:
    """Parse one URLBlocklist/URLAllowlist entry."""
    raw = text.strip()
    if not raw:
        raise FilterError("empty URL filter", "write a host such as chatgpt.com, or '*'")
    scheme = ""
    rest = raw
    if "://" in raw:
        scheme, rest = raw.split("://", 1)
        scheme = scheme.lower()
        if scheme == "*":
            scheme = ""
    rest = rest.replace("@", "?", 1) if "?" not in rest else rest
    if rest.startswith("*") and rest[1:2] not in ("", "/", ":", "?"):
        raise FilterError(
            f"'{raw}': '*.' is not allowed in a host",
            "write 'example.com' (it covers sub-domains) or '.example.com' for the host only",
        )
    match_subdomains = True
    if rest.startswith("."):
        match_subdomains = False
        rest = rest[1:]
    if rest.count(":") >= 2 and not rest.startswith("["):  # a bare IPv6 address: bracket it
        bare, sep, tail = rest.partition("/")
        if is_ip(bare):
            rest = f"[{bare}]{sep}{tail}"
    try:
        parts = urlsplit("//" + rest)
        port = parts.port or 0
    except ValueError as exc:
        raise FilterError(f"'{raw}' is not a valid URL filter ({exc})", "check the port") from None
    host_text = parts.hostname or ""
    if host_text == "*" or (not host_text and rest.startswith("*")):
        host = ""
    elif not host_text:
        raise FilterError(f"'{raw}' has no host", "write e.g. chatgpt.com or '*'")
    else:
        host = _canonical_host(host_text, raw)
        if is_ip(host):
            match_subdomains = False
    query = tuple(
        (k, v if v != "" or "=" in pair else None)
        for pair in parts.query.split("&")
        if pair
        for k, v in [pair.split("=", 1) if "=" in pair else (pair, "")]
    )
    path = parts.path
    if path == "/":
        path = ""
    return UrlFilter(
        text=raw,
        allow=allow,
        scheme=scheme,
        host=host,
        match_subdomains=match_subdomains,
        port=port,
        path=path,
        query=query,
        data=data,
    )


@dataclass(frozen=True)
class Decision:
    """The browser's verdict for one URL and the filter that decided it (None = unlisted)."""

    url: str
    allowed: bool
    filter: UrlFilter | None

    @property
    def status(self) -> str:
        if self.filter is None:
            return "unlisted"
        return "allowed" if self.allowed else "blocked"


class FilterSet:
    """A URLBlocklist + URLAllowlist pair, indexed by host suffix for speed."""

    def __init__(self, filters: Iterable[UrlFilter] = ()) -> None:
        self._by_host: dict[str, list[UrlFilter]] = {}
        self._any_host: list[UrlFilter] = []
        for f in filters:
            self.add(f)

    def add(self, f: UrlFilter) -> None:
        if f.host:
            self._by_host.setdefault(f.host, []).append(f)
        else:
            self._any_host.append(f)

    def candidates(self, host: str) -> Sequence[UrlFilter]:
        out: list[UrlFilter] = list(self._any_host)
        labels = host.split(".")
        for i in range(len(labels)):
            out.extend(self._by_host.get(".".join(labels[i:]), ()))
        return out

    def decide(self, url: str) -> Decision:
        parsed = parse_url(url)
        best: UrlFilter | None = None
        for f in self.candidates(parsed.host):
            if f.matches(parsed) and (best is None or _precedes(f, best)):
                best = f
        if best is None:
            return Decision(url, True, None)
        return Decision(url, best.allow, best)
