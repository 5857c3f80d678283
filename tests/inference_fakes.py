"""The fake inference engine for offline tests: ``FakeLauncher`` starts
``tests/adapters/inference/fake_engine.py`` the way the supervisor starts a real engine."""

from __future__ import annotations

import os
from pathlib import Path

FAKE_ENGINE = Path(__file__).parent / "adapters" / "inference" / "fake_engine.py"


class FakeLauncher:
    """Starts ``fake_engine.py`` the way the supervisor starts a real engine."""

    name = "fake"

    def __init__(self, mode: str = "ok", slots: int = 2, marker: Path | None = None) -> None:
        self.mode = mode
        self.slots = slots
        self.marker = marker

    def command(self, port: int, safe: bool) -> list[str]:
        import sys

        return [sys.executable, str(FAKE_ENGINE), "--port", str(port), *(["--no-repack"] if safe else [])]

    def environment(self, key: str) -> dict[str, str]:
        env = {**os.environ, "MISTRAL_SOV_ENGINE_KEY": key, "FAKE_ENGINE_MODE": self.mode}
        if self.marker is not None:
            env["FAKE_ENGINE_MARKER"] = str(self.marker)
        return env

    def pass_fds(self) -> tuple[int, ...]:
        return ()
