"""The fake inference engine for offline tests: ``FakeLauncher`` starts
``tests/adapters/inference/fake_engine.py`` the way the supervisor starts a real engine."""

from __future__ import annotations

import os
from pathlib import Path

FAKE_ENGINE = Path(__file__).parent / "adapters" / "inference" / "fake_engine.py"


class FakeLauncher:
    """Starts ``fake_engine.py`` the way the supervisor starts a real engine."""

    name = "fake"

    def __init__(
        self,
        mode: str = "ok",
        slots: int = 2,
        marker: Path | None = None,
        model: Path | None = None,
        model_fd: int | None = None,
    ) -> None:
        self.mode = mode
        self.slots = slots
        self.marker = marker
        self.model = model
        self.model_fd = model_fd

    def command(self, port: int, safe: bool) -> list[str]:
        import sys

        from mistral_sov.adapters.inference.engine.launchers import model_argument

        model = ["--model", model_argument(self.model, self.model_fd)] if self.model is not None else []
        return [sys.executable, str(FAKE_ENGINE), "--port", str(port), *model, *(["--no-repack"] if safe else [])]

    def environment(self, key: str) -> dict[str, str]:
        env = {**os.environ, "MISTRAL_SOV_ENGINE_KEY": key, "FAKE_ENGINE_MODE": self.mode}
        if self.marker is not None:
            env["FAKE_ENGINE_MARKER"] = str(self.marker)
        return env

    def pass_fds(self) -> tuple[int, ...]:
        return (self.model_fd,) if self.model_fd is not None else ()
