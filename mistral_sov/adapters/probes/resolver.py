"""Resolve a target (URL, host name or IP literal) with dnspython: the full CNAME chain, every
A and AAAA answer, the resolver that answered, and flags for global front doors / anycast
CDNs (from ``templates/residency/frontdoors.yaml``) and private-link answers.

DNS failures never raise: NXDOMAIN, no answer, timeouts and resolver errors come back as a
``Resolution`` whose ``status`` says so (the verdict engine makes them INCONCLUSIVE). Only a
malformed target raises ``InputError`` (exit 2).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from mistral_sov import resources
from mistral_sov.core.trace import FrontDoorMatch, Resolution
from mistral_sov.errors import InputError, Location

FRONTDOORS_FILE = "residency/frontdoors.yaml"

# Addresses a private endpoint (Azure Private Link, AWS PrivateLink, GCP PSC) hands out.
_PRIVATE_NETS = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
]


@dataclass(frozen=True)
class _Provider:
    id: str
    name: str
    kind: str
    suffixes: tuple[str, ...]


@cache
def front_door_table() -> tuple[_Provider, ...]:
    """The shipped table of front doors and anycast CDNs (validated)."""
    file = resources.path(FRONTDOORS_FILE)
    doc = resources.load_yaml_data(FRONTDOORS_FILE)
    try:
        providers = tuple(
            _Provider(
                str(p["id"]),
                str(p["name"]),
                str(p["kind"]),
                tuple(str(s).lower().strip(".") for s in p["suffixes"]),
            )
            for p in doc["providers"]
        )
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"shipped front-door table is malformed: {exc}",
            hint="reinstall mistral-sov, or fix --templates-dir",
            location=Location(str(file)),
        ) from exc
    return providers


def match_front_doors(names: list[str]) -> list[FrontDoorMatch]:
    """Front doors/CDNs whose suffix ends one of ``names`` (label-wise, case-insensitive)."""
    found: list[FrontDoorMatch] = []
    for name in names:
        n = name.lower().rstrip(".")
        for p in front_door_table():
            for suffix in p.suffixes:
                if n == suffix or n.endswith("." + suffix):
                    found.append(FrontDoorMatch(p.id, p.name, p.kind, n))
    return found


def is_private_link(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == net.version and ip in net for net in _PRIVATE_NETS)


def parse_target(target: str) -> tuple[str, int | None]:
    """``(host, port)`` from a URL, ``host``, ``host:port``, IP literal or ``[v6]:port``.

    Raises ``InputError`` for anything that is not a plausible host name or address.
    """
    text = target.strip()
    if not text:
        raise InputError("empty target", hint="give a URL, a host name or an IP address")
    port: int | None = None
    if "://" in text:
        parts = urlsplit(text)
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            raise InputError(f"'{target}' has an invalid port", hint="e.g. https://api.example.eu:443") from None
    elif text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], target)
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p, target)
    else:
        host = text.split("/", 1)[0]
    host = host.strip().rstrip(".") if not _is_ip(host.strip()) else host.strip()
    if not host:
        raise InputError(f"'{target}' names no host", hint="give a URL, a host name or an IP address")
    if _is_ip(host):
        return str(ipaddress.ip_address(host.split("%")[0])), port
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InputError(f"'{host}' is not a valid host name", hint="check the spelling of the target") from None
    labels = ascii_host.split(".")
    if (
        len(ascii_host) > 253
        or any(not lab or len(lab) > 63 for lab in labels)
        or not all(c.isalnum() or c in "-_" for lab in labels for c in lab)
    ):
        raise InputError(f"'{host}' is not a valid host name", hint="check the spelling of the target")
    return ascii_host, port


def _port(text: str, target: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InputError(f"'{target}' has an invalid port", hint="use a port between 1 and 65535")
    return int(text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True


class DnsResolver:
    """Resolver over dnspython. ``nameserver``/``port`` override the system configuration."""

    def __init__(
        self, *, nameserver: str | None = None, port: int = 53, timeout: float = 5.0, tcp: bool = False
    ) -> None:
        if nameserver is not None and not _is_ip(nameserver):
            raise InputError(f"nameserver '{nameserver}' is not an IP address", hint="e.g. --nameserver 9.9.9.9")
        self.nameserver = nameserver
        self.port = port
        self.timeout = timeout
        self.tcp = tcp

    def _resolver(self) -> Any:
        import dns.resolver

        if self.nameserver is None:
            try:
                res = dns.resolver.Resolver(configure=True)
            except (dns.resolver.NoResolverConfiguration, OSError):
                res = dns.resolver.Resolver(configure=False)
        else:
            res = dns.resolver.Resolver(configure=False)
            res.nameservers = [self.nameserver]
            res.port = self.port
        res.lifetime = self.timeout
        res.timeout = min(self.timeout, 2.0)
        res.cache = None
        return res

    def resolve(self, target: str) -> Resolution:
        host, port = parse_target(target)
        if _is_ip(host):
            res = Resolution(target=target, host=host, port=port, status="ip-literal")
            (res.a if ipaddress.ip_address(host).version == 4 else res.aaaa).append(host)
            _flag(res)
            return res
        return self._lookup(target, host, port)

    def _lookup(self, target: str, host: str, port: int | None) -> Resolution:
        import dns.exception
        import dns.name
        import dns.rdatatype
        import dns.resolver

        res = Resolution(target=target, host=host, port=port, cname_chain=[host])
        try:
            resolver = self._resolver()
        except Exception as exc:  # dnspython raises many types while reading system configuration
            res.status, res.error = "error", f"no usable DNS resolver: {exc}"
            return res
        if resolver.nameservers:
            ns = str(resolver.nameservers[0])
            res.nameserver = ns if resolver.port == 53 else f"{ns}:{resolver.port}"
        qname = dns.name.from_text(host)
        outcomes: dict[str, str] = {}

        def query(rtype: str) -> Any:
            return resolver.resolve(qname, rtype, raise_on_no_answer=False, tcp=self.tcp, search=False)

        answers = _in_parallel(query, ("A", "AAAA"))  # A and AAAA at once: one timeout, not two
        for rtype in ("A", "AAAA"):
            try:
                answer = answers[rtype]
                if isinstance(answer, BaseException):
                    raise answer
            except dns.resolver.NXDOMAIN as exc:
                outcomes[rtype] = "nxdomain"
                res.error = f"{host} does not exist (NXDOMAIN)"
                _chain_from_nxdomain(res, exc)
                continue
            except dns.resolver.LifetimeTimeout:
                outcomes[rtype] = "timeout"
                res.error = f"no answer from {res.nameserver or 'the resolver'} within {self.timeout:g} s"
                continue
            except dns.resolver.NoNameservers as exc:
                outcomes[rtype] = "error"
                res.error = f"every nameserver failed: {exc}"
                continue
            except (dns.exception.DNSException, OSError, ValueError) as exc:
                outcomes[rtype] = "error"
                res.error = f"{type(exc).__name__}: {exc}"
                continue
            if getattr(answer, "nameserver", None):
                port_ = getattr(answer, "port", 53)
                res.nameserver = answer.nameserver if port_ == 53 else f"{answer.nameserver}:{port_}"
            for cname_rrset in answer.chaining_result.cnames:
                for rd in cname_rrset:
                    name = rd.target.to_text().rstrip(".").lower()
                    if name not in res.cname_chain:
                        res.cname_chain.append(name)
            found = [rd.address for rd in answer.rrset] if answer.rrset is not None else []
            (res.a if rtype == "A" else res.aaaa).extend(a for a in found if a not in res.a + res.aaaa)
            outcomes[rtype] = "ok" if found else "no-answer"
        if res.addresses:
            res.status = "ok"
            res.error = ""
        elif "nxdomain" in outcomes.values():
            res.status = "nxdomain"
        elif "timeout" in outcomes.values():
            res.status = "timeout"
        elif "error" in outcomes.values():
            res.status = "error"
        else:
            res.status = "no-answer"
            res.error = f"{host} has no A or AAAA record"
        _flag(res)
        return res


def _in_parallel(fn: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """``{key: fn(key) or the exception it raised}``, every call in its own daemon thread. The
    wait wakes up every 0.1 s, so Ctrl-C interrupts it at once (daemon threads never hold up exit)."""
    import queue
    import threading

    done: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run(key: str) -> None:
        try:
            done.put((key, fn(key)))
        except BaseException as exc:
            done.put((key, exc))

    for key in keys:
        threading.Thread(target=run, args=(key,), name=f"dns-{key}", daemon=True).start()
    out: dict[str, Any] = {}
    while len(out) < len(keys):
        try:
            key, value = done.get(timeout=0.1)
        except queue.Empty:
            continue
        out[key] = value
    return out


def _chain_from_nxdomain(res: Resolution, exc: Any) -> None:
    """An NXDOMAIN at the end of a CNAME chain still tells us the chain."""
    try:
        responses = exc.responses()
        for response in responses.values():
            for rrset in response.answer:
                for rd in rrset:
                    target = getattr(rd, "target", None)
                    if target is not None:
                        name = target.to_text().rstrip(".").lower()
                        if name not in res.cname_chain:
                            res.cname_chain.append(name)
    except Exception:  # best effort only
        return


def _flag(res: Resolution) -> None:
    res.front_doors = match_front_doors(res.cname_chain)
    flags: list[str] = []
    for m in res.front_doors:
        flag = f"{m.kind}:{m.provider}"
        if flag not in flags:
            flags.append(flag)
    res.private_addresses = [a for a in res.addresses if is_private_link(a)]
    if res.private_addresses:
        flags.append("private-link")
    res.flags = flags


def resolve(target: str, *, nameserver: str | None = None, port: int = 53, timeout: float = 5.0) -> Resolution:
    """Convenience wrapper: ``DnsResolver(...).resolve(target)``."""
    return DnsResolver(nameserver=nameserver, port=port, timeout=timeout).resolve(target)
