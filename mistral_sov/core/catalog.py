"""The catalog of public AI services (data in templates/catalog/services.yaml)."""

from __future__ import annotations

from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from mistral_sov.core.domains import covers, parents

CATEGORIES: tuple[str, ...] = (
    "chat",
    "coding",
    "image",
    "audio-video",
    "search",
    "writing",
    "agents",
    "api",
    "translation",
    "productivity",
)


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    vendor: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    categories: tuple[str, ...]
    domains: tuple[str, ...]
    source: str
    notes: str = ""


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    updated: str = ""
    services: tuple[Service, ...]

    @cached_property
    def by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    @cached_property
    def by_domain(self) -> dict[str, Service]:
        return {d: s for s in self.services for d in s.domains}

    def select(self, categories: str | list[str]) -> list[Service]:
        """Services chosen by ``blocking.catalog``: 'all', 'none' or a list of categories."""
        if categories == "all":
            return list(self.services)
        if categories == "none":
            return []
        wanted = set(categories)
        return [s for s in self.services if wanted.intersection(s.categories)]

    def service_for_host(self, host: str) -> tuple[Service, str] | None:
        """The service whose domain covers ``host`` (most specific), with that domain."""
        table = self.by_domain
        for candidate in parents(host):
            service = table.get(candidate)
            if service is not None and covers(candidate, host):
                return service, candidate
        return None
