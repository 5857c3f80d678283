"""The OpenAI-compatible local API server, split by job:

* ``app``: settings, routes, request validation, generation through the engine child;
* ``auth``: the one place that turns a request into an identity (pluggable ``Authenticator``);
* ``limits``: rate limit and daily quota per identity;
* ``observe``: Prometheus metrics and the JSONL audit log;
* ``problems``: the OpenAI error JSON shape;
* ``runner``: uvicorn in a thread (tests, bench) or in the foreground (``local serve``).
"""

from mistral_sov.adapters.inference.server.app import LocalServer, ServerSettings
from mistral_sov.adapters.inference.server.auth import ANONYMOUS, ApiKeyAuth, Authenticator, is_loopback_host, key_id
from mistral_sov.adapters.inference.server.problems import HTTPProblem
from mistral_sov.adapters.inference.server.runner import ServerThread, serve_foreground

__all__ = [
    "ANONYMOUS",
    "ApiKeyAuth",
    "Authenticator",
    "HTTPProblem",
    "LocalServer",
    "ServerSettings",
    "ServerThread",
    "is_loopback_host",
    "key_id",
    "serve_foreground",
]
