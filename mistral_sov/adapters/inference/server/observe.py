"""Prometheus metrics and the JSONL audit log."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mistral_sov.adapters.inference.server.app import ServerSettings

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def engine_lines(p: str, engine: dict[str, Any]) -> list[str]:
    """The supervised engine: up, restarts, crashes by signal, repacking fall-back."""
    lines = [
        f"# HELP {p}_engine_up 1 when the inference engine child is ready.",
        f"# TYPE {p}_engine_up gauge",
        f'{p}_engine_up{{backend="{_label(engine.get("backend"))}",state="{_label(engine.get("state"))}"}} '
        f"{1 if engine.get('state') == 'ready' else 0}",
        f"# HELP {p}_engine_restarts_total Engine restarts after a crash.",
        f"# TYPE {p}_engine_restarts_total counter",
        f"{p}_engine_restarts_total {int(engine.get('restarts') or 0)}",
        f"# HELP {p}_engine_crashes_total Engine deaths by signal or exit status.",
        f"# TYPE {p}_engine_crashes_total counter",
    ]
    for sig, n in sorted((engine.get("crashes") or {}).items()):
        lines.append(f'{p}_engine_crashes_total{{signal="{_label(sig)}"}} {int(n)}')
    lines += [
        f"# HELP {p}_engine_safe_mode 1 when CPU weight repacking is off after a crash (fall-back).",
        f"# TYPE {p}_engine_safe_mode gauge",
        f"{p}_engine_safe_mode {1 if engine.get('safe_mode') else 0}",
    ]
    if "model_integrity_ok" in engine:
        lines += [
            f"# HELP {p}_model_integrity_ok 1 while the served file still hashes to the approved SHA-256.",
            f"# TYPE {p}_model_integrity_ok gauge",
            f"{p}_model_integrity_ok {1 if engine['model_integrity_ok'] else 0}",
        ]
    return lines


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.queue_depth = 0
        self.processing = 0

    def observe(self, endpoint: str, status: int, latency: float, usage: dict[str, int]) -> None:
        with self.lock:
            self.requests[(endpoint, status)] += 1
            self.prompt_tokens += int(usage.get("prompt_tokens", 0))
            self.completion_tokens += int(usage.get("completion_tokens", 0))
            i = next((i for i, b in enumerate(LATENCY_BUCKETS) if latency <= b), len(LATENCY_BUCKETS))
            self.buckets[i] += 1
            self.latency_sum += latency
            self.latency_count += 1

    def render(self, settings: ServerSettings, engine: dict[str, Any] | None = None) -> str:
        p = "mistral_sov_local"
        lines = [
            f"# HELP {p}_model_info The approved model being served.",
            f"# TYPE {p}_model_info gauge",
            f'{p}_model_info{{model="{settings.model_id}",sha256="{settings.model_sha256}",'
            f'backend="{settings.backend_name}"}} 1',
            f"# HELP {p}_requests_total Requests by endpoint and HTTP status.",
            f"# TYPE {p}_requests_total counter",
        ]
        with self.lock:
            for (endpoint, status), n in sorted(self.requests.items()):
                lines.append(f'{p}_requests_total{{endpoint="{endpoint}",status="{status}"}} {n}')
            lines += [
                f"# HELP {p}_prompt_tokens_total Prompt tokens processed.",
                f"# TYPE {p}_prompt_tokens_total counter",
                f"{p}_prompt_tokens_total {self.prompt_tokens}",
                f"# HELP {p}_completion_tokens_total Tokens generated.",
                f"# TYPE {p}_completion_tokens_total counter",
                f"{p}_completion_tokens_total {self.completion_tokens}",
                f"# HELP {p}_request_duration_seconds Latency of generation requests.",
                f"# TYPE {p}_request_duration_seconds histogram",
            ]
            cumulative = 0
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), self.buckets, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'{p}_request_duration_seconds_bucket{{le="{le}"}} {cumulative}')
            lines += [
                f"{p}_request_duration_seconds_sum {self.latency_sum:.6f}",
                f"{p}_request_duration_seconds_count {self.latency_count}",
                f"# HELP {p}_queue_depth Requests waiting for the model.",
                f"# TYPE {p}_queue_depth gauge",
                f"{p}_queue_depth {self.queue_depth}",
                f"# HELP {p}_requests_processing Requests being generated now.",
                f"# TYPE {p}_requests_processing gauge",
                f"{p}_requests_processing {self.processing}",
            ]
        if engine is not None:
            lines += engine_lines(p, engine)
        return "\n".join(lines) + "\n"


class AuditLog:
    """Append-only JSONL; one line per request, flushed at once. Never the key, never the prompt
    unless ``log_prompts``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(line)
