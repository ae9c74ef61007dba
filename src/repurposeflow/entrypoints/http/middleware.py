"""Plain ASGI middleware: request ids and access logs, and the body size limit.

Plain ASGI rather than ``BaseHTTPMiddleware`` so streamed responses (server-sent
events) pass through untouched and a body is never buffered to be measured.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repurposeflow.entrypoints.http.context import reset_request_id, set_request_id
from repurposeflow.entrypoints.http.problems import internal_error, problem, rate_limited
from repurposeflow.entrypoints.http.ratelimit import RateLimited, RateLimits

access_log = logging.getLogger("repurposeflow.http.access")
error_log = logging.getLogger("repurposeflow.http")

_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Give every request an id (the caller's ``X-Request-Id`` when it is sane), return
    it as ``X-Request-Id``, log one JSON line per request, and turn anything unexpected
    into a 500 problem with no stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        token = set_request_id(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if not response_started:
                await internal_error(Request(scope))(scope, receive, send_with_id)
        finally:
            state: dict[str, Any] = scope.get("state", {})
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client_ip": (scope.get("client") or ("", 0))[0],
                    "user": state.get("clerk_user_id"),
                },
            )
            reset_request_id(token)


class _TooLarge(HTTPException):
    """An HTTPException so FastAPI's body reader passes it on (it turns other
    exceptions into a 400) and the problem handler renders it."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than {max_bytes:,} bytes.")


class BodySizeLimitMiddleware:
    """413 before the body is read when ``Content-Length`` says too much, and as soon
    as a streamed (chunked) body passes the limit otherwise."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, scope: Scope) -> Any:
        return problem(
            413,
            "payload-too-large",
            f"The request body is larger than {self.max_bytes:,} bytes.",
            request=Request(scope),
            max_bytes=self.max_bytes,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._too_large(scope)(scope, receive, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if started:
                raise
            await self._too_large(scope)(scope, receive, send)


class IpRateLimitMiddleware:
    """Per client address, on every route but the health checks."""

    EXEMPT = frozenset({"/healthz", "/readyz"})

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.EXEMPT:
            client = scope.get("client")
            try:
                self.limits.hit_ip(client[0] if client else "unknown")
            except RateLimited as exc:
                await rate_limited(exc, Request(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)
