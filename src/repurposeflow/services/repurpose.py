"""The main job: reserve -> analyze once -> render platforms concurrently -> validate
(one repair each) -> store -> usage log; refund when nothing was delivered; a repeat
request returns the stored generation at no charge. ``regenerate`` renders some platforms
of a stored generation again, free.

Charging (reserve, fail and refund) lives in ``charging``; rendering and repair in
``render``.

No transaction is held while an engine works: the reservation commits first, the
results commit after, so a slow model never blocks anybody's quota.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence

import attrs

from repurposeflow.domain.enums import GenerationStatus, Platform, Tone, UsageEventType
from repurposeflow.domain.errors import (
    EngineError,
    EngineUnavailable,
    GenerationBusy,
    GenerationNotFound,
    IdempotencyKeyReused,
    InvalidInput,
    JobRejected,
    RequestInFlight,
    is_engine_outage,
)
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import Brief, Generation, TokenUsage, new_id, status_for
from repurposeflow.domain.ports import Clock, ContentEngine, JobRunner, ProgressListener, UnitOfWork
from repurposeflow.domain.progress import ProgressEvent, ProgressKind
from repurposeflow.domain.text import check_input, content_hash, parse_platforms, request_key
from repurposeflow.services.charging import (
    RunDetails,
    fail_and_refund,
    keeps_charge,
    reserve_or_raise,
)
from repurposeflow.services.render import (
    DEFAULT_CONCURRENCY,
    quiet,
    render_platforms,
    total_usage,
)
from repurposeflow.services.usage import usage_event
from repurposeflow.services.users import require_user


@attrs.frozen
class RepurposeRequest:
    clerk_user_id: str
    text: str
    platforms: Sequence[str | Platform] | None = None
    tone: str | Tone | None = None  # None: the user's default tone
    user_agent: str | None = None
    ip_address: str | None = None
    # A client's key for retrying safely: the same key and request give the same
    # generation; the same key with another request is IdempotencyKeyReused.
    idempotency_key: str | None = None


MAX_IDEMPOTENCY_KEY = 255


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            f"An Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters."
        )
    return key


@attrs.frozen
class RepurposeResult:
    generation: Generation
    cached: bool = False
    # run_generation found it no longer pending (finished, or swept as stale): it did
    # nothing and returned the generation as stored.
    skipped: bool = False

    @property
    def status(self) -> GenerationStatus:
        return self.generation.status


def start_generation(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    *,
    on_progress: ProgressListener | None = None,
) -> RepurposeResult:
    """Check every input, then either return the stored twin of this request (no
    charge) or reserve one unit and store a *pending* generation for ``run_generation``.

    With an idempotency key, a request that races its twin (same key, or the same
    request still running) gets that generation, uncharged; the same key with another
    request raises IdempotencyKeyReused.
    """
    emit = on_progress or quiet
    # Every input check comes before the store is touched: a bad input changes nothing.
    source = check_input(request.text)
    platforms = parse_platforms(request.platforms)
    requested_tone = Tone.parse(request.tone) if request.tone is not None else None
    keyed = check_idempotency_key(request.idempotency_key) is not None

    def attempt() -> RepurposeResult:
        return _start(uow, engine, clock, request, source, platforms, requested_tone, emit)

    try:
        return attempt()
    except (RequestInFlight, IdempotencyKeyReused):
        if not keyed:
            raise
    # The twin that won has committed by now: its key (or it, still running) decides.
    try:
        return attempt()
    except RequestInFlight as again:
        if not isinstance(again.generation_id, uuid.UUID):
            raise
        with uow:
            twin = uow.generations.get(again.generation_id)
        if twin is None:
            raise
        return RepurposeResult(twin, cached=True)


class _TwinFinished(Exception):
    """The identical request this one raced finished between its look and its insert."""


def _start(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    source: str,
    platforms: tuple[Platform, ...],
    requested_tone: Tone | None,
    emit: ProgressListener,
) -> RepurposeResult:
    args = (uow, engine, clock, request, source, platforms, requested_tone, emit)
    try:
        return _start_once(*args)
    except _TwinFinished:
        # Rolled back, nothing charged: this time the first look finds it, from history.
        return _start_once(*args)


def _start_once(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    source: str,
    platforms: tuple[Platform, ...],
    requested_tone: Tone | None,
    emit: ProgressListener,
) -> RepurposeResult:
    input_hash = content_hash(source)
    with uow:
        user = require_user(uow, request.clerk_user_id)
        tone = requested_tone or user.voice.default_tone
        key = request_key(input_hash, platforms, tone, engine.name, engine.model)
        if request.idempotency_key is not None:
            prior = uow.generations.find_by_idempotency_key(user.id, request.idempotency_key)
            if prior is not None:
                if prior.request_key != key:
                    raise IdempotencyKeyReused(prior.id)
                return RepurposeResult(prior, cached=True)
        cached = uow.generations.find_by_request_key(user.id, key)
        if cached is not None:
            uow.usage.add(
                usage_event(
                    cached, UsageEventType.GENERATION_CACHED, clock.now(), usage=TokenUsage()
                )
            )
            uow.commit()
            emit(ProgressEvent(ProgressKind.CACHED, detail=str(cached.id)))
            return RepurposeResult(cached, cached=True)
        now = clock.now()
        window = reserve_or_raise(uow, user, now)
        gen = Generation(
            id=new_id(),
            user_id=user.id,
            input_content=source,
            input_content_hash=input_hash,
            request_key=key,
            selected_platforms=platforms,
            selected_tone=tone,
            llm_provider=engine.name,
            llm_model=engine.model,
            charged_reset_at=window,
            created_at=now,
            idempotency_key=request.idempotency_key,
        )
        uow.generations.add(gen)
        # A twin still pending when we looked may have finished since, releasing its
        # in-flight key so this insert went through: look again now that this row holds
        # the key (a twin finishing from here on is seen by the insert itself), and
        # serve that one instead of charging twice.
        if uow.generations.find_by_request_key(user.id, key) is not None:
            raise _TwinFinished
        uow.usage.add(
            usage_event(
                gen,
                UsageEventType.GENERATION_STARTED,
                now,
                user_agent=request.user_agent,
                ip_address=request.ip_address,
            )
        )
        uow.commit()
    emit(ProgressEvent(ProgressKind.STARTED, detail=str(gen.id)))
    return RepurposeResult(gen)


def run_generation(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    generation_id: uuid.UUID,
    *,
    on_progress: ProgressListener | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    retry_outage: bool = False,
) -> RepurposeResult:
    """Do the engine work of a pending generation started by ``start_generation`` and
    store the outcome. A generation that is no longer pending (a job delivered twice,
    a run swept as stale) is returned as it is, ``skipped``.

    ``retry_outage`` (a job queue with attempts left): when the engine cannot be
    reached at all (``is_engine_outage`` on the first call, so nothing was delivered),
    raise EngineUnavailable and leave the generation pending and charged for the next
    attempt, instead of failing and refunding it."""
    emit = on_progress or quiet
    started = time.perf_counter()
    with uow:
        user = require_user(uow, request.clerk_user_id)
        gen_or_none = uow.generations.get(generation_id)
    if gen_or_none is None or gen_or_none.user_id != user.id:
        raise GenerationNotFound(generation_id)
    gen = gen_or_none
    if gen.status is not GenerationStatus.PENDING:
        return RepurposeResult(gen, skipped=True)
    source, platforms, tone = gen.input_content, gen.selected_platforms, gen.selected_tone

    usage = TokenUsage()
    brief: Brief | None = None
    model: str | None = None

    def fail(reason: str, errors: Mapping[Platform, str] | None = None) -> Generation:
        details = RunDetails(
            usage=usage,
            elapsed_ms=int((time.perf_counter() - started) * 1000),
            brief=brief,
            model=model,
            platform_errors=dict(errors or {}),
            user_agent=request.user_agent,
            ip_address=request.ip_address,
        )
        return fail_and_refund(uow, clock, generation_id, reason, details).generation or gen

    try:
        emit(ProgressEvent(ProgressKind.ANALYZING))
        analysis = engine.analyze(source, tone)
        usage += analysis.usage
        brief, model = analysis.brief, analysis.model
        emit(ProgressEvent(ProgressKind.ANALYZED, detail=brief.core_message))
        for note in analysis.notes:
            emit(ProgressEvent(ProgressKind.NOTE, detail=note))
        outcomes = render_platforms(
            engine,
            source=source,
            brief=brief,
            platforms=platforms,
            tone=tone,
            voice=user.voice,
            max_concurrency=max_concurrency,
            emit=emit,
        )
    except KeyboardInterrupt:
        # The person stopped the run: nothing was delivered, so nothing stays charged.
        fail("interrupted")
        raise
    except Exception as exc:
        if retry_outage and is_engine_outage(exc):
            emit(ProgressEvent(ProgressKind.NOTE, detail=f"engine unavailable, will retry: {exc}"))
            if isinstance(exc, EngineUnavailable):
                raise
            raise EngineUnavailable(f"{type(exc).__name__}: {exc}") from exc
        # Analysis failed (or something unexpected): nothing was delivered.
        if isinstance(exc, EngineError) and isinstance(exc.usage, TokenUsage):
            usage += exc.usage  # a refused or broken answer is billed all the same
        failed = fail(f"analysis failed: {exc}")
        emit(ProgressEvent(ProgressKind.FINISHED, detail=failed.status.value))
        return RepurposeResult(failed)

    usage += total_usage(outcomes)
    outputs = {o.platform: o.output.to_dict() for o in outcomes if o.output is not None}
    errors = {o.platform: o.error for o in outcomes if o.error is not None}
    status = status_for(platforms, len(outputs))
    if status is GenerationStatus.FAILED:
        failed = fail(_error_summary(errors) or "no platform delivered", errors)
        emit(ProgressEvent(ProgressKind.FINISHED, detail=failed.status.value))
        return RepurposeResult(failed)

    finished = attrs.evolve(
        gen,
        status=status,
        core_message=brief.core_message,
        key_points=brief.key_points,
        detected_topic=brief.topic,
        detected_audience=brief.audience,
        llm_model=model,
        outputs=outputs,
        platform_errors=errors,
        error_message=_error_summary(errors),
        usage=usage,
        generation_time_ms=int((time.perf_counter() - started) * 1000),
        completed_at=clock.now(),
    )
    with uow:
        if not keeps_charge(uow.generations.get(gen.id)):
            finished = attrs.evolve(finished, charged_reset_at=None)
        uow.generations.save(finished)
        kind = (
            UsageEventType.GENERATION_COMPLETED
            if status is GenerationStatus.COMPLETED
            else UsageEventType.GENERATION_PARTIAL
        )
        uow.usage.add(
            usage_event(
                finished,
                kind,
                clock.now(),
                usage=usage,
                user_agent=request.user_agent,
                ip_address=request.ip_address,
            )
        )
        uow.commit()
    emit(ProgressEvent(ProgressKind.FINISHED, detail=status.value))
    return RepurposeResult(finished)


def repurpose(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    *,
    on_progress: ProgressListener | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
) -> RepurposeResult:
    """Start and run a generation in this thread (the CLI's way; HTTP starts it and
    hands the run to a job runner)."""
    started = start_generation(uow, engine, clock, request, on_progress=on_progress)
    if started.cached:
        return started
    return run_generation(
        uow,
        engine,
        clock,
        request,
        started.generation.id,
        on_progress=on_progress,
        max_concurrency=max_concurrency,
    )


def _error_summary(errors: Mapping[Platform, str]) -> str | None:
    return "; ".join(f"{p}: {e}" for p, e in errors.items()) or None


def enqueue_generation(
    uow: UnitOfWork, clock: Clock, runner: JobRunner, job: GenerationJob
) -> None:
    """Hand a started generation to the job runner; if it cannot take it, the
    generation fails at once and its charge is refunded."""
    try:
        runner.submit(job)
    except JobRejected:
        fail_and_refund(uow, clock, job.generation_id, "not started: the server was busy")
        raise


def regenerate(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    *,
    clerk_user_id: str,
    generation_id: uuid.UUID,
    platforms: Sequence[str | Platform] | None = None,
    on_progress: ProgressListener | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
) -> Generation:
    """Render some platforms of a completed or partial generation again, at no charge.
    ``platforms=None`` retries the platforms that failed."""
    emit = on_progress or quiet
    with uow:
        user = require_user(uow, clerk_user_id)
        gen = uow.generations.get(generation_id)
        if gen is None or gen.user_id != user.id:
            raise GenerationNotFound(generation_id)
    if gen.status is GenerationStatus.PENDING:
        raise GenerationBusy(generation_id)
    if gen.status is GenerationStatus.FAILED:
        raise InvalidInput(
            f"Generation {generation_id} failed and was refunded; run repurpose again instead."
        )
    chosen = gen.failed_platforms if platforms is None else parse_platforms(platforms)
    if not chosen:
        raise InvalidInput(f"Generation {generation_id} has no failed platforms to retry.")
    outside = [p.value for p in chosen if p not in gen.selected_platforms]
    if outside:
        raise InvalidInput(
            f"Generation {generation_id} was not made for {', '.join(outside)}; "
            f"it covers {', '.join(p.value for p in gen.selected_platforms)}."
        )

    brief = Brief(
        core_message=gen.core_message or "",
        key_points=tuple(gen.key_points or ()),
        topic=gen.detected_topic or "",
        audience=gen.detected_audience or "",
    )
    outcomes = render_platforms(
        engine,
        source=gen.input_content,
        brief=brief,
        platforms=chosen,
        tone=gen.selected_tone,
        voice=user.voice,
        max_concurrency=max_concurrency,
        emit=emit,
    )
    usage = total_usage(outcomes)
    with uow:
        # Locked: two regenerates of one generation merge, neither loses the other's.
        current = uow.generations.get_for_update(generation_id)
        if current is None:
            raise GenerationNotFound(generation_id)
        outputs = dict(current.outputs)
        errors = dict(current.platform_errors)
        for outcome in outcomes:
            if outcome.output is not None:
                outputs[outcome.platform] = outcome.output.to_dict()
                errors.pop(outcome.platform, None)
            elif outcome.platform not in outputs:
                errors[outcome.platform] = outcome.error or "failed"
        status = status_for(current.selected_platforms, len(outputs))
        updated = attrs.evolve(
            current,
            outputs=outputs,
            platform_errors=errors,
            status=status,
            error_message=_error_summary(errors),
            usage=current.usage + usage,
        )
        uow.generations.save(updated)
        uow.usage.add(
            usage_event(
                updated,
                UsageEventType.PLATFORM_REGENERATED,
                clock.now(),
                platforms=chosen,
                usage=usage,
            )
        )
        uow.commit()
    emit(ProgressEvent(ProgressKind.FINISHED, detail=status.value))
    return updated
