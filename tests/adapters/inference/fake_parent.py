"""A parent process for the parent-death tests: the real ``serve_foreground`` path of
``local serve`` with the fake engine. Prints ``ENGINE <pid>`` and ``URL <url>`` when serving;
exits 4 with the diagnosis when the engine stops the service."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from inference_fakes import FakeLauncher

from mistral_sov.adapters.inference.backends import free_loopback_port
from mistral_sov.adapters.inference.engine.client import EngineClient
from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor
from mistral_sov.adapters.inference.server import LocalServer, ServerSettings, serve_foreground


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    marker = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    supervisor = EngineSupervisor(
        FakeLauncher(mode, marker=marker), max_start_failures=2, backoff_initial=0.1, backoff_max=0.2
    ).start()
    server = LocalServer(EngineClient(supervisor), ServerSettings(model_id="fake", model_sha256="0" * 64))
    port = free_loopback_port()
    print(f"ENGINE {supervisor.pid()}", flush=True)
    print(f"URL http://127.0.0.1:{port}", flush=True)
    try:
        fatal = serve_foreground(server.app(), supervisor, "127.0.0.1", port)
    except KeyboardInterrupt:  # as the CLI does (exit 130)
        return 130
    if fatal:
        print(f"FATAL {fatal}", flush=True)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
