"""The embedded default country source: ``iptocc`` (RIR delegated statistics, MIT).

It gives the country an address block is *registered* in, not where it is used: a weak
hint (kind ``registration``). Any geolocation source (mmdb, geofeed, cloud region) outranks
it in the verdict; disagreement is still shown per hop.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mistral_sov.core.attribution import REGISTRATION, GeoFact, is_internal


@cache
def _iptocc_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("iptocc")
    except PackageNotFoundError:  # pragma: no cover - declared dependency
        return "unknown"


@cache
def iptocc_sha256() -> str:
    """SHA-256 of iptocc's compiled module, which embeds its RIR database ('' if not found)."""
    import hashlib
    from importlib.util import find_spec

    spec = find_spec("iptocc")
    if spec is None or not spec.submodule_search_locations:
        return ""
    for folder in spec.submodule_search_locations:
        for lib in sorted(Path(folder).glob("iptocc*.so")) + sorted(Path(folder).glob("iptocc*.pyd")):
            return hashlib.sha256(lib.read_bytes()).hexdigest()
    return ""


class IptoccProvider:
    name = "iptocc"
    user_supplied = False

    def __init__(self) -> None:
        self.version = _iptocc_version()

    def locate(self, address: str) -> GeoFact | None:
        if is_internal(address):
            return None
        import iptocc

        try:
            code = iptocc.country_code(address)
        except (ValueError, TypeError):
            return None
        if not code or not isinstance(code, str) or len(code) != 2:
            return None
        return GeoFact(self.name, self.version, code.upper(), kind=REGISTRATION)
