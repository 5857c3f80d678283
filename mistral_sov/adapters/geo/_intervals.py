"""Longest-prefix lookup over many CIDR prefixes, IPv4 and IPv6.

One sorted array of network starts per (IP version, prefix length); a lookup masks the
address to each present prefix length, longest first, and bisects. That is
O(#lengths x log n) per address with no overlap bookkeeping, and exact for nested prefixes.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class PrefixIndex(Generic[T]):
    def __init__(self) -> None:
        self._pending: dict[tuple[int, int], dict[int, list[T]]] = {}
        self._tables: list[tuple[int, int, list[int], list[list[T]]]] = []
        self._frozen = False
        self.count = 0

    def add(self, prefix: str, value: T) -> None:
        """Add ``value`` under ``prefix`` (raises ValueError for a malformed prefix)."""
        net = ipaddress.ip_network(prefix.strip(), strict=False)
        key = (net.version, net.prefixlen)
        self._pending.setdefault(key, {}).setdefault(int(net.network_address), []).append(value)
        self._frozen = False
        self.count += 1

    def _freeze(self) -> None:
        tables = []
        for (version, plen), starts in self._pending.items():
            keys = sorted(starts)
            tables.append((version, plen, keys, [starts[k] for k in keys]))
        tables.sort(key=lambda t: (t[0], -t[1]))
        self._tables = tables
        self._frozen = True

    def lookup_all(self, address: str) -> Iterator[tuple[int, list[T]]]:
        """Every (prefix length, values) containing ``address``, longest prefix first."""
        if not self._frozen:
            self._freeze()
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        width = 32 if ip.version == 4 else 128
        value = int(ip)
        for version, plen, keys, values in self._tables:
            if version != ip.version:
                continue
            masked = (value >> (width - plen)) << (width - plen) if plen else 0
            i = bisect_left(keys, masked)
            if i < len(keys) and keys[i] == masked:
                yield plen, values[i]

    def lookup(self, address: str) -> list[T]:
        """The values of the longest prefix containing ``address`` ([] when none)."""
        for _plen, values in self.lookup_all(address):
            return values
        return []
