"""Running the API server: in a background thread (tests, ``local bench``) or in the foreground
for ``local serve``, with the engine supervisor stopped on every way out."""

from __future__ import annotations

import threading
import time
from typing import Any

from mistral_sov.adapters.inference.backends import free_loopback_port


class ServerThread:
    """Run uvicorn in a background thread; ``with`` stops it."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.host = host
        self.port = port or free_loopback_port()
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="mistral-sov-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_foreground(app: Any, supervisor: Any, host: str, port: int) -> str:
    """uvicorn in this thread until SIGINT/SIGTERM or a fatal engine failure; returns the fatal
    diagnosis ('' for a normal stop). The engine child is stopped in every case."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    fatal: list[str] = []

    def on_fatal(reason: str) -> None:
        fatal.append(reason)
        server.should_exit = True

    supervisor.on_fatal = on_fatal
    import signal

    def terminated(signum: int, frame: Any) -> None:  # uvicorn re-raises SIGTERM once shut down
        raise SystemExit(128 + signum)

    restore = None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        restore = signal.signal(signal.SIGTERM, terminated)
    try:
        server.run()
    finally:
        supervisor.close()  # every way out stops the engine child (and its process group)
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)
    return fatal[0] if fatal else ""
