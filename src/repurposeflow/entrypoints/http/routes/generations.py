"""/v1/generations: start (in the background), list, read, regenerate, follow."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from repurposeflow.domain.enums import GenerationStatus
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import Generation
from repurposeflow.domain.progress import ProgressEvent, ProgressKind
from repurposeflow.entrypoints.http.deps import CallerDep, StateDep, UserUowDep
from repurposeflow.entrypoints.http.schemas import (
    GenerationCreate,
    GenerationOut,
    GenerationPage,
    PlatformName,
    Problem,
    RegenerateBody,
)
from repurposeflow.services import history
from repurposeflow.services.repurpose import (
    RepurposeRequest,
    enqueue_generation,
    regenerate,
    start_generation,
)

router = APIRouter(prefix="/v1/generations", tags=["generations"])


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for problem documents with these statuses."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in statuses
    }


PROBLEMS = problem_responses(401, 404, 413, 422, 429, 503)
# How often an event stream rereads the store when no progress arrives in this process.
POLL_SECONDS = 1.0
_WAIT = re.compile(r"(?:^|[;,\s])wait\s*=\s*\"?(\d{1,6})\"?", re.IGNORECASE)


def _wait_seconds(prefer: str | None, cap: int) -> int:
    """RFC 7240 ``Prefer: wait=N`` as a whole number of seconds, at most ``cap``."""
    match = _WAIT.search(prefer or "")
    return min(int(match.group(1)), cap) if match else 0


def _location(gen_id: uuid.UUID) -> str:
    return f"{router.prefix}/{gen_id}"


@router.post(
    "",
    status_code=202,
    response_model=GenerationOut,
    responses={
        200: {
            "model": GenerationOut,
            "description": "Finished within `Prefer: wait`, or an "
            "identical earlier request returned free.",
        },
        409: {"model": Problem, "content": {"application/problem+json": {}}},
        **PROBLEMS,
    },
    summary="Start a generation",
)
def create_generation(
    body: GenerationCreate,
    caller: CallerDep,
    state: StateDep,
    uow: UserUowDep,
    response: Response,
    prefer: Annotated[
        str | None,
        Header(description="`wait=N`: answer when done if within N seconds (RFC 7240)."),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Retry safely: the same key with the same body returns the same "
            "generation (no second charge); the same key with another body is a 409.",
        ),
    ] = None,
) -> GenerationOut:
    """Reserves one generation of the monthly quota and answers `202 Accepted` with the
    pending resource and its `Location`; the work runs in the background. Follow it at
    `Location` + `/events`, or send `Prefer: wait=N`."""
    app = state.app
    engine = app.engine(body.engine)
    if body.model is not None and body.model != engine.model:
        raise InvalidInput(
            f"The {engine.name} engine on this server runs {engine.model}; "
            "leave out model or ask for that one."
        )
    request = RepurposeRequest(
        caller.clerk_user_id,
        body.content,
        platforms=body.platforms,
        tone=body.tone,
        user_agent=caller.user_agent,
        ip_address=caller.ip_address,
        idempotency_key=idempotency_key,
    )
    started = start_generation(uow, engine, app.clock, request)
    gen = started.generation
    response.headers["Location"] = _location(gen.id)
    wait = _wait_seconds(prefer, state.settings.max_wait_seconds)
    finished = threading.Event()

    def on_event(event: ProgressEvent) -> None:
        if event.kind is ProgressKind.FINISHED:
            finished.set()

    job = GenerationJob(
        gen.id,
        caller.clerk_user_id,
        engine.name,
        caller.user_agent,
        caller.ip_address,
        model=engine.model,
    )
    with state.hub.subscribe(gen.id, on_event):
        if not started.cached:
            enqueue_generation(uow, app.clock, state.jobs, job)
        elif wait and gen.status is GenerationStatus.PENDING:
            # Joined a run already going: it may have ended before we subscribed.
            gen = history.get_generation(uow, caller.clerk_user_id, gen.id)
        if wait and gen.status is GenerationStatus.PENDING and finished.wait(wait):
            gen = history.get_generation(uow, caller.clerk_user_id, gen.id)
    if wait:
        response.headers["Preference-Applied"] = f"wait={wait}"
    if gen.status is not GenerationStatus.PENDING:
        response.status_code = 200
    return GenerationOut.of(gen, cached=started.cached)


@router.get(
    "",
    response_model=GenerationPage,
    responses=PROBLEMS,
    summary="Your generations, newest first",
)
def list_generations(
    caller: CallerDep,
    uow: UserUowDep,
    limit: Annotated[int, Query(ge=1, le=history.MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    status: Annotated[GenerationStatus | None, Query()] = None,
    platform: Annotated[PlatformName | None, Query(description="Made for this platform.")] = None,
    since: Annotated[
        datetime | None, Query(description="Created after this time (ISO 8601).")
    ] = None,
) -> GenerationPage:
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since needs a time zone, e.g. 2026-03-01T00:00:00Z.")
    page = history.list_history(
        uow,
        caller.clerk_user_id,
        limit=limit,
        cursor=cursor,
        status=status,
        platform=platform,
        since=since,
    )
    return GenerationPage.of(page)


@router.get(
    "/{generation_id}",
    response_model=GenerationOut,
    responses=PROBLEMS,
    summary="One generation",
)
def get_generation(generation_id: uuid.UUID, caller: CallerDep, uow: UserUowDep) -> GenerationOut:
    return GenerationOut.of(history.get_generation(uow, caller.clerk_user_id, generation_id))


@router.post(
    "/{generation_id}/regenerate",
    response_model=GenerationOut,
    responses={409: {"model": Problem, "content": {"application/problem+json": {}}}, **PROBLEMS},
    summary="Write some platforms again, free",
)
def regenerate_generation(
    generation_id: uuid.UUID,
    caller: CallerDep,
    state: StateDep,
    uow: UserUowDep,
    body: RegenerateBody | None = None,
) -> GenerationOut:
    """Renders the named platforms again (or, with none named, the ones that failed) at
    no charge, and answers with the updated generation."""
    gen = history.get_generation(uow, caller.clerk_user_id, generation_id)
    engine = state.app.engine_for(gen.llm_provider, gen.llm_model)
    updated = regenerate(
        uow,
        engine,
        state.app.clock,
        clerk_user_id=caller.clerk_user_id,
        generation_id=gen.id,
        platforms=body.platforms if body is not None else None,
        max_concurrency=state.app.settings.concurrency,
    )
    return GenerationOut.of(updated)


def _owned_generation(generation_id: uuid.UUID, caller: CallerDep, uow: UserUowDep) -> Generation:
    return history.get_generation(uow, caller.clerk_user_id, generation_id)


def _progress_data(event: ProgressEvent) -> dict[str, Any]:
    """A progress event as JSON; ``output`` (on ``rendered`` only) is that platform's
    finished post, in the same form as the generation's ``outputs[platform]``."""
    return {
        "kind": event.kind.value,
        "platform": event.platform.value if event.platform else None,
        "detail": event.detail,
        "violations": list(event.violations),
        "output": event.output.to_dict() if event.output is not None else None,
    }


