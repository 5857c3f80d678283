"""Speed-of-light bounds: how far away can an answer that took ``rtt`` ms have come from?

A reply seen after a round trip of ``rtt`` ms travelled at most ``rtt/2`` ms each way. Light
in single-mode fibre (refractive index ~1.4682) covers 204,190 km/s, in vacuum 299,792 km/s,
so per millisecond of RTT the far end is at most

- **102.1 km** away over fibre (realistic bound), and
- **149.9 km** away at the speed of light in vacuum (hard bound: nothing is faster).

RTT only ever gives an *upper* bound on distance (queueing, slow-path ICMP generation and
detours inflate it), so physics can *exclude* places, never confirm them.

Claims are checked against the hard (vacuum) bound only. A claim is declared impossible when
its *nearest possible point* is farther than the bound plus tolerances:

- the vantage point is a city centre: ``VANTAGE_TOLERANCE_KM`` (50 km) for the suburbs;
- a database's ``accuracy_radius`` is added when it gives one;
- a country claim uses the nearest point of a generous bounding box of the country
  (``COUNTRY_BOXES``: latitude/longitude extremes of its main territory, padded by about half
  a degree). A box contains the country, so the distance to the box never exceeds the
  distance to the country: the approximation can miss a contradiction near a border, but
  never invents one. Countries not in the table are never judged impossible.
Pure module: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from mistral_sov.core.memo import bounded
from mistral_sov.core.places import great_circle_km

C_VACUUM_KM_S = 299_792.458
FIBRE_INDEX = 1.4682
KM_PER_MS_RTT_VACUUM = C_VACUUM_KM_S / 1000 / 2  # 149.896 km per ms of round trip
KM_PER_MS_RTT_FIBRE = C_VACUUM_KM_S / FIBRE_INDEX / 1000 / 2  # 102.095 km per ms of round trip
VANTAGE_TOLERANCE_KM = 50.0


@dataclass(frozen=True)
class Bounds:
    rtt_ms: float
    max_km_fibre: float
    max_km_vacuum: float


@bounded(8192)
def bounds(rtt_ms: float) -> Bounds:
    """The farthest the answering host can be, for a minimum round-trip time in ms."""
    rtt = max(0.0, rtt_ms)
    return Bounds(rtt, round(rtt * KM_PER_MS_RTT_FIBRE, 1), round(rtt * KM_PER_MS_RTT_VACUUM, 1))


def min_rtt_ms(distance_km: float) -> tuple[float, float]:
    """The shortest possible RTT (fibre, vacuum) in ms to a host ``distance_km`` away."""
    return distance_km / KM_PER_MS_RTT_FIBRE, distance_km / KM_PER_MS_RTT_VACUUM


# ISO code -> (lat_min, lat_max, lon_min, lon_max), padded; main territory (overseas
# territories have their own ISO codes, e.g. GF, RE, GL, FO, PR).
_BOX_ROWS = """
AT 46.2 49.2 9.4 17.3
BE 49.3 51.7 2.4 6.5
BG 41.1 44.3 22.2 28.7
HR 42.2 46.7 13.3 19.6
CY 34.4 35.8 32.1 34.7
CZ 48.4 51.2 11.9 19.0
DK 54.4 57.9 7.9 15.3
EE 57.4 59.8 21.6 28.3
FI 59.6 70.2 20.4 31.7
FR 41.2 51.2 -5.3 9.7
DE 47.1 55.2 5.7 15.2
GR 34.7 41.9 19.2 29.8
IE 51.3 55.5 -10.7 -5.8
IT 35.4 47.2 6.5 18.6
LV 55.5 58.2 20.8 28.4
LT 53.8 56.6 20.8 26.9
LU 49.3 50.3 5.6 6.6
MT 35.7 36.2 14.1 14.7
NL 50.6 53.7 3.2 7.3
PL 48.9 55.0 14.0 24.3
PT 29.9 42.3 -31.4 -6.0
RO 43.5 48.4 20.1 29.8
SK 47.6 49.7 16.7 22.7
SI 45.3 47.0 13.3 16.7
ES 27.5 44.0 -18.3 4.5
SE 55.2 69.2 10.8 24.3
IS 63.2 66.7 -24.7 -13.3
LI 47.0 47.3 9.4 9.7
NO 57.8 71.3 4.4 31.3
CH 45.7 48.0 5.8 10.6
GB 49.8 61.0 -8.8 2.0
US 18.8 71.5 -179.9 -66.8
CA 41.6 83.2 -141.1 -52.5
MX 14.4 32.8 -118.5 -86.6
BR -33.9 5.4 -74.1 -34.7
AU -43.8 -10.5 113.1 153.7
NZ -47.4 -34.3 166.3 178.7
JP 24.0 45.6 122.9 146.0
KR 33.0 38.7 124.5 131.0
CN 18.1 53.6 73.4 134.8
HK 22.1 22.6 113.8 114.5
TW 21.8 25.4 119.9 122.1
SG 1.1 1.5 103.6 104.1
IN 6.7 35.6 68.1 97.5
AE 22.6 26.1 51.5 56.4
IL 29.4 33.4 34.2 35.9
TR 35.8 42.2 25.6 44.9
UA 44.3 52.4 22.1 40.3
RU 41.1 81.9 19.6 180.0
ZA -34.9 -22.1 16.4 32.9
"""


@cache
def country_boxes() -> dict[str, tuple[float, float, float, float]]:
    out: dict[str, tuple[float, float, float, float]] = {}
    for row in _BOX_ROWS.strip().splitlines():
        code, a, b, c, d = row.split()
        out[code] = (float(a), float(b), float(c), float(d))
    return out


COUNTRY_BOXES = country_boxes


def distance_to_country_km(lat: float, lon: float, country: str) -> float | None:
    """Great-circle distance from (lat, lon) to the nearest point of the country's box;
    0 inside it; None for a country without a box (never judged)."""
    box = country_boxes().get(country)
    if box is None:
        return None
    lat_min, lat_max, lon_min, lon_max = box
    near_lat = min(max(lat, lat_min), lat_max)
    near_lon = min(max(lon, lon_min), lon_max)
    return great_circle_km(lat, lon, near_lat, near_lon)


@dataclass(frozen=True)
class Contradiction:
    claim: str  # human-readable claim, e.g. "US (country)" or "51.51,-0.13 ±10 km"
    distance_km: float  # nearest possible distance of the claim from the vantage
    max_km_vacuum: float


def check_point(
    vantage: tuple[float, float], rtt_ms: float, lat: float, lon: float, accuracy_km: float | None = None
) -> Contradiction | None:
    """A coordinate claim (with optional accuracy radius) checked against the vacuum bound."""
    limit = bounds(rtt_ms).max_km_vacuum
    distance = great_circle_km(vantage[0], vantage[1], lat, lon) - (accuracy_km or 0.0)
    if distance > limit + VANTAGE_TOLERANCE_KM:
        radius = f" ±{accuracy_km:g} km" if accuracy_km else ""
        return Contradiction(f"{lat:.2f},{lon:.2f}{radius}", round(distance, 1), limit)
    return None


def check_country(vantage: tuple[float, float], rtt_ms: float, country: str) -> Contradiction | None:
    """A country claim checked against the vacuum bound (nearest point of its box)."""
    limit = bounds(rtt_ms).max_km_vacuum
    distance = distance_to_country_km(vantage[0], vantage[1], country)
    if distance is None:
        return None
    if distance > limit + VANTAGE_TOLERANCE_KM:
        return Contradiction(f"{country} (country)", round(distance, 1), limit)
    return None


@dataclass(frozen=True)
class VantagePoint:
    """Where the probes left from."""

    name: str | None
    lat: float
    lon: float

    @property
    def coords(self) -> tuple[float, float]:
        return (self.lat, self.lon)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "lat": self.lat, "lon": self.lon}


def parse_vantage(text: str) -> VantagePoint:
    """``Frankfurt`` (a known city) or ``50.11,8.68``; raises InputError otherwise."""
    from mistral_sov.core.places import find_place, place_names
    from mistral_sov.errors import InputError

    raw = text.strip()
    if "," in raw:
        left, _, right = raw.partition(",")
        try:
            lat, lon = float(left), float(right)
        except ValueError:
            raise InputError(
                f"'{text}' is not LAT,LON", field="--vantage", hint="write decimal degrees, e.g. 50.11,8.68"
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(
                f"'{text}' is outside the globe", field="--vantage", hint="latitude -90..90, longitude -180..180"
            )
        return VantagePoint(None, lat, lon)
    place = find_place(raw)
    if place is None:
        import difflib

        close = difflib.get_close_matches(raw, place_names(), n=1)
        raise InputError(
            f"unknown city '{text}'",
            field="--vantage",
            hint=f"did you mean '{close[0]}'?" if close else "give LAT,LON, e.g. 50.11,8.68",
        )
    return VantagePoint(place.name, place.lat, place.lon)


# ----------------------------------------------------------------------------- areas


@dataclass(frozen=True)
class Area:
    """Where a claim puts a host: a point with an uncertainty radius, or a country (its box)."""

    label: str
    lat: float | None = None
    lon: float | None = None
    radius_km: float = 0.0
    country: str | None = None

    @property
    def is_point(self) -> bool:
        return self.lat is not None and self.lon is not None


_BOX_STEP_DEG = 0.5
# sampling a box edge every 0.5 degree misses the true nearest point by at most a quarter
# degree of arc (~28 km): subtracted so a sampled distance never exceeds the true one
_BOX_SAMPLING_SLACK_KM = 30.0


def _box_edge(code: str) -> list[tuple[float, float]]:
    lat_min, lat_max, lon_min, lon_max = country_boxes()[code]
    pts: list[tuple[float, float]] = []
    n_lat = max(1, int((lat_max - lat_min) / _BOX_STEP_DEG))
    n_lon = max(1, int((lon_max - lon_min) / _BOX_STEP_DEG))
    for i in range(n_lat + 1):
        lat = lat_min + (lat_max - lat_min) * i / n_lat
        pts += [(lat, lon_min), (lat, lon_max)]
    for i in range(n_lon + 1):
        lon = lon_min + (lon_max - lon_min) * i / n_lon
        pts += [(lat_min, lon), (lat_max, lon)]
    return pts


@cache
def box_distance_km(a: str, b: str) -> float | None:
    """A lower bound of the distance between two countries' boxes (0 when they overlap);
    None when either has no box."""
    boxes = country_boxes()
    if a not in boxes or b not in boxes:
        return None
    if a == b:
        return 0.0
    (a0, a1, a2, a3), (b0, b1, b2, b3) = boxes[a], boxes[b]
    if a0 <= b1 and b0 <= a1 and a2 <= b3 and b2 <= a3:
        return 0.0
    small, big = (a, b) if (a1 - a0) * (a3 - a2) <= (b1 - b0) * (b3 - b2) else (b, a)
    best = min((distance_to_country_km(lat, lon, big) or 0.0) for lat, lon in _box_edge(small))
    return max(0.0, best - _BOX_SAMPLING_SLACK_KM)


def area_distance_km(a: Area, b: Area) -> float | None:
    """A lower bound of the distance between two areas (None: cannot be judged)."""
    return _area_distance_km((a.lat, a.lon, a.radius_km, a.country), (b.lat, b.lon, b.radius_km, b.country))


_AreaKey = tuple[float | None, float | None, float, str | None]


@bounded(65536)
def _area_distance_km(a_key: _AreaKey, b_key: _AreaKey) -> float | None:
    """``area_distance_km`` on the fields that matter (labels differ, places repeat)."""
    a, b = Area("", *a_key), Area("", *b_key)
    if a.is_point and b.is_point:
        d = great_circle_km(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]
    elif a.is_point and b.country:
        found = distance_to_country_km(a.lat, a.lon, b.country)  # type: ignore[arg-type]
        if found is None:
            return None
        d = found
    elif b.is_point and a.country:
        return area_distance_km(b, a)
    elif a.country and b.country:
        found = box_distance_km(a.country, b.country)
        if found is None:
            return None
        d = found
    else:
        return None
    return max(0.0, d - a.radius_km - b.radius_km)


def refutes(a: Area, b: Area, rtt_budget_ms: float) -> Contradiction | None:
    """``a`` and ``b`` both answered within round trips totalling ``rtt_budget_ms`` from one
    vantage point: they cannot be farther apart than light travels in that budget (plus the
    vantage tolerance). Returns the contradiction, or None."""
    limit = bounds(rtt_budget_ms).max_km_vacuum
    d = area_distance_km(a, b)
    if d is None or d <= limit + VANTAGE_TOLERANCE_KM:
        return None
    return Contradiction(b.label, round(d, 1), limit)
