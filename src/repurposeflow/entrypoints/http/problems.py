"""Errors as ``application/problem+json`` (RFC 9457).

The one place that maps domain errors to HTTP: status, stable ``type`` URI (built from
the error's ``code``), and the extra members a client can act on. No stack trace and
no driver text beyond the domain message ever reaches a client.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from repurposeflow.domain.errors import (
    BillingUnavailable,
    Conflict,
    EngineError,
    IdempotencyKeyReused,
    InputTooLarge,
    InvalidChoice,
    InvalidInput,
    JobRejected,
    NotConfigured,
    NotFound,
    NotPermitted,
    QuotaExhausted,
    RepurposeFlowError,
    RequestInFlight,
    StoreUnavailable,
    Unauthorized,
    UserDeleted,
    WebhookRejected,
)
from repurposeflow.entrypoints.http.context import current_request_id
from repurposeflow.entrypoints.http.ratelimit import RateLimited

log = logging.getLogger("repurposeflow.http")

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:repurposeflow:problem:"
STORE_RETRY_AFTER_S = 5

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[RepurposeFlowError], int], ...] = (
    (InputTooLarge, 413),
    (InvalidInput, 422),
    (UserDeleted, 403),
    (NotPermitted, 403),
    (NotFound, 404),
    (Conflict, 409),
    (QuotaExhausted, 429),
    (Unauthorized, 401),
    (WebhookRejected, 400),
    (EngineError, 502),
    (StoreUnavailable, 503),
    (JobRejected, 503),
    (NotConfigured, 503),
    (BillingUnavailable, 502),
)

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def status_for(error: RepurposeFlowError) -> int:
    return next((status for cls, status in STATUS if isinstance(error, cls)), 400)


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    request: Request | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def _retry_after(until: datetime, now: datetime) -> str:
    return str(max(1, math.ceil((until - now).total_seconds())))


def domain_problem(
    error: RepurposeFlowError, request: Request | None, now: datetime
) -> JSONResponse:
    status = status_for(error)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(error, QuotaExhausted):
        headers["Retry-After"] = _retry_after(error.reset_at, now)
        extra = {
            "used": error.used,
            "limit": error.limit,
            "tier": error.tier,
            "reset_at": error.reset_at.isoformat(),
        }
    elif isinstance(error, StoreUnavailable | JobRejected):
        headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
    elif isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="repurposeflow"'
    elif isinstance(error, InvalidChoice):
        extra = {"valid": list(error.valid)}
    elif isinstance(error, RequestInFlight | IdempotencyKeyReused):
        extra = {"generation_id": str(error.generation_id)}
        if isinstance(error.generation_id, uuid.UUID):
            headers["Location"] = f"/v1/generations/{error.generation_id}"
    if isinstance(error, StoreUnavailable):
        # The driver's text can name hosts and users: log it, tell the client less.
        log.error("store unavailable: %s", error.message)
        detail = "The database is unavailable; try again shortly."
    else:
        detail = error.message
    return problem(status, error.code, detail, request=request, headers=headers, **extra)


def install(app: FastAPI, now: Any) -> None:
    """Exception handlers for every error a route can raise; ``now`` is the clock."""

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RepurposeFlowError)
        return domain_problem(exc, request, now())

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "loc": [str(part) for part in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] if len(first["loc"]) > 1 else first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return problem(422, "invalid-request", detail, request=request, errors=errors)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not decode (not UTF-8, not JSON).
            return problem(
                422,
                "invalid-request",
                "The request body is not valid JSON in UTF-8.",
                request=request,
                errors=[],
            )
        code = {404: "no-such-route", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, f"http-{exc.status_code}"
        )
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        return problem(
            exc.status_code, code, detail, request=request, headers=getattr(exc, "headers", None)
        )

    app.add_exception_handler(RepurposeFlowError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def internal_error(request: Request | None = None) -> JSONResponse:
    return problem(
        500,
        "internal-error",
        "Something went wrong on our side; the request id helps us find it.",
        request=request,
    )


def rate_limited(exc: RateLimited, request: Request | None) -> JSONResponse:
    who = "this address" if exc.scope == "ip" else "your account"
    return problem(
        429,
        "rate-limited",
        f"Too many requests from {who}; slow down and retry after {exc.retry_after} s. "
        "(This is not your monthly quota.)",
        request=request,
        headers={"Retry-After": str(exc.retry_after)},
    )
