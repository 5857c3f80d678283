"""Where does inference run? One HTTPS request (httpx) to an endpoint records the address it
connected to, the TLS version and certificate chain, and the response headers that reveal the
serving region, read with the sourced table ``templates/residency/serving_regions.yaml``.

The request is an unauthenticated ``GET`` of the endpoint's URL: any answer (401, 404…) carries
the headers. Failures never raise: they come back as ``HttpsEvidence.error`` (the check is then
"not evaluated", never a pass). ``verify`` is the CA bundle (default: the system's).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mistral_sov import resources
from mistral_sov.core.residency import HttpsEvidence, RegionHeader
from mistral_sov.core.zones import lookup_region

TABLE_FILE = "residency/serving_regions.yaml"


@dataclass(frozen=True)
class HeaderRule:
    header: str
    provider: str
    reveals: str
    value: str
    source: str


@cache
def header_rules() -> tuple[HeaderRule, ...]:
    doc = resources.load_yaml_data(TABLE_FILE)
    return tuple(
        HeaderRule(
            str(h["header"]).lower(), str(h["provider"]), str(h["reveals"]), str(h["value"]), str(h.get("source", ""))
        )
        for h in doc["headers"]
    )


def table_version() -> str:
    return str(resources.load_yaml_data(TABLE_FILE).get("version", ""))


def _azure_region(value: str) -> tuple[str | None, str | None]:
    name = re.sub(r"[^a-z0-9]", "", value.lower())
    region = lookup_region(f"azure:{name}")
    return (region.key, region.country) if region is not None else (f"azure:{name}" if name else None, None)


def read_region_headers(headers: dict[str, str]) -> list[RegionHeader]:
    """The region-revealing headers of a response (names compared case-insensitively)."""
    lower = {k.lower(): v for k, v in headers.items()}
    out: list[RegionHeader] = []
    for rule in header_rules():
        value = lower.get(rule.header)
        if value is None:
            continue
        value = value.strip()[:200]
        region = country = None
        if rule.value == "azure-region":
            region, country = _azure_region(value)
        elif rule.value == "iata-prefix":
            m = re.match(r"^([A-Za-z]{3})", value)
            region = f"iata:{m.group(1).upper()}" if m else None
        elif rule.value == "iata-suffix":
            m = re.search(r"-([A-Za-z]{3})$", value)
            region = f"iata:{m.group(1).upper()}" if m else None
        out.append(RegionHeader(rule.header, value, rule.provider, rule.reveals, region, country, rule.source))
    return out


def _certificates(stream: Any) -> tuple[str | None, list[dict[str, Any]]]:
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None, []
    from cryptography import x509

    ders: list[bytes] = []
    chain = getattr(ssl_object, "get_verified_chain", None)  # Python 3.13+
    if chain is not None:
        import ssl

        try:
            ders = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain()]  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError, ssl.SSLError):
            ders = []
    if not ders:
        leaf = ssl_object.getpeercert(binary_form=True)
        ders = [leaf] if leaf else []
    certs = []
    for der in ders:
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            continue
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n.value) for n in san]
        except x509.ExtensionNotFound:
            names = []
        certs.append(
            {
                "subject": cert.subject.rfc4514_string(),
                "issuer": cert.issuer.rfc4514_string(),
                "sha256": hashlib.sha256(der).hexdigest(),
                "not_before": cert.not_valid_before_utc.isoformat(),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "san": names,
            }
        )
    return ssl_object.version(), certs


def probe(url: str, *, timeout: float = 5.0, verify: Path | None = None) -> HttpsEvidence:
    """One GET of ``url``; never raises for network or TLS trouble."""
    import httpx

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    evidence = HttpsEvidence(url=url, measured_at=now)
    try:
        with (
            httpx.Client(
                verify=str(verify) if verify is not None else True,
                timeout=timeout,
                follow_redirects=False,
                headers={"user-agent": "mistral-sov residency probe"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            stream = response.extensions.get("network_stream")
            server = stream.get_extra_info("server_addr") if stream is not None else None
            evidence.address = str(server[0]) if server else None
            evidence.tls_version, evidence.certificates = _certificates(stream)
            evidence.status = response.status_code
            wanted = {r.header for r in header_rules()} | {"server", "via"}
            evidence.headers = {k.lower(): v[:200] for k, v in response.headers.items() if k.lower() in wanted}
            evidence.regions = read_region_headers(dict(response.headers))
    except httpx.HTTPError as exc:
        evidence.error = f"{type(exc).__name__}: {exc}"[:300]
    except OSError as exc:
        evidence.error = f"{type(exc).__name__}: {exc}"[:300]
    return evidence
