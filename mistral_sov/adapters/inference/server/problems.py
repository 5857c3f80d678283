"""Errors the API server answers with: always the OpenAI error JSON shape
``{"error": {"message", "type", "code"}}`` and the right HTTP status, never a traceback."""

from __future__ import annotations

from typing import Any


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or {}


def error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": status}}


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(error_body(status, message, kind), status, headers=headers)
