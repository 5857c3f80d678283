"""``--geoip-db`` files read with ``maxminddb``: layout detected from the metadata's
``database_type`` and the shape of the records.

Supported layouts:

- MaxMind GeoIP2/GeoLite2 **City** and **Country** (``country.iso_code``,
  ``location.latitude/longitude/accuracy_radius``; ``registered_country`` when no
  ``country``) and DB-IP lite City/Country (same record shape);
- MaxMind GeoLite2/GeoIP2 **ASN** and DB-IP ASN lite (``autonomous_system_number``,
  ``autonomous_system_organization``);
- **IPinfo** lite / country_asn (flat records: ``country_code`` or ``country``, ``asn`` as
  ``"AS3320"``, ``as_name``).

A file that is not an mmdb, or whose search tree or data section is corrupt, raises
InputError (exit 2) naming the file: at open (a bounded walk of the tree) or at lookup.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Any

from mistral_sov.core.attribution import GEOLOCATION, REGISTRATION, AsnFact, GeoFact, SourceInfo
from mistral_sov.errors import InputError, Location

WALK_LIMIT = 20_000  # networks visited at open to detect corruption early


def _corrupt(path: Path, detail: str) -> InputError:
    return InputError(
        f"'{path.name}' is not a usable MaxMind DB file: {detail}",
        location=Location(str(path)),
        hint="download the database again (GeoLite2, DB-IP lite or IPinfo lite .mmdb), or drop --geoip-db",
    )


class MmdbDatabase:
    """One mmdb file; answers country (``locate``) and/or ASN (``asn``) questions."""

    user_supplied = True

    def __init__(self, path: Path) -> None:
        import maxminddb
        from maxminddb.errors import InvalidDatabaseError

        self.path = Path(path)
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise InputError(
                f"geo-IP database '{path}' not found", location=Location(str(path)), hint="check the --geoip-db path"
            ) from None
        except OSError as exc:
            raise InputError(
                f"cannot read '{path}': {exc.strerror}",
                location=Location(str(path)),
                hint="check the path and its permissions",
            ) from None
        self.sha256 = hashlib.sha256(data).hexdigest()
        try:
            self._reader = maxminddb.open_database(str(self.path))
        except (InvalidDatabaseError, ValueError, OSError) as exc:
            raise _corrupt(self.path, str(exc)) from None
        meta = self._reader.metadata()
        self.database_type = str(meta.database_type or "unknown")
        self.build = _dt.datetime.fromtimestamp(int(meta.build_epoch), tz=_dt.timezone.utc).date().isoformat()
        self.ip_version = int(meta.ip_version)
        sample = self._walk()
        self.layout = _detect_layout(self.database_type, sample)
        if self.layout is None:
            raise InputError(
                f"'{self.path.name}' (database_type '{self.database_type}') has no country or ASN data "
                "in a known layout",
                location=Location(str(self.path)),
                hint="use a MaxMind GeoIP2/GeoLite2 City, Country or ASN file, DB-IP lite or IPinfo lite",
            )
        self.name = self.database_type
        self.version = f"build {self.build}"

    def _walk(self) -> dict[str, Any] | None:
        from maxminddb.errors import InvalidDatabaseError

        first: dict[str, Any] | None = None
        try:
            for n, (_net, record) in enumerate(self._reader):
                if first is None and isinstance(record, dict) and record:
                    first = record
                if n >= WALK_LIMIT:
                    break
        except (InvalidDatabaseError, ValueError, RuntimeError) as exc:
            raise _corrupt(self.path, str(exc)) from None
        return first

    @property
    def has_geo(self) -> bool:
        return self.layout in ("maxmind-geo", "ipinfo")

    @property
    def has_asn(self) -> bool:
        return self.layout in ("maxmind-asn", "ipinfo")

    def info(self) -> SourceInfo:
        kind = "+".join(k for k, ok in (("country", self.has_geo), ("asn", self.has_asn)) if ok)
        return SourceInfo(
            self.name,
            self.version,
            kind,
            {
                "file": self.path.name,
                "sha256": self.sha256,
                "layout": str(self.layout),
                "database_type": self.database_type,
            },
            published=self.build,
        )

    def _get(self, address: str) -> dict[str, Any] | None:
        from maxminddb.errors import InvalidDatabaseError

        if self.ip_version == 4 and ":" in address:
            return None
        try:
            record = self._reader.get(address)
        except InvalidDatabaseError as exc:
            raise _corrupt(self.path, str(exc)) from None
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def locate(self, address: str) -> GeoFact | None:
        if not self.has_geo:
            return None
        rec = self._get(address)
        if not rec:
            return None
        if self.layout == "ipinfo":
            code = rec.get("country_code") or rec.get("country")
            if isinstance(code, str) and len(code) == 2:
                return GeoFact(self.name, self.version, code.upper())
            return None
        kind = GEOLOCATION
        country = (rec.get("country") or {}).get("iso_code")
        if not country:
            country = (rec.get("registered_country") or {}).get("iso_code")
            kind = REGISTRATION
        loc = rec.get("location") or {}
        lat, lon = loc.get("latitude"), loc.get("longitude")
        if not country and lat is None:
            return None
        city = ((rec.get("city") or {}).get("names") or {}).get("en")
        return GeoFact(
            self.name,
            self.version,
            str(country).upper() if country else None,
            kind=kind,
            lat=float(lat) if lat is not None else None,
            lon=float(lon) if lon is not None else None,
            accuracy_km=float(loc["accuracy_radius"]) if loc.get("accuracy_radius") is not None else None,
            city=city,
        )

    def asn(self, address: str) -> AsnFact | None:
        if not self.has_asn:
            return None
        rec = self._get(address)
        if not rec:
            return None
        if self.layout == "ipinfo":
            raw = str(rec.get("asn") or "")
            digits = raw.upper().removeprefix("AS")
            if not digits.isdigit():
                return None
            return AsnFact(int(digits), str(rec.get("as_name") or ""), self.name, self.version)
        number = rec.get("autonomous_system_number")
        if not isinstance(number, int):
            return None
        return AsnFact(number, str(rec.get("autonomous_system_organization") or ""), self.name, self.version)


def _detect_layout(database_type: str, sample: dict[str, Any] | None) -> str | None:
    kind = database_type.lower()
    if sample is not None:
        if "autonomous_system_number" in sample:
            return "maxmind-asn"
        if (
            isinstance(sample.get("country"), dict)
            or isinstance(sample.get("registered_country"), dict)
            or isinstance(sample.get("location"), dict)
        ):
            return "maxmind-geo"
        if (
            "country_code" in sample
            or "as_name" in sample
            or (isinstance(sample.get("country"), str) and len(sample["country"]) == 2)
        ):
            return "ipinfo"
        return None
    # an empty database: trust the declared type
    if "asn" in kind and "country" not in kind:
        return "maxmind-asn"
    if "ipinfo" in kind:
        return "ipinfo"
    if "city" in kind or "country" in kind:
        return "maxmind-geo"
    return None
