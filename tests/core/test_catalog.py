"""Shape and hygiene checks for the AI-service catalog (templates/catalog/services.yaml).

The catalog is a data contract: the blocking code turns every ``domains`` entry into a
host-suffix rule (Chrome URLBlocklist semantics: the host and all of its sub-domains).
A wrong entry can therefore break unrelated business services, so these tests are strict.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from pathlib import Path

import pycountry
import pytest
import yaml

CATALOG_PATH = Path(__file__).resolve().parents[2] / "templates" / "catalog" / "services.yaml"

ALLOWED_CATEGORIES = frozenset(
    {
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
    }
)
REQUIRED_KEYS = frozenset({"id", "name", "vendor", "country", "categories", "domains", "source"})
OPTIONAL_KEYS = frozenset({"notes"})
ALLOWED_KEYS = REQUIRED_KEYS | OPTIONAL_KEYS

MIN_SERVICES = 120
MIN_SERVICES_PER_CATEGORY = 3

ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
# One DNS label: 1-63 chars of [a-z0-9-], not starting or ending with '-'.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
# Top-level label: alphabetic, or an IDN A-label (xn--...).
_TLD = r"(?:[a-z]{2,63}|xn--[a-z0-9]+(?:-[a-z0-9]+)*)"
HOSTNAME_RE = re.compile(rf"^(?:{_LABEL}\.)+{_TLD}$")

# Shared parent domains that must never be blocked as a whole: blocking them would break
# search, office suites, cloud consoles, code hosting, CDNs or sign-in for unrelated services.
FORBIDDEN_SHARED_PARENTS = frozenset(
    {
        # Google
        "google.com",
        "googleapis.com",
        "gstatic.com",
        "googleusercontent.com",
        "youtube.com",
        # Microsoft
        "microsoft.com",
        "bing.com",
        "office.com",
        "office.net",
        "live.com",
        "azure.com",
        "windows.net",
        "cloud.microsoft",
        "microsoftonline.com",
        "sharepoint.com",
        "linkedin.com",
        # Amazon
        "amazonaws.com",
        "amazon.com",
        "cloudfront.net",
        "awsapps.com",
        # Apple
        "apple.com",
        "icloud.com",
        # GitHub / code hosting
        "github.com",
        "githubusercontent.com",
        "gitlab.com",
        # Meta / X
        "meta.com",
        "facebook.com",
        "instagram.com",
        "whatsapp.com",
        "x.com",
        "twitter.com",
        # Products where AI is one feature of a bigger product
        "notion.so",
        "canva.com",
        "adobe.com",
        "grammarly.com",
        "zoom.us",
        "slack.com",
        "atlassian.net",
        "salesforce.com",
        "dropbox.com",
        "discord.com",
        "capcut.com",
        "freepik.com",
        # Model hub used by self-hosted deployments
        "huggingface.co",
        "hf.co",
        # Hosting / CDN platforms
        "cloudflare.com",
        "workers.dev",
        "pages.dev",
        "vercel.app",
        "vercel.com",
        "netlify.app",
        "akamaihd.net",
        "azureedge.net",
        "fastly.net",
        # Large regional portals and clouds
        "baidu.com",
        "baidubce.com",
        "qq.com",
        "tencent.com",
        "aliyun.com",
        "aliyuncs.com",
        "alibabacloud.com",
        "naver.com",
        "yandex.ru",
        "yandex.com",
        "sberbank.ru",
        "nvidia.com",
    }
)


def _load_catalog() -> dict:
    with CATALOG_PATH.open("r", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "catalog root must be a mapping"
    return data


CATALOG = _load_catalog()
SERVICES: list = CATALOG.get("services") or []


def _service_id(entry: object) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return entry["id"]
    return repr(entry)[:40]


def _all_domain_owners() -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for entry in SERVICES:
        if not isinstance(entry, dict):
            continue
        for domain in entry.get("domains") or []:
            if isinstance(domain, str):
                owners.setdefault(domain, []).append(_service_id(entry))
    return owners


DOMAIN_OWNERS = _all_domain_owners()


def _parent_suffixes(domain: str):
    """Yield every proper parent suffix of ``domain`` (a.b.c -> b.c, c)."""
    labels = domain.split(".")
    for i in range(1, len(labels)):
        yield ".".join(labels[i:])


def _is_real_country(code: str) -> bool:
    try:
        return pycountry.countries.get(alpha_2=code) is not None
    except (KeyError, LookupError):  # older pycountry raises instead of returning None
        return False


# --------------------------------------------------------------------------- file level


def test_file_is_utf8_with_lf_line_endings():
    raw = CATALOG_PATH.read_bytes()
    raw.decode("utf-8")  # raises on invalid UTF-8
    assert b"\r" not in raw, "catalog must use LF line endings"
    assert b"\t" not in raw, "catalog must be indented with spaces"


def test_version_is_1():
    assert CATALOG.get("version") == 1


def test_updated_is_a_date():
    assert isinstance(CATALOG.get("updated"), _dt.date), "updated must be an ISO date (YYYY-MM-DD)"


def test_services_is_a_list_with_enough_entries():
    assert isinstance(CATALOG.get("services"), list)
    assert len(SERVICES) >= MIN_SERVICES, f"expected >= {MIN_SERVICES} services, got {len(SERVICES)}"


def test_ids_are_unique():
    counts = Counter(_service_id(entry) for entry in SERVICES)
    dupes = sorted(i for i, n in counts.items() if n > 1)
    assert not dupes, f"duplicate service ids: {dupes}"


def test_domains_are_globally_unique():
    dupes = {d: ids for d, ids in DOMAIN_OWNERS.items() if len(ids) > 1}
    assert not dupes, f"domains listed more than once: {dupes}"


def test_every_category_has_enough_services():
    counts = Counter()
    for entry in SERVICES:
        if isinstance(entry, dict):
            counts.update(c for c in entry.get("categories") or [] if isinstance(c, str))
    thin = {c: counts.get(c, 0) for c in sorted(ALLOWED_CATEGORIES) if counts.get(c, 0) < MIN_SERVICES_PER_CATEGORY}
    assert not thin, f"categories with fewer than {MIN_SERVICES_PER_CATEGORY} services: {thin}"


# ------------------------------------------------------------------------ entry level


@pytest.mark.parametrize("entry", SERVICES, ids=[_service_id(e) for e in SERVICES])
class TestServiceEntry:
    def test_is_mapping_with_allowed_keys(self, entry):
        assert isinstance(entry, dict)
        keys = set(entry)
        missing = REQUIRED_KEYS - keys
        unknown = keys - ALLOWED_KEYS
        assert not missing, f"missing keys: {sorted(missing)}"
        assert not unknown, f"unknown keys: {sorted(unknown)}"

    def test_id(self, entry):
        sid = entry.get("id")
        assert isinstance(sid, str) and ID_RE.match(sid), f"bad id {sid!r}"

    def test_name_and_vendor(self, entry):
        for key in ("name", "vendor"):
            value = entry.get(key)
            assert isinstance(value, str) and value.strip() == value and value, f"bad {key}: {value!r}"

    def test_country(self, entry):
        country = entry.get("country")
        assert isinstance(country, str) and COUNTRY_RE.match(country), f"bad country {country!r}"
        assert _is_real_country(country), f"{country!r} is not an ISO 3166-1 alpha-2 code"

    def test_categories(self, entry):
        cats = entry.get("categories")
        assert isinstance(cats, list) and cats, "categories must be a non-empty list"
        assert all(isinstance(c, str) for c in cats)
        unknown = set(cats) - ALLOWED_CATEGORIES
        assert not unknown, f"unknown categories: {sorted(unknown)}"
        assert len(cats) == len(set(cats)), f"duplicate categories: {cats}"

    def test_domains_syntax(self, entry):
        domains = entry.get("domains")
        assert isinstance(domains, list) and domains, "domains must be a non-empty list"
        assert len(domains) == len(set(domains)), f"duplicate domains: {domains}"
        for domain in domains:
            assert isinstance(domain, str), f"domain must be a string: {domain!r}"
            assert domain == domain.strip().lower(), f"domain must be lowercase, no spaces: {domain!r}"
            assert len(domain) <= 253, f"domain too long: {domain!r}"
            assert HOSTNAME_RE.match(domain), (
                f"invalid host name {domain!r} (no scheme, path, port, wildcard or leading dot; "
                "ASCII/punycode only; at least one dot)"
            )
            assert all(len(label) <= 63 for label in domain.split("."))

    def test_domains_not_shared_parents(self, entry):
        for domain in entry.get("domains") or []:
            assert domain not in FORBIDDEN_SHARED_PARENTS, f"{domain!r} is a shared parent domain"
            covered = sorted(f for f in FORBIDDEN_SHARED_PARENTS if f.endswith("." + domain))
            assert not covered, f"{domain!r} would also block shared domain(s) {covered}"

    def test_domains_not_redundant_with_other_services(self, entry):
        sid = entry.get("id")
        for domain in entry.get("domains") or []:
            for parent in _parent_suffixes(domain):
                others = [o for o in DOMAIN_OWNERS.get(parent, []) if o != sid]
                assert not others, f"{domain!r} is already covered by {parent!r} of service {others}"

    def test_source(self, entry):
        source = entry.get("source")
        assert isinstance(source, str) and source.startswith("https://"), f"bad source {source!r}"
        assert not re.search(r"\s", source), f"source must be a single URL: {source!r}"
        assert len(source) > len("https://") + 3

    def test_notes(self, entry):
        if "notes" in entry:
            notes = entry["notes"]
            assert isinstance(notes, str) and notes.strip(), "notes, when present, must be non-empty text"
