"""Live RIPE Atlas: create TCP traceroute measurements, wait for them, download results and
probe metadata — through the official client library, ``ripe-atlas-cousteau``.

ripe-atlas-cousteau is GPL-3.0: it is an optional extra (``pip install 'mistral-sov[atlas]'``)
imported by this module only (import-linter contract in pyproject.toml). The results it
downloads are parsed by our own ``adapters/atlas.py`` (the same path as ``--from-atlas``).

The API key comes from the ``RIPE_ATLAS_KEY`` environment variable or a key file, never from
the command line (it would end up in shell history and process lists). Without the library,
the key or the network, calls raise MissingBackendError (exit 4) saying what is needed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mistral_sov.errors import InputError, Location, MissingBackendError

KEY_ENV = "RIPE_ATLAS_KEY"
SERVER = "atlas.ripe.net"
KEYS_URL = "https://atlas.ripe.net/keys/"
FINAL_STATUSES = {"Stopped", "Forced to stop", "No suitable probes", "Failed", "Archived", "Denied", "Canceled"}
CREDITS_PER_PROBE = 60  # a one-off TCP traceroute, 3 packets (RIPE Atlas credit table, approximate)


@dataclass(frozen=True)
class Selection:
    """One probe source of a measurement: ``kind`` country | asn | area | probes."""

    kind: str
    value: str
    requested: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "value": self.value, "requested": self.requested}


def _library() -> Any:
    try:
        from ripe.atlas import cousteau
    except ImportError:
        raise MissingBackendError(
            "live RIPE Atlas measurements need the ripe-atlas-cousteau library",
            hint="pip install 'mistral-sov[atlas]' (ripe-atlas-cousteau is GPL-3.0, so it is optional); "
            "or run the measurement on atlas.ripe.net and judge the results with --from-atlas",
        ) from None
    return cousteau


def load_key(key_file: Path | None = None) -> str:
    """The API key from ``key_file`` or ``$RIPE_ATLAS_KEY``; MissingBackendError when neither."""
    if key_file is not None:
        try:
            text = Path(key_file).read_text(encoding="utf-8-sig").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read the RIPE Atlas key file '{key_file}': {exc}",
                location=Location(str(key_file)),
                hint="a text file holding only the key (chmod 600)",
            ) from None
        if not text or any(c.isspace() for c in text) or len(text) > 200:
            raise InputError(
                f"'{key_file}' does not hold a RIPE Atlas API key",
                location=Location(str(key_file), 1, 1),
                hint="the file must contain only the key, e.g. 0a1b2c3d-…",
            )
        return text
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise MissingBackendError(
            "a RIPE Atlas API key is needed to create measurements",
            hint=f"create one at {KEYS_URL} (permission: create a new user-defined measurement), then set "
            f"{KEY_ENV} or pass --key-file FILE; the key is never accepted on the command line",
        )
    return key


class AtlasError(Exception):
    """The API answered with an error (message carries its status and detail)."""


def _unreachable(detail: Any, server: str) -> MissingBackendError:
    return MissingBackendError(
        f"the RIPE Atlas API at https://{server} is unreachable ({str(detail)[:200]})",
        hint="this needs HTTPS access to atlas.ripe.net (set HTTPS_PROXY if you use a proxy), an API key, "
        "and credits; offline, run the measurement elsewhere and judge its results with --from-atlas",
    )


def _check(ok: bool, response: Any, server: str, what: str) -> Any:
    if ok:
        return response
    if isinstance(response, tuple):  # cousteau returns the exception args when the request failed
        raise _unreachable(response[0] if response else "no answer", server)
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict):
        status = error.get("status")
        detail = error.get("detail") or error.get("title") or ""
        raw = error.get("errors")
        items: list[Any] = raw if isinstance(raw, list) else []
        extra = "; ".join(str(e.get("detail", e)) if isinstance(e, dict) else str(e) for e in items)[:300]
        message = f"RIPE Atlas refused to {what}: {status} {detail}" + (f" ({extra})" if extra else "")
        if status in (401, 403):
            raise MissingBackendError(
                message,
                hint=f"check the key's permissions at {KEYS_URL} and your credit balance",
            )
        raise AtlasError(message)
    raise AtlasError(f"RIPE Atlas could not {what}: {str(response)[:300]}")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time (tests replace time.sleep)


class AtlasClient:
    """A thin client over ripe-atlas-cousteau. ``sleep`` is injectable for tests."""

    def __init__(self, key: str | None, server: str = SERVER, sleep: Callable[[float], None] | None = None) -> None:
        self.lib = _library()
        self.key = key
        self.server = server
        self.sleep = sleep or _sleep

    def create_traceroute(
        self, target: str, port: int, selections: Sequence[Selection], *, af: int = 4, description: str = ""
    ) -> int:
        """A one-off TCP traceroute to ``target:port``; returns the measurement id."""
        c = self.lib
        definition = c.Traceroute(
            af=af,
            target=target,
            protocol="TCP",
            port=port,
            packets=3,
            max_hops=32,
            resolve_on_probe=True,
            description=description or f"mistral-sov residency {target}:{port}",
        )
        works = f"system-ipv{af}-works"
        sources = [
            c.AtlasSource(type=s.kind, value=s.value, requested=s.requested, tags={"include": [works]})
            for s in selections
        ]
        request = c.AtlasCreateRequest(
            key=self.key, server=self.server, measurements=[definition], sources=sources, is_oneoff=True
        )
        try:
            ok, response = request.create()
        except Exception as exc:
            raise _unreachable(exc, self.server) from None
        body = _check(ok, response, self.server, f"create a traceroute to {target}")
        ids = body.get("measurements") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or not isinstance(ids[0], int):
            raise AtlasError(f"unexpected answer to the creation request: {str(body)[:200]}")
        return ids[0]

    def status(self, msm_id: int) -> dict[str, Any]:
        request = self.lib.AtlasRequest(url_path=f"/api/v2/measurements/{msm_id}/", key=self.key, server=self.server)
        try:
            ok, response = request.get()
        except Exception as exc:
            raise _unreachable(exc, self.server) from None
        body = _check(ok, response, self.server, f"show measurement {msm_id}")
        if not isinstance(body, dict):
            raise AtlasError(f"unexpected measurement answer: {str(body)[:200]}")
        return body

    def wait(
        self,
        ids: Sequence[int],
        *,
        timeout_s: float,
        interval_s: float = 15.0,
        on_progress: Callable[[int, int, Any], None] | None = None,
    ) -> dict[int, str]:
        """Poll until every measurement reached a final status or ``timeout_s`` passed;
        returns each id's last status name."""
        deadline = time.monotonic() + timeout_s
        last: dict[int, str] = {}
        while True:
            for msm in ids:
                if last.get(msm) in FINAL_STATUSES:
                    continue
                body = self.status(msm)
                status = body.get("status")
                last[msm] = str(status.get("name")) if isinstance(status, dict) else str(status)
            done = sum(1 for s in last.values() if s in FINAL_STATUSES)
            if on_progress:
                on_progress(done, len(ids), last)
            if done == len(ids) or time.monotonic() >= deadline:
                return last
            self.sleep(interval_s)

    def results(self, msm_id: int) -> list[dict[str, Any]]:
        request = self.lib.AtlasResultsRequest(msm_id=msm_id, key=self.key, server=self.server)
        try:
            ok, response = request.create()
        except Exception as exc:
            raise _unreachable(exc, self.server) from None
        body = _check(ok, response, self.server, f"download the results of measurement {msm_id}")
        if not isinstance(body, list):
            raise AtlasError(f"unexpected results answer: {str(body)[:200]}")
        return [r for r in body if isinstance(r, dict)]

    def probes(self, **filters: Any) -> list[dict[str, Any]]:
        """Probe metadata (probes API objects) for e.g. ``id__in=[…]``, ``country_code='DE'``,
        ``asn_v4=3320``."""
        from ripe.atlas.cousteau.exceptions import APIResponseError

        try:
            return [p for p in self.lib.ProbeRequest(server=self.server, **filters) if isinstance(p, dict)]
        except APIResponseError as exc:
            arg = exc.args[0] if exc.args else None
            _check(False, arg if arg is not None else (str(exc),), self.server, "list probes")
            raise AtlasError(str(exc)) from None
        except Exception as exc:
            raise _unreachable(exc, self.server) from None


def probes_document(probes: list[dict[str, Any]]) -> dict[str, Any]:
    """The probes API page shape (what ``--probes FILE`` reads): count, next, previous, results."""
    return {"count": len(probes), "next": None, "previous": None, "results": probes}
