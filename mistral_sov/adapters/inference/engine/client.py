"""OpenAI-shaped calls from the API server to the engine child (async httpx, one client per
event loop). A dropped connection is checked against the child: if it died, the caller gets
``EngineCrashed`` with the signal (→ 503); an engine that answered 4xx gives ``EngineRejected``
(→ the same status, e.g. 400 for a prompt longer than the context)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from mistral_sov.adapters.inference.engine.supervisor import EngineSupervisor, EngineUnavailable

__all__ = ["EngineClient", "EngineCrashed", "EngineRejected", "EngineUnavailable"]


class EngineCrashed(Exception):
    def __init__(self, signal: str) -> None:
        super().__init__(f"the inference engine crashed ({signal}) while answering; it is being restarted")
        self.signal = signal


class EngineRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _engine_message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    except ValueError:
        pass
    return raw.decode(errors="replace")[:300] or "the engine refused the request"


class EngineClient:
    def __init__(self, supervisor: EngineSupervisor) -> None:
        self.supervisor = supervisor
        self.name = supervisor.name
        self._clients: dict[int, Any] = {}

    def _client(self) -> Any:
        import httpx

        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            limits = httpx.Limits(max_connections=max(8, 4 * self.supervisor.slots), max_keepalive_connections=32)
            client = httpx.AsyncClient(timeout=httpx.Timeout(3600.0, connect=5.0), trust_env=False, limits=limits)
            self._clients[loop] = client
        return client

    async def _crash_or(self, generation: int, exc: BaseException) -> BaseException:
        sig = await asyncio.to_thread(self.supervisor.death_of, generation, 2.0)
        if sig is not None:
            return EngineCrashed(sig)
        return EngineRejected(502, f"the inference engine failed: {type(exc).__name__}")

    @staticmethod
    def _path(chat: bool) -> str:
        return "/v1/chat/completions" if chat else "/v1/completions"

    async def _stale(self, generation: int, exc: BaseException, attempt: int) -> bool:
        """A keep-alive connection the engine had already closed fails before any response
        byte; retry such a request once on a fresh connection if the engine is alive."""
        import httpx

        if attempt > 0 or not isinstance(exc, (httpx.RemoteProtocolError, httpx.ConnectError, httpx.WriteError)):
            return False
        return await asyncio.to_thread(self.supervisor.death_of, generation, 0.2) is None

    async def call(self, chat: bool, params: dict[str, Any]) -> dict[str, Any]:
        import httpx

        ep = self.supervisor.endpoint()
        body = {k: v for k, v in params.items() if k != "stream_options"}
        body["stream"] = False
        for attempt in range(2):
            try:
                reply = await self._client().post(
                    ep.base + self._path(chat), json=body, headers={"Authorization": f"Bearer {ep.key}"}
                )
                break
            except httpx.HTTPError as exc:
                if await self._stale(ep.generation, exc, attempt):
                    continue
                raise await self._crash_or(ep.generation, exc) from None
        if reply.status_code != 200:
            if reply.status_code >= 500:
                raise await self._crash_or(ep.generation, RuntimeError(str(reply.status_code)))
            raise EngineRejected(reply.status_code, _engine_message(reply.content))
        data: dict[str, Any] = reply.json()
        return data

    async def stream(self, chat: bool, params: dict[str, Any], usage: dict[str, int]) -> AsyncIterator[dict[str, Any]]:
        """Yield chunks with choices; fill ``usage`` from the engine's final usage chunk."""
        import httpx

        ep = self.supervisor.endpoint()
        body = {k: v for k, v in params.items() if k != "stream_options"}
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        for attempt in range(2):
            started = False
            try:
                async for chunk in self._stream_once(ep, chat, body, usage):
                    started = True
                    yield chunk
                return
            except httpx.HTTPError as exc:
                if not started and await self._stale(ep.generation, exc, attempt):
                    continue
                raise await self._crash_or(ep.generation, exc) from None
            except ValueError as exc:  # a torn SSE line: the engine died mid-write
                raise await self._crash_or(ep.generation, exc) from None

    async def _stream_once(
        self, ep: Any, chat: bool, body: dict[str, Any], usage: dict[str, int]
    ) -> AsyncIterator[dict[str, Any]]:
        async with self._client().stream(
            "POST", ep.base + self._path(chat), json=body, headers={"Authorization": f"Bearer {ep.key}"}
        ) as reply:
            if reply.status_code != 200:
                raw = await reply.aread()
                if reply.status_code >= 500:
                    raise await self._crash_or(ep.generation, RuntimeError(str(reply.status_code)))
                raise EngineRejected(reply.status_code, _engine_message(raw))
            async for line in reply.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                chunk = json.loads(payload)
                if isinstance(chunk.get("error"), dict):
                    err = chunk["error"]
                    raise EngineRejected(int(err.get("code") or 400), str(err.get("message", "engine error")))
                if chunk.get("usage"):
                    usage.update({k: int(v) for k, v in chunk["usage"].items() if isinstance(v, int)})
                if chunk.get("choices"):
                    yield chunk
        # the body ended without [DONE]: the engine closed the connection (died) mid-answer
        raise await self._crash_or(ep.generation, EOFError("the engine stream ended early"))

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.aclose()
        self._clients.clear()