@router.get(
    "/{generation_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`generation` (the resource, first and last) and `progress` "
            "events. A `rendered` progress event carries the platform's finished post in "
            "`output` (as in the generation's `outputs`), so it can be shown before the "
            "slowest platform is done; other progress events have `output: null`.",
            "content": {
                "text/event-stream": {
                    "example": (
                        'event: generation\ndata: {"id": "0f8f…", "status": "pending", …}\n\n'
                        'event: progress\ndata: {"kind": "rendering", "platform": "email", '
                        '"detail": "", "violations": [], "output": null}\n\n'
                        'event: progress\ndata: {"kind": "rendered", "platform": "email", '
                        '"detail": "", "violations": [], "output": {"subject": "…", '
                        '"preheader": "…", "body_markdown": "…", "cta": "…"}}\n\n'
                        'event: generation\ndata: {"id": "0f8f…", "status": "completed", …}\n\n'
                    )
                }
            },
        },
        **PROBLEMS,
    },
    summary="Follow a generation as server-sent events",
)
async def generation_events(
    generation_id: uuid.UUID,
    caller: CallerDep,
    state: StateDep,
    uow: UserUowDep,
    first: Annotated[Generation, Depends(_owned_generation)],
) -> AsyncIterator[ServerSentEvent]:
    """First the generation as it is now; then per-platform `progress` events while it
    runs (each `rendered` one with that platform's finished post in `output`); last the
    finished generation, and the stream ends. A platform that finished before you
    subscribed sends no event (there is no replay): its post is in the last generation."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()

    def read() -> Generation:
        return history.get_generation(uow, caller.clerk_user_id, generation_id)

    def resource(gen: Generation) -> ServerSentEvent:
        return ServerSentEvent(
            event="generation", data=GenerationOut.of(gen).model_dump(mode="json")
        )

    def forward(event: ProgressEvent) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    with state.hub.subscribe(generation_id, forward):
        # Read again after subscribing, so nothing between the two is lost; ``first``
        # (read before the stream began) already answered 404 for others' ids.
        gen = (
            first if first.status is not GenerationStatus.PENDING else await run_in_threadpool(read)
        )
        yield resource(gen)
        if gen.status is not GenerationStatus.PENDING:
            return
        while gen.status is GenerationStatus.PENDING:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=POLL_SECONDS)
            except TimeoutError:
                gen = await run_in_threadpool(read)
                continue
            if event.kind is ProgressKind.FINISHED:
                gen = await run_in_threadpool(read)
                continue
            yield ServerSentEvent(event="progress", data=_progress_data(event))
        yield resource(gen)
