"""RFC 8805 self-published geofeeds (``--geofeed FILE``): ``prefix,country,region,city,postal``.

Comment lines start with ``#``; empty fields are allowed (RFC 8805 §2.1.1). A malformed line
raises InputError naming ``file:line``. Geofeeds are self-asserted by the address holder
(RFC 8805 §5): they are reported as a source like any other, and disagreement with other
sources makes a hop ``uncertain``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from mistral_sov.adapters.geo._intervals import PrefixIndex
from mistral_sov.core.attribution import GeoFact, SourceInfo
from mistral_sov.errors import InputError, Location


class Geofeed:
    user_supplied = True

    def __init__(self, name: str, entries: PrefixIndex[tuple[str | None, str]], sha256: str) -> None:
        self.name = name
        self.version = f"sha256 {sha256[:12]}"
        self.sha256 = sha256
        self._index = entries
        self.published = ""  # the file's modification date (a geofeed carries no date of its own)

    @classmethod
    def from_file(cls, path: Path) -> Geofeed:
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(
                f"geofeed '{path}' not found", location=Location(str(path)), hint="check the --geofeed path"
            ) from None
        except OSError as exc:
            raise InputError(
                f"cannot read '{path}': {exc.strerror}",
                location=Location(str(path)),
                hint="check the path and its permissions",
            ) from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"geofeed '{path.name}' is not UTF-8 text",
                location=Location(str(path)),
                hint="RFC 8805 geofeeds are UTF-8 CSV",
            ) from exc
        feed = cls.parse(text, str(path), hashlib.sha256(data).hexdigest())
        import datetime as _dt

        feed.published = _dt.datetime.fromtimestamp(path.stat().st_mtime, tz=_dt.timezone.utc).date().isoformat()
        return feed

    @classmethod
    def parse(cls, text: str, file: str, sha256: str = "") -> Geofeed:
        index: PrefixIndex[tuple[str | None, str]] = PrefixIndex()
        lines = text.splitlines()
        for lineno, line in enumerate(lines, start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            where = Location(file, lineno, 1)
            try:
                row = next(csv.reader(io.StringIO(stripped)))
            except (csv.Error, StopIteration) as exc:
                raise InputError(
                    f"malformed geofeed line: {exc}",
                    location=where,
                    hint="write prefix,country,region,city,postal (RFC 8805)",
                ) from None
            if len(row) < 2 or len(row) > 5:
                raise InputError(
                    f"a geofeed line has 2 to 5 fields, this one has {len(row)}",
                    location=where,
                    hint="write prefix,country,region,city,postal, e.g. 192.0.2.0/24,DE,DE-HE,Frankfurt,",
                )
            prefix, country = row[0].strip(), row[1].strip()
            region = row[2].strip() if len(row) > 2 else ""
            city = row[3].strip() if len(row) > 3 else ""
            if "/" not in prefix:
                raise InputError(
                    f"'{prefix}' is not an IP prefix",
                    location=where,
                    hint="the first field is a CIDR prefix, e.g. 192.0.2.0/24",
                )
            try:
                import ipaddress

                ipaddress.ip_network(prefix, strict=True)
            except ValueError as exc:
                raise InputError(
                    f"'{prefix}' is not a valid IP prefix ({exc})",
                    location=where,
                    hint="write the network address with its length, e.g. 192.0.2.0/24",
                ) from None
            if country and (len(country) != 2 or not country.isalpha() or not country.isascii()):
                raise InputError(
                    f"'{country}' is not an ISO 3166-1 alpha-2 country code",
                    location=where,
                    hint="use two letters, e.g. DE, or leave the field empty",
                )
            if region and not (len(region) >= 4 and region[2] == "-" and region[:2].upper() == country.upper()):
                raise InputError(
                    f"'{region}' is not an ISO 3166-2 code of '{country}'",
                    location=where,
                    hint="write e.g. DE-HE, or leave the region empty",
                )
            index.add(prefix, (country.upper() or None, city))
        name = f"geofeed:{Path(file).name}"
        return cls(name, index, sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest())

    def locate(self, address: str) -> GeoFact | None:
        for country, city in self._index.lookup(address):
            if country:
                return GeoFact(self.name, self.version, country, city=city or None)
        return None

    def info(self) -> SourceInfo:
        return SourceInfo(
            self.name,
            self.version,
            "geofeed",
            {"sha256": self.sha256, "entries": str(self._index.count), "note": "self-asserted by its author"},
            published=self.published,
        )
