"""An IP -> origin AS table in the iptoasn.com format, fetched by ``ranges update`` when online.

Why not an embedded package: no PyPI package ships licence-compatible AS-number data (see
docs/residency.md, "ASN data"): geoip2fast embeds GeoLite2-derived data (MaxMind's GeoLite2
EULA, no AS numbers, only names), ip2asn and pyasn ship code without data. The iptoasn.com
``ip2asn-combined.tsv.gz`` dump (built from public BGP tables; offered under the PDDL public
domain dedication) is fetched into the ranges directory with its SHA-256, source and date.

Format: one line per range, tab-separated: ``range_start range_end AS_number country_code
AS_description``; AS 0 means "not routed". Looked up by bisecting the range starts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import ipaddress
import json
from bisect import bisect_right
from pathlib import Path

from mistral_sov.core.attribution import AsnFact, SourceInfo
from mistral_sov.errors import InputError, Location

IPTOASN_URL = "https://iptoasn.com/data/ip2asn-combined.tsv.gz"
FILE = "asn-ip2asn-combined.tsv.gz"
META = "asn-manifest.json"


class AsnTable:
    """AsnProvider over an iptoasn.com TSV (gzip or plain)."""

    name = "iptoasn"

    def __init__(self, data: bytes, file: str, *, source: str = "", published: str = "") -> None:
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.file = file
        self.source = source
        self.published = published
        self.version = f"sha256 {self.sha256[:12]}" + (f", {published}" if published else "")
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        starts: dict[int, list[tuple[int, int, int, str]]] = {4: [], 6: []}
        for lineno, raw in enumerate(text.decode("utf-8", errors="replace").splitlines(), start=1):
            if not raw.strip():
                continue
            parts = raw.split("\t")
            try:
                lo, hi = ipaddress.ip_address(parts[0].strip()), ipaddress.ip_address(parts[1].strip())
                asn = int(parts[2])
            except (IndexError, ValueError):
                raise InputError(
                    f"line is not 'start<TAB>end<TAB>AS<TAB>country<TAB>description': {raw[:80]!r}",
                    location=Location(file, lineno, 1),
                    hint=f"use the iptoasn.com file ({IPTOASN_URL}) unchanged",
                ) from None
            if lo.version != hi.version or int(hi) < int(lo) or asn < 0:
                raise InputError(
                    "range end before its start, or mixed IP versions",
                    location=Location(file, lineno, 1),
                    hint="use the iptoasn.com file unchanged",
                )
            org = parts[4].strip() if len(parts) > 4 else ""
            starts[lo.version].append((int(lo), int(hi), asn, org))
        self._tables = {}
        self.count = 0
        for version, rows in starts.items():
            rows.sort()
            self._tables[version] = ([r[0] for r in rows], rows)
            self.count += len(rows)

    @classmethod
    def load(cls, directory: Path) -> AsnTable | None:
        """The table stored in ``directory`` by ``store``; None when there is none."""
        directory = Path(directory)
        path, meta_path = directory / FILE, directory / META
        if not path.exists():
            return None
        data = path.read_bytes()
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        if meta.get("sha256") and meta["sha256"] != hashlib.sha256(data).hexdigest():
            raise InputError(
                f"'{path.name}' changed since it was stored (SHA-256 mismatch)",
                location=Location(str(path)),
                hint="run `mistral-sov ranges update` again, so provenance is true",
            )
        return cls(data, str(path), source=str(meta.get("source", "")), published=str(meta.get("published", "")))

    def asn(self, address: str) -> AsnFact | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        keys, rows = self._tables.get(ip.version, ([], []))
        value = int(ip)
        i = bisect_right(keys, value) - 1
        if i < 0:
            return None
        lo, hi, asn, org = rows[i]
        if not lo <= value <= hi or asn == 0:
            return None
        return AsnFact(asn, org, self.name, self.version)

    def info(self) -> SourceInfo:
        return SourceInfo(
            self.name,
            self.version,
            "asn",
            {"file": Path(self.file).name, "sha256": self.sha256, "source": self.source, "ranges": str(self.count)},
            self.published,
        )


def store(directory: Path, data: bytes, source: str, published: str = "") -> AsnTable:
    """Validate ``data`` and store it with its provenance (atomic; a bad file keeps the old one)."""
    from mistral_sov.adapters.fileio import atomic_write_bytes

    table = AsnTable(data, source, source=source, published=published)
    if table.count == 0:
        raise InputError("the ASN table is empty", location=Location(source), hint="use the iptoasn.com file")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(directory / FILE, data)
    meta = {
        "source": source,
        "sha256": table.sha256,
        "published": published,
        "stored_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "ranges": table.count,
    }
    atomic_write_bytes(directory / META, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return table


def http_date(value: str | None) -> str:
    """The ISO date of an HTTP Last-Modified header ('' when absent or unreadable)."""
    if not value:
        return ""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return ""
