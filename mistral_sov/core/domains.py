"""Host and domain names: IDNA (UTS #46) normalisation to lowercase ASCII (punycode)."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ASCII_NAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
MAX_NAME = 253


class DomainError(ValueError):
    """A host or domain name that cannot be used; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def normalize_domain(text: str) -> str:
    """Return the lowercase ASCII form of a domain, IDN labels as punycode.

    ``Bücher.Example`` -> ``xn--bcher-kva.example``. Raises DomainError for anything
    that is not a host name (schemes, paths, wildcards, empty labels, over-long names).
    """
    import idna

    raw = text.strip()
    if not raw:
        raise DomainError("empty domain name", "write a host name such as chatgpt.com")
    if "://" in raw or "/" in raw:
        raise DomainError(f"'{raw}' is a URL, not a domain", "write only the host name, e.g. chatgpt.com")
    if raw.startswith("*."):
        raise DomainError(
            f"'{raw}' uses a wildcard",
            f"write '{raw[2:]}': a domain always covers its sub-domains",
        )
    if raw.endswith("."):
        raw = raw[:-1]
    if raw.isascii():
        lowered = raw.lower()
        # fast path: plain LDH names are already in their IDNA form (UTS #46 only lower-cases
        # ASCII); labels with '--' in positions 3-4 (punycode "xn--" and reserved forms) still
        # go through the full IDNA check below
        if _ASCII_NAME.match(lowered) and not any(lbl[2:4] == "--" for lbl in lowered.split(".")):
            validate_ascii_domain(lowered)
            return lowered
    try:
        ascii_name = idna.encode(raw, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise DomainError(
            f"'{raw}' is not a valid domain name ({exc})",
            "use letters, digits and hyphens in dot-separated labels",
        ) from None
    ascii_name = ascii_name.lower()
    validate_ascii_domain(ascii_name)
    return ascii_name


def validate_ascii_domain(name: str) -> None:
    if len(name) > MAX_NAME:
        raise DomainError(f"domain name is {len(name)} characters long", "the limit is 253")
    labels = name.split(".")
    if len(labels) < 2:
        raise DomainError(f"'{name}' has no dot", "write a fully qualified name such as example-ai.net")
    for label in labels:
        if not _LABEL.match(label):
            raise DomainError(
                f"'{name}' has an invalid label '{label}'",
                "labels are 1-63 letters, digits or hyphens, not starting or ending with '-'",
            )
    if labels[-1].isdigit():
        raise DomainError(f"'{name}' looks like an IP address, not a domain", "write a host name")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback_or_private(host: str) -> bool:
    """True for loopback/private/link-local addresses and the name 'localhost'."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_private or addr.is_link_local


def covers(parent: str, host: str) -> bool:
    """True if ``host`` equals ``parent`` or is a sub-domain of it (label boundary)."""
    return host == parent or host.endswith("." + parent)


def parents(host: str) -> list[str]:
    """``a.b.c.com`` -> ``[a.b.c.com, b.c.com, c.com, com]``."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
