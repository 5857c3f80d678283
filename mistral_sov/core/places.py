"""Named vantage points: cities with their coordinates and country (WGS84, city centre).

Used by ``vantage: {city: Frankfurt}`` in the policy and ``--vantage CITY``. Coordinates
are city centres rounded to 0.01 degree (about 1 km), precise enough for RTT bounds that
work at the 100 km scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    lat: float
    lon: float


_ROWS = """
Amsterdam NL 52.37 4.90
Athens GR 37.98 23.73
Barcelona ES 41.39 2.17
Berlin DE 52.52 13.40
Bratislava SK 48.15 17.11
Brussels BE 50.85 4.35
Bucharest RO 44.43 26.10
Budapest HU 47.50 19.04
Cologne DE 50.94 6.96
Copenhagen DK 55.68 12.57
Dublin IE 53.35 -6.26
Dusseldorf DE 51.23 6.77
Frankfurt DE 50.11 8.68
Gavle SE 60.67 17.14
Hamburg DE 53.55 9.99
Helsinki FI 60.17 24.94
Lisbon PT 38.72 -9.14
Ljubljana SI 46.06 14.51
Luxembourg LU 49.61 6.13
Lyon FR 45.76 4.84
Madrid ES 40.42 -3.70
Marseille FR 43.30 5.37
Milan IT 45.46 9.19
Munich DE 48.14 11.58
Nicosia CY 35.19 33.38
Paris FR 48.86 2.35
Prague CZ 50.08 14.44
Riga LV 56.95 24.11
Rome IT 41.90 12.50
Rotterdam NL 51.92 4.48
Sofia BG 42.70 23.32
Stockholm SE 59.33 18.07
Strasbourg FR 48.57 7.75
Tallinn EE 59.44 24.75
The-Hague NL 52.08 4.30
Valletta MT 35.90 14.51
Vienna AT 48.21 16.37
Vilnius LT 54.69 25.28
Warsaw PL 52.23 21.01
Zagreb HR 45.81 15.98
Oslo NO 59.91 10.75
Reykjavik IS 64.15 -21.94
Vaduz LI 47.14 9.52
Zurich CH 47.37 8.54
Geneva CH 46.20 6.14
London GB 51.51 -0.13
Manchester GB 53.48 -2.24
Ashburn US 39.04 -77.49
New-York US 40.71 -74.01
Chicago US 41.88 -87.63
Dallas US 32.78 -96.80
San-Jose US 37.34 -121.89
Seattle US 47.61 -122.33
Toronto CA 43.65 -79.38
Sao-Paulo BR -23.55 -46.63
Singapore SG 1.35 103.82
Tokyo JP 35.68 139.69
Sydney AU -33.87 151.21
Mumbai IN 19.08 72.88
Dubai AE 25.20 55.27
Johannesburg ZA -26.20 28.05
Hong-Kong HK 22.32 114.17
"""


@cache
def places() -> dict[str, Place]:
    """Lower-case city name (hyphen or space) -> Place."""
    table: dict[str, Place] = {}
    for row in _ROWS.strip().splitlines():
        name, country, lat, lon = row.split()
        place = Place(name.replace("-", " "), country, float(lat), float(lon))
        table[name.lower()] = place
        table[name.lower().replace("-", " ")] = place
    return table


def find_place(name: str) -> Place | None:
    key = " ".join(name.strip().lower().replace("_", " ").split())
    return places().get(key) or places().get(key.replace(" ", "-"))


def place_names() -> list[str]:
    return sorted({p.name for p in places().values()})


EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on the mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
