"""Effective block and allow rules: the catalog selection, extra domains, exceptions and
approved endpoints combined. Every exporter and ``allowlist check`` use this one view.

This module is also the one home of the cross-field rules that need the catalog: today
``endpoint_conflicts`` ("an approved endpoint is blocked"), used by ``policy validate``
(through ``policy_issues``), by the gate's ``catalog-conflicts`` check and therefore by
every export (an export loads the policy through the same validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from mistral_sov.core.catalog import Catalog
from mistral_sov.core.domains import covers, parents
from mistral_sov.core.policy import Endpoint, Issue, Policy, check_policy
from mistral_sov.core.urlmatch import Decision, FilterSet, UrlFilter, parse_filter


@dataclass(frozen=True)
class BlockRule:
    domain: str
    source: str  # "catalog", "extra_domains" or "enforce_local_only"
    service_id: str = ""
    service_name: str = ""
    categories: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.source == "catalog":
            return f"catalog service '{self.service_id}' ({self.service_name}; rule '{self.domain}')"
        if self.source == "enforce_local_only":
            return f"local_inference.enforce_local_only (remote endpoint '{self.service_name}')"
        return f"blocking.extra_domains rule '{self.domain}'"


@dataclass(frozen=True)
class AllowRule:
    domain: str
    source: str  # "endpoint", "exception" or "loopback" (enforce_local_only)
    name: str = ""

    def describe(self) -> str:
        if self.source == "endpoint":
            return f"approved endpoint '{self.name}'"
        if self.source == "loopback":
            return f"loopback '{self.domain}' (local_inference.enforce_local_only)"
        return f"blocking.exceptions entry '{self.domain}'"


@dataclass
class Rules:
    block: list[BlockRule] = field(default_factory=list)
    allow: list[AllowRule] = field(default_factory=list)

    @cached_property
    def _block_index(self) -> dict[str, BlockRule]:
        return {r.domain: r for r in self.block}

    def block_rule_for(self, host: str) -> BlockRule | None:
        """The most specific block rule covering ``host``, or None."""
        index = self._block_index
        for candidate in parents(host):
            rule = index.get(candidate)
            if rule is not None:
                return rule
        return None

    @property
    def block_domains(self) -> list[str]:
        return [r.domain for r in self.block]

    @property
    def allow_domains(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.allow:
            seen.setdefault(r.domain, None)
        return list(seen)

    def url_filters(self) -> list[UrlFilter]:
        """URLBlocklist + URLAllowlist entries as the browsers will see them."""
        filters = [parse_filter(r.domain, allow=False, data=r) for r in self.block]
        filters += [parse_filter(r.domain, allow=True, data=r) for r in self.allow]
        return filters

    @cached_property
    def filterset(self) -> FilterSet:
        return FilterSet(self.url_filters())

    def decide(self, url: str) -> Decision:
        return self.filterset.decide(url)


def effective_rules(policy: Policy, catalog: Catalog) -> Rules:
    """Block: selected catalog services + extra_domains, minus any domain an exception covers.
    Allow: exceptions and the host of every approved endpoint."""
    exceptions = list(policy.blocking.exceptions)

    def excepted(domain: str) -> bool:
        return any(covers(exc, domain) for exc in exceptions)

    rules = Rules()
    seen: set[str] = set()
    for service in catalog.select(policy.blocking.catalog):
        for domain in service.domains:
            if domain in seen or excepted(domain):
                continue
            seen.add(domain)
            rules.block.append(BlockRule(domain, "catalog", service.id, service.name, tuple(service.categories)))
    for domain in policy.blocking.extra_domains:
        if domain in seen or excepted(domain):
            continue
        seen.add(domain)
        rules.block.append(BlockRule(domain, "extra_domains"))
    for ep in policy.endpoints:
        if ep.host:
            rules.allow.append(AllowRule(ep.host, "endpoint", ep.name))
    for exc in exceptions:
        rules.allow.append(AllowRule(exc, "exception"))
    return rules


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost``, 127.0.0.0/8 or ::1: traffic that never leaves the machine."""
    import ipaddress

    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def export_rules(policy: Policy, catalog: Catalog) -> Rules:
    """The rules every exporter writes (browser, DNS, PAC; the same as the Windows formats).

    Equal to ``effective_rules`` unless ``local_inference.enforce_local_only`` is true; then:
    the whole catalog is blocked whatever ``blocking.catalog`` says; the host of every remote
    (non-loopback) endpoint is blocked too (source ``"enforce_local_only"``); and only loopback
    names are allowed (``127.0.0.1``, ``localhost`` and loopback endpoints). Exceptions still
    keep the domains they cover off the block list but are no longer allow-listed. Users can
    reach nothing but the local model.
    """
    if not policy.local_inference.enforce_local_only:
        return effective_rules(policy, catalog)
    everything = policy.model_copy(deep=True)
    everything.blocking.catalog = "all"
    rules = effective_rules(everything, catalog)
    blocked = {r.domain for r in rules.block}
    allow = [AllowRule("127.0.0.1", "loopback"), AllowRule("localhost", "loopback")]
    for ep in policy.endpoints:
        if not ep.host:
            continue
        if is_loopback_host(ep.host):
            if ep.host not in ("127.0.0.1", "localhost"):
                allow.append(AllowRule(ep.host, "endpoint", ep.name))
        elif ep.host not in blocked:
            blocked.add(ep.host)
            rules.block.append(BlockRule(ep.host, "enforce_local_only", service_name=ep.name))
    rules.allow = allow
    return rules


@dataclass(frozen=True)
class EndpointConflict:
    """An approved endpoint whose host a block rule covers, with no exception covering it."""

    index: int
    endpoint: Endpoint
    rule: BlockRule

    @property
    def message(self) -> str:
        ep = self.endpoint
        return f"approved endpoint '{ep.name}' ({ep.host}) would be blocked by {self.rule.describe()}"

    @property
    def hint(self) -> str:
        return f"add '{self.endpoint.host}' to blocking.exceptions, or remove the block rule"

    @property
    def path(self) -> tuple[str | int, ...]:
        return ("endpoints", self.index, "url")


def endpoint_conflicts(policy: Policy, catalog: Catalog) -> list[EndpointConflict]:
    """The one rule "an approved endpoint is blocked".

    A conflict is an endpoint whose host (or a parent domain of it) is on the block list
    (catalog selection or ``blocking.extra_domains``) while no ``blocking.exceptions`` entry
    covers the host. An exception for the host itself, or for any parent of it, states the
    intent explicitly and resolves the conflict: the exported browser, DNS and PAC rules
    then let the endpoint through (the most specific rule wins) — see docs/policy.md.
    """
    rules = effective_rules(policy, catalog)
    out: list[EndpointConflict] = []
    for i, ep in enumerate(policy.endpoints):
        if not ep.host:
            continue
        hit = rules.block_rule_for(ep.host)
        if hit is None or any(covers(exc, ep.host) for exc in policy.blocking.exceptions):
            continue
        out.append(EndpointConflict(i, ep, hit))
    return out


def policy_issues(policy: Policy, catalog: Catalog | None) -> list[Issue]:
    """Every semantic issue: the policy's own checks, then the cross-field rules with the
    catalog (skipped when the block list itself is broken, or without a catalog)."""
    issues = check_policy(policy)
    if catalog is None or any(i.severity == "error" and i.path[0] == "blocking" for i in issues):
        return issues
    issues += [Issue(c.path, c.message, c.hint) for c in endpoint_conflicts(policy, catalog)]
    return issues
