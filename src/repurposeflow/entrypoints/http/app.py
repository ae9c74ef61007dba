"""The FastAPI application factory: ``create_app(bootstrap())``.

The entry point only translates HTTP to the services: it holds no rules. Host
applications and tests pass their own ``App`` (store, clock, engines, identity and
billing adapters) and, if they like, their own job runner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from repurposeflow import __version__
from repurposeflow.bootstrap import App, HttpSettings, load_http_settings, warm_up_engines
from repurposeflow.domain.ports import JobRunner
from repurposeflow.entrypoints.http import problems
from repurposeflow.entrypoints.http.deps import HttpState
from repurposeflow.entrypoints.http.middleware import (
    BodySizeLimitMiddleware,
    IpRateLimitMiddleware,
    RequestContextMiddleware,
)
from repurposeflow.entrypoints.http.progress import ProgressHub
from repurposeflow.entrypoints.http.ratelimit import RateLimited, RateLimits
from repurposeflow.entrypoints.http.routes import (
    account,
    admin,
    billing,
    engines,
    generations,
    health,
    pages,
    validate,
    webhooks,
)

log = logging.getLogger("repurposeflow.http")

DESCRIPTION = """\
Turn one long piece of writing into ready-to-post content for TikTok, X, Threads,
LinkedIn, Instagram and email.

Every `/v1` call needs `Authorization: Bearer <Clerk session token>`. Errors are
`application/problem+json` (RFC 9457) with a stable `type` and `code`; every response
carries an `X-Request-Id`.
"""


def create_app(
    app: App,
    settings: HttpSettings | None = None,
    *,
    jobs: JobRunner | None = None,
) -> FastAPI:
    settings = settings or load_http_settings()
    hub = ProgressHub()
    runner = jobs or app.job_runner(
        hub.on_job_progress, workers=settings.job_workers, max_pending=settings.job_queue
    )
    # With the durable queue the runs happen in worker processes; their steps come back
    # through the database into the same hub.
    listener = app.progress_listener(hub.publish)
    limits = RateLimits(
        settings.rate_limit_ip, settings.rate_limit_user, settings.rate_limit_storage
    )
    if settings.dev_user:
        log.warning(
            "DEVELOPMENT MODE: no authentication, every request acts as user %r. "
            "Never expose this server to anybody else.",
            settings.dev_user,
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.warm_up:
            # Before serving, not beside it: an import racing the process's other work
            # in another thread hit a CPython 3.11 ast bug once (see HttpSettings).
            await asyncio.to_thread(warm_up_engines, app.settings)
        if listener is not None:
            await asyncio.to_thread(listener.start)
        try:
            yield
        finally:
            runner.shutdown(wait=True)
            if listener is not None:
                await asyncio.to_thread(listener.stop)

    api = FastAPI(
        title="RepurposeFlow",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    api.state.repurposeflow = HttpState(
        app=app, settings=settings, hub=hub, jobs=runner, limits=limits
    )
    problems.install(api, app.clock.now)

    async def on_rate_limited(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimited)
        return problems.rate_limited(exc, request)

    api.add_exception_handler(RateLimited, on_rate_limited)

    for router in (
        generations.router,
        validate.router,
        engines.router,
        account.router,
        billing.router,
        admin.router,
        webhooks.router,
        health.router,
        pages.router,
    ):
        api.include_router(router)

    # Added innermost first: the request-id middleware is the outermost layer.
    api.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    api.add_middleware(IpRateLimitMiddleware, limits=limits)
    if settings.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Prefer",
                "X-Request-Id",
            ],
            expose_headers=["Location", "Retry-After", "X-Request-Id", "Preference-Applied"],
            max_age=600,
        )
    if settings.trusted_proxies:
        api.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    api.add_middleware(RequestContextMiddleware)
    return api
