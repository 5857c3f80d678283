"""Fleet residency: judge every device's paths (collector lines returned by Intune or written
by the GPO variant) with the same engine as local traces, and aggregate per endpoint and site.

Streaming: :class:`DeviceJudge` turns one :class:`FleetItem` into a small
:class:`DeviceOutcome` (pure, so it can run in worker processes); :class:`FleetTally` adds
outcomes to counters and keeps only the worst few devices of each (endpoint, site) group.
Memory does not depend on the number of devices, except one small entry per device for
duplicate detection (device key -> measurement time and its contribution to the counters).

Rule ids added for fleet input (docs/fleet.md):

=============  =================================================================
FLEET-OUTPUT   the device's output is unusable: empty, truncated, not JSON, an
               unknown schema version, or the collector failed (INCONCLUSIVE)
FLEET-TIME     no measurement time, clock skew against Intune's time, or a
               measurement older than ``max_age_days`` (INCONCLUSIVE)
FLEET-PATH     no usable path to the endpoint: not collected, dropped to fit the
               output limit, DNS failed on the device, no route (INCONCLUSIVE)
FLEET-MORE     more devices of a site are not compliant than the report lists
               (their worst verdict)
=============  =================================================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mistral_sov.core import memo
from mistral_sov.core.collector import UNKNOWN_RTT, CollectorLineError, EndpointPath, decode_line, endpoint_path
from mistral_sov.core.findings import Check, Finding, Report, Verdict
from mistral_sov.core.physics import VantagePoint
from mistral_sov.core.policy import Zones
from mistral_sov.core.residency import TraceRecord
from mistral_sov.core.trace import Hop, ProbeReply, Resolution, TraceResult
from mistral_sov.services.verify import Providers, RunContext, Target, build_report, judge_records

FLEET_RULES = {
    "FLEET-OUTPUT": "The device's collector output is unusable",
    "FLEET-TIME": "The device's measurement time is missing, skewed or too old",
    "FLEET-PATH": "The device reported no usable path to the endpoint",
    "FLEET-MORE": "More devices of this site are not compliant than the report lists",
}
NO_SITE = "(no site hint)"
# the same words for every device (a memoised verdict's reason is shared between devices)
FLEET_NO_VANTAGE = "the device's site has no vantage point in --fleet-sites (the policy's vantage is not the PCs')"
OTHER_SITES = "(other sites)"
MAX_GROUPS_PER_ENDPOINT = 1000
LT1_MS = 1.0
MEMO_SIZE = 100_000  # about 150 bytes each (16-byte key, shared reason strings)
_BY_RANK = {v.rank: v for v in Verdict}  # tracert's "<1 ms": the upper bound of what was measured


@dataclass
class FleetItem:
    """One device result as an input file gives it."""

    device: str  # the name the file gives (Graph deviceName, CSV "Device name"); may be ""
    output: str | None  # the script output (pre-remediation detection output)
    reported_at: str = ""  # Intune's time for the run (ISO 8601), when the file has one
    device_id: str = ""
    where: str = ""  # file:line or file#index, for the administrator
    error: str = ""  # the reader could not read this record (the reason)


@dataclass
class FleetOptions:
    max_age_days: float = 7.0
    max_skew_minutes: float = 30.0
    worst: int = 5  # devices listed per (endpoint, site) group
    now: dt.datetime | None = None


@dataclass
class EndpointOutcome:
    endpoint: str
    verdict: Verdict
    reason: str
    check: Check | None = None  # kept only when not compliant
    packed: bytes | None = None  # the same check pickled by a worker process (see ``pack``)

    def pack(self) -> EndpointOutcome:
        """Ship the check as bytes: the main process unpickles only the few it lists (the worst
        devices per site), not one full check per failing device."""
        if self.check is not None:
            import pickle

            self.packed, self.check = pickle.dumps(self.check, pickle.HIGHEST_PROTOCOL), None
        return self

    def full_check(self) -> Check | None:
        if self.check is None and self.packed is not None:
            import pickle

            self.check, self.packed = pickle.loads(self.packed), None  # noqa: S301 (our own worker's bytes)
        return self.check


@dataclass
class DeviceOutcome:
    key: str
    device: str
    where: str
    site: str
    measured_at: float | None
    endpoints: list[EndpointOutcome] = field(default_factory=list)


def parse_time(text: str) -> dt.datetime | None:
    """ISO 8601 (Graph's 7 fractional digits included); None when absent or unreadable."""
    raw = (text or "").strip()
    if not raw:
        return None
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    if "." in raw:  # trim fractions to microseconds
        head, _, tail = raw.partition(".")
        digits = "".join(c for c in tail[:7] if c.isdigit())
        rest = tail[len(digits) :] if tail[: len(digits)].isdigit() else tail
        raw = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def site_key(site: dict[str, str]) -> str:
    if site.get("ad"):
        return site["ad"]
    if site.get("gw"):
        return f"gateway {site['gw']}"
    if site.get("eg"):
        return f"egress {site['eg']}"
    return NO_SITE


def to_trace(path: EndpointPath, port: int) -> TraceResult:
    """A collector path as the engine's TraceResult (tracert: ICMP, integer ms RTTs)."""
    hops = []
    for h in path.hops:
        replies = (
            [
                ProbeReply(h.address, None, "time-exceeded", note="no RTT given")
                if r == UNKNOWN_RTT
                else ProbeReply(h.address, LT1_MS if r == 0 else float(r), "time-exceeded")
                for r in h.rtts
                if r is not None
            ]
            if h.address
            else []
        )
        hops.append(Hop(h.ttl, max(1, len(h.rtts)), replies))
    unknown = any(r == UNKNOWN_RTT for h in path.hops for r in h.rtts)
    tool = "Test-NetConnection -TraceRoute (ICMP; no per-hop RTT)" if unknown else "Windows tracert (ICMP)"
    notes = [f"traced on the device with {tool}; '<1 ms' counted as 1 ms", *path.notes]
    if path.tcp_ms is not None:
        notes.append(
            f"TCP connect to port {port}: "
            + (f"{path.tcp_ms} ms" if path.tcp_ms >= 0 else "failed (refused or timed out)")
        )
    return TraceResult(path.traced or "", "icmp", port, "windows-tracert", hops, path.reached, fidelity_notes=notes)


class _Cached:
    """Memoises a provider's per-address answer: a fleet repeats the same hops many times."""

    def __init__(self, inner: Any, method: str, size: int = 50_000) -> None:
        self._inner = inner
        self._call = getattr(inner, method)
        self._memo: dict[Any, Any] = {}
        self._size = size
        setattr(self, method, self._lookup)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _lookup(self, key: Any) -> Any:
        try:
            return self._memo[key]
        except KeyError:
            pass
        if len(self._memo) >= self._size:
            self._memo.clear()  # bounded memory
        value = self._memo[key] = self._call(key)
        return value


def cached_providers(providers: Providers) -> Providers:
    if not memo.enabled():
        return providers
    return Providers(
        geo=[_Cached(p, "locate") for p in providers.geo],
        asn=[_Cached(p, "asn") for p in providers.asn],
        ranges=_Cached(providers.ranges, "lookup"),
        operators=_Cached(providers.operators, "operator"),
        sources=providers.sources,
    )


def _inconclusive(target: Target, rule: str, message: str, hint: str, device: str) -> Check:
    check = Check(name=f"{target.name} [{device}]", title=f"{device} → {target.name}")
    check.findings.append(
        Finding(rule, Verdict.INCONCLUSIVE, message, subject=target.name, hint=hint, location=target.location)
    )
    return check


class DeviceJudge:
    """Judges one device's line against every target (pure; safe in a worker process)."""

    def __init__(
        self,
        targets: Sequence[Target],
        zones: Zones,
        providers: Providers,
        *,
        site_vantage: Callable[[dict[str, str]], VantagePoint | None] = lambda _s: None,
        flag_chain: Callable[[list[str]], list[str]] = lambda _c: [],
        options: FleetOptions | None = None,
        physics_action: str = "warn",
    ) -> None:
        self.targets = list(targets)
        self.zones = zones
        self.providers = cached_providers(providers)
        self.ctx = RunContext(zones, self.providers, "", "", physics_action=physics_action)
        self.site_vantage = site_vantage
        self.flag_chain = flag_chain
        self.options = options or FleetOptions()
        self.now = self.options.now or dt.datetime.now(dt.timezone.utc)
        self._memo: dict[bytes, tuple[Verdict, str]] = {}
        self._reasons: dict[str, str] = {}
        self.memo_hits = 0

    def _all(self, out: DeviceOutcome, rule: str, reason: str, hint: str) -> DeviceOutcome:
        for t in self.targets:
            check = _inconclusive(t, rule, f"{out.device}: {reason}", hint, out.device)
            out.endpoints.append(EndpointOutcome(t.name, Verdict.INCONCLUSIVE, reason, check))
        return out

    def _when(self, line_time: str, reported_at: str) -> tuple[dt.datetime | None, str]:
        measured, server = parse_time(line_time), parse_time(reported_at)
        skew = dt.timedelta(minutes=self.options.max_skew_minutes)
        if measured is None and server is None:
            return None, "no measurement time (neither the device nor Intune gives one)"
        if measured is not None and server is not None and abs(measured - server) > skew:
            return None, (
                f"clock skew: the device says {measured:%Y-%m-%d %H:%M:%S}Z, Intune ran the script at "
                f"{server:%Y-%m-%d %H:%M:%S}Z"
            )
        when = measured or server
        assert when is not None
        if when > self.now + skew:
            return None, f"clock skew: measured in the future ({when:%Y-%m-%d %H:%M:%S}Z)"
        if when < self.now - dt.timedelta(days=self.options.max_age_days):
            return None, f"stale: measured {when:%Y-%m-%d}, older than {self.options.max_age_days:g} days"
        return when, ""

    def judge(self, item: FleetItem) -> DeviceOutcome:
        name = item.device.strip()
        out = DeviceOutcome(
            name.lower() or item.device_id, name or item.device_id or "(unnamed)", item.where, NO_SITE, None
        )
        if item.error:
            return self._all(out, "FLEET-OUTPUT", item.error, "fix or re-export the input file")
        try:
            line = decode_line(item.output)
        except CollectorLineError as exc:
            return self._all(out, "FLEET-OUTPUT", str(exc), "check the script's output in the Intune portal")
        if not name:
            out.device = line.device or out.device
            out.key = line.device.lower() or out.key
        out.site = site_key(line.site)
        when, problem = self._when(line.time, item.reported_at)
        if problem:
            return self._all(out, "FLEET-TIME", problem, "check the device clock (w32tm) and re-run the collector")
        out.measured_at = when.timestamp() if when else None
        vantage = self.site_vantage(line.site)
        paths = [endpoint_path(ep, i, line.steps) for i, ep in enumerate(line.endpoints)]
        for t in self.targets:
            path = next((p for p in paths if p.name == t.name), None) or next(
                (p for p in paths if p.host == t.host and p.port in (t.port, 0)), None
            )
            out.endpoints.append(
                self._judge_endpoint(t, path, line.steps, vantage, device=out.device, paths=paths, measured_at=when)
            )
        return out

    def _judge_endpoint(
        self,
        t: Target,
        path: EndpointPath | None,
        steps: list[str],
        vantage: VantagePoint | None,
        *,
        device: str,
        paths: Sequence[EndpointPath] = (),
        measured_at: dt.datetime | None = None,
    ) -> EndpointOutcome:
        if path is None:
            dropped = any(s.startswith("ep:") for s in steps)
            has = ", ".join(sorted({p.host or p.name for p in paths}))[:200]
            reason = (
                f"{t.name} is not in the output: the collector dropped it to fit the output limit"
                if dropped
                else f"{t.name} ({t.host}) is not in the output"
                + (f", which traced {has}" if has else "")
                + " (a collector older than this endpoint, or a trace to another name)"
            )
            check = _inconclusive(
                t, "FLEET-PATH", f"{device}: {reason}", "re-export and redeploy the collector", device
            )
            return EndpointOutcome(t.name, Verdict.INCONCLUSIVE, reason, check)
        if path.reason:
            hint = "split the endpoints over several collectors" if "limit" in path.reason else "see the device"
            check = _inconclusive(t, "FLEET-PATH", f"{device}: {path.reason}", hint, device)
            return EndpointOutcome(t.name, Verdict.INCONCLUSIVE, path.reason, check)
        trace = to_trace(path, t.port)
        # identical observations judge identically: a bounded memo keyed on exactly what the
        # engine's verdict reads (per hop: TTL, each address and its lowest RTT; reached; the
        # traced address; vantage; addresses and CNAME chain). Only the verdict and its reason
        # are reused; checks that are kept (INCONCLUSIVE, VIOLATION) are always judged afresh.
        hops = tuple(
            (
                h.ttl,
                tuple(
                    (a, min((r.rtt_ms for r in h.replies if r.address == a and r.rtt_ms is not None), default=None))
                    for a in h.addresses
                ),
            )
            for h in trace.hops
        )
        where = (vantage.lat, vantage.lon) if vantage else None
        basis = (t.name, where, hops, trace.reached, trace.target, tuple(path.addresses), tuple(path.cname_chain))
        key = hashlib.blake2b(repr(basis).encode(), digest_size=16).digest()
        hit = self._memo.get(key) if memo.enabled() else None
        if hit is not None and hit[0] in (Verdict.COMPLIANT, Verdict.WARNING):
            self.memo_hits += 1
            return EndpointOutcome(t.name, hit[0], hit[1], None)
        check = self._judge_path(t, path, trace, vantage, device=device, measured_at=measured_at)
        verdict = check.verdict
        reason = ""
        if verdict is not Verdict.COMPLIANT:
            top = max(check.findings, key=lambda f: f.verdict.rank)
            reason = f"{top.rule_id}: {top.message}"
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
            self._reasons.clear()
        reason = self._reasons.setdefault(reason, reason)
        self._memo[key] = (verdict, reason)
        # warnings are counted and their reason kept; full checks only for what fails
        keep = check if verdict.rank > Verdict.WARNING.rank else None
        return EndpointOutcome(t.name, verdict, reason, keep)

    def _judge_path(
        self,
        t: Target,
        path: EndpointPath,
        trace: TraceResult,
        vantage: VantagePoint | None,
        *,
        device: str,
        measured_at: dt.datetime | None,
    ) -> Check:
        addresses = list(path.addresses) or [trace.target]
        resolution = Resolution(
            t.host,
            t.host,
            port=t.port,
            cname_chain=[t.host, *path.cname_chain],
            a=[a for a in addresses if ":" not in a],
            aaaa=[a for a in addresses if ":" in a],
            nameserver="the device's resolver",
            flags=self.flag_chain(path.cname_chain),
        )
        record = TraceRecord(
            t.host,
            trace,
            source="fleet",
            vantage=vantage,
            vantage_id=f"device:{device}",
            measured_at=measured_at.strftime("%Y-%m-%dT%H:%M:%SZ") if measured_at else "",
            resolution=resolution,
            address=trace.target,
            notes=list(trace.fidelity_notes),
            vantage_missing_reason="" if vantage is not None else FLEET_NO_VANTAGE,
        )
        check = next(iter(judge_records([record], [t], self.ctx)))
        return check


# ----------------------------------------------------------------------------- aggregation


@dataclass
class _Group:
    endpoint: str
    site: str
    counts: dict[Verdict, int] = field(default_factory=lambda: dict.fromkeys(Verdict, 0))
    worst: list[tuple[int, int, int, Any]] = field(default_factory=list)  # (rank, -seq, seq, entry)
    gid: int = 0

    @property
    def devices(self) -> int:
        return sum(self.counts.values())

    @property
    def compliant(self) -> int:
        return self.counts[Verdict.COMPLIANT] + self.counts[Verdict.WARNING]


class FleetTally:
    """Counts outcomes per (endpoint, site), keeps the worst devices, detects duplicates."""

    def __init__(self, targets: Sequence[Target], worst: int = 5) -> None:
        self.targets = list(targets)
        self.worst = worst
        self.groups: dict[tuple[str, str], _Group] = {}
        # device key -> packed (time, seq, group ids, verdict ranks): about 200 bytes per device
        self.seen: dict[str, bytes] = {}
        self._ids: list[_Group] = []
        self.devices = 0
        self.duplicates = 0
        self.reasons: dict[str, int] = {}
        self._seq = 0
        self._digest = hashlib.sha256()

    def _group(self, endpoint: str, site: str) -> _Group:
        key = (endpoint, site)
        group = self.groups.get(key)
        if group is None:
            per_endpoint = sum(1 for e, _s in self.groups if e == endpoint)
            if per_endpoint >= MAX_GROUPS_PER_ENDPOINT:
                key = (endpoint, OTHER_SITES)
                group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = _Group(*key)
                group.gid = len(self._ids)
                self._ids.append(group)
        return group

    @staticmethod
    def _unpack(state: bytes) -> tuple[float, int, list[tuple[int, int]]]:
        n = (len(state) - 12) // 3
        values = struct.unpack(f"<dI{n}H{n}B", state)
        return values[0], values[1], list(zip(values[2 : 2 + n], values[2 + n :], strict=True))

    def add(self, out: DeviceOutcome) -> None:
        self._seq += 1
        seq = self._seq
        for e in out.endpoints:
            self._digest.update(f"{out.device}\t{e.endpoint}\t{e.verdict.value}\n".encode())
        packed = self.seen.get(out.key)
        when = out.measured_at if out.measured_at is not None else float("-inf")
        if packed is not None:
            self.duplicates += 1
            previous_when, _seq, contributions_before = self._unpack(packed)
            if when <= previous_when:
                return  # an older (or equally old) report of a device already counted
            for gid, rank in contributions_before:
                self._ids[gid].counts[_BY_RANK[rank]] -= 1
        else:
            self.devices += 1
        gids: list[int] = []
        ranks: list[int] = []
        for e in out.endpoints:
            group = self._group(e.endpoint, out.site)
            group.counts[e.verdict] += 1
            gids.append(group.gid)
            ranks.append(e.verdict.rank)
            if e.verdict is not Verdict.COMPLIANT:
                category = e.reason.split(":", 1)[0][:80]
                if category in self.reasons or len(self.reasons) < 50:
                    self.reasons[category] = self.reasons.get(category, 0) + 1
                entry = (out.key, out.device, out.where, e)
                item = (e.verdict.rank, -seq, seq, entry)
                if len(group.worst) < self.worst:
                    heapq.heappush(group.worst, item)
                elif item[:2] > group.worst[0][:2]:
                    heapq.heapreplace(group.worst, item)
        n = len(gids)
        self.seen[out.key] = struct.pack(f"<dI{n}H{n}B", when, seq, *gids, *ranks)

    def add_all(self, outcomes: Iterable[DeviceOutcome]) -> None:
        for out in outcomes:
            self.add(out)

    # ------------------------------------------------------------------ report

    def _current(self, key: str, seq: int) -> bool:
        state = self.seen.get(key)
        return state is not None and self._unpack(state)[1] == seq

    def checks(self) -> list[Check]:
        out: list[Check] = []
        order = {t.name: i for i, t in enumerate(self.targets)}
        for (endpoint, site), group in sorted(
            self.groups.items(), key=lambda kv: (order.get(kv[0][0], 1 << 30), kv[0][1])
        ):
            if group.devices == 0:
                continue
            worst = sorted((w for w in group.worst if self._current(w[3][0], w[2])), key=lambda w: (-w[0], w[2]))
            check = Check(
                name=f"{endpoint} @ {site}",
                title=f"{endpoint} @ {site}: compliant from {group.compliant} of {group.devices} devices",
                # every device counts, listed or not
                verdict_override=max((v for v, n in group.counts.items() if n), key=lambda v: v.rank),
            )
            rows = []
            for _rank, _neg, _seq, (_key, device, where, e) in worst:
                rows.append({"device": device, "verdict": e.verdict.value, "reason": e.reason, "where": where})
                full = e.full_check()
                if full is not None:
                    for f in sorted(full.findings, key=lambda f: -f.verdict.rank)[:3]:
                        message = f.message if f.message.startswith(device) else f"{device}: {f.message}"
                        check.findings.append(
                            Finding(
                                f.rule_id,
                                f.verdict,
                                message,
                                f.subject,
                                f.hint,
                                f.location,
                                f.hop,
                                f.evidence,
                                f.sources,
                            )
                        )
            bad = group.devices - group.compliant
            shown = {r["device"] for r in rows if r["verdict"] in (Verdict.INCONCLUSIVE.value, Verdict.VIOLATION.value)}
            if bad > len(shown):
                worst_verdict = max(
                    (v for v, n in group.counts.items() if n and v.rank > Verdict.WARNING.rank),
                    key=lambda v: v.rank,
                    default=Verdict.INCONCLUSIVE,
                )
                check.findings.append(
                    Finding(
                        "FLEET-MORE",
                        worst_verdict,
                        f"{bad - len(shown)} more device(s) at {site} are not compliant for {endpoint} (not listed)",
                        subject=endpoint,
                    )
                )
            first = next((w[3][3].full_check() for w in worst if w[3][3].full_check() is not None), None)
            check.details = {
                "endpoint": endpoint,
                "site": site,
                "devices": group.devices,
                "compliant": group.compliant,
                "by_verdict": {v.value: n for v, n in group.counts.items() if n},
                "worst_devices": rows,
                "worst_device_path": first.residency.to_dict() if first and first.residency else None,
            }
            out.append(check)
        return out

    def summary(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {}
        for (endpoint, site), g in self.groups.items():
            if g.devices == 0:
                continue
            e = endpoints.setdefault(endpoint, {"devices": 0, "compliant": 0, "by_verdict": {}, "sites": {}})
            e["devices"] += g.devices
            e["compliant"] += g.compliant
            for v, n in g.counts.items():
                if n:
                    e["by_verdict"][v.value] = e["by_verdict"].get(v.value, 0) + n
            e["sites"][site] = {"devices": g.devices, "compliant": g.compliant}
        for e in endpoints.values():
            e["summary"] = f"compliant from {e['compliant']} of {e['devices']} devices"
        return {
            "devices": self.devices,
            "duplicates": self.duplicates,
            "endpoints": endpoints,
            "not_compliant_reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
            "device_verdicts_sha256": self._digest.hexdigest(),
        }

    def report(
        self,
        zones: Zones,
        providers: Providers,
        *,
        tool_version: str,
        generated_at: str,
        inputs: list[dict[str, Any]],
        policy_file: str = "",
        policy_sha256: str = "",
        options: FleetOptions | None = None,
    ) -> Report:
        checks = self.checks()
        if not checks:
            empty = Check(name="fleet", title="fleet: no device results")
            empty.findings.append(
                Finding(
                    "FLEET-OUTPUT", Verdict.INCONCLUSIVE, "the input holds no device result", hint="check the export"
                )
            )
            checks = [empty]
        fleet = self.summary()
        fleet["inputs"] = inputs
        opts = options or FleetOptions()
        fleet["options"] = {"max_age_days": opts.max_age_days, "max_skew_minutes": opts.max_skew_minutes}
        fleet["rules"] = FLEET_RULES
        lines = [f"{name}: {e['summary']}" for name, e in fleet["endpoints"].items()]
        fleet["summary"] = "; ".join(lines) if lines else "no device results"
        ctx = RunContext(zones, providers, tool_version, generated_at, policy_file, policy_sha256)
        return build_report(checks, ctx, options=None, vantage=None, extra={"fleet": fleet})
