"""Effective block and allow rules: the catalog selection, extra domains, exceptions and
approved endpoints combined. Every exporter and ``allowlist check`` use this one view."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from mistral_sov.core.catalog import Catalog
from mistral_sov.core.domains import covers, parents
from mistral_sov.core.policy import Policy
from mistral_sov.core.urlmatch import Decision, FilterSet, UrlFilter, parse_filter


@dataclass(frozen=True)
class BlockRule:
    domain: str
    source: str  # "catalog" or "extra_domains"
    service_id: str = ""
    service_name: str = ""
    categories: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.source == "catalog":
            return f"catalog service '{self.service_id}' ({self.service_name}; rule '{self.domain}')"
        return f"blocking.extra_domains rule '{self.domain}'"


@dataclass(frozen=True)
class AllowRule:
    domain: str
    source: str  # "endpoint" or "exception"
    name: str = ""

    def describe(self) -> str:
        if self.source == "endpoint":
            return f"approved endpoint '{self.name}'"
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
            rules.block.append(
                BlockRule(domain, "catalog", service.id, service.name, tuple(service.categories))
            )
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
