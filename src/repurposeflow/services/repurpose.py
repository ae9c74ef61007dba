"""The main job: reserve -> analyze once -> render platforms concurrently -> validate
(one repair each) -> store -> usage log; refund when nothing was delivered; a repeat
request returns the stored generation at no charge.

No transaction is held while an engine works: the reservation commits first, the
results commit after, so a slow model never blocks anybody's quota.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import attrs

from repurposeflow.domain.engine import PlatformDraft, RenderRequest
from repurposeflow.domain.enums import GenerationStatus, Platform, Tone, UsageEventType
from repurposeflow.domain.errors import (
    EngineError,
    GenerationBusy,
    GenerationNotFound,
    InvalidInput,
    JobRejected,
    QuotaExhausted,
    UserNotFound,
)
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import (
    Brief,
    Generation,
    TokenUsage,
    UsageEvent,
    User,
    new_id,
    status_for,
)
from repurposeflow.domain.platforms import PlatformOutput
from repurposeflow.domain.ports import Clock, ContentEngine, JobRunner, UnitOfWork
from repurposeflow.domain.progress import ProgressEvent, ProgressKind
from repurposeflow.domain.text import check_input, content_hash, parse_platforms, request_key
from repurposeflow.domain.validation import ValidationContext, validate
from repurposeflow.services.users import require_user

DEFAULT_CONCURRENCY = 6

Listener = Callable[[ProgressEvent], None]


def _quiet(event: ProgressEvent) -> None:
    return None


@attrs.frozen
class RepurposeRequest:
    clerk_user_id: str
    text: str
    platforms: Sequence[str | Platform] | None = None
    tone: str | Tone | None = None  # None: the user's default tone
    user_agent: str | None = None
    ip_address: str | None = None


@attrs.frozen
class RepurposeResult:
    generation: Generation
    cached: bool = False

    @property
    def status(self) -> GenerationStatus:
        return self.generation.status


@attrs.frozen
class _PlatformOutcome:
    platform: Platform
    output: PlatformOutput | None
    usage: TokenUsage
    model: str | None
    error: str | None


def _usage_event(
    gen: Generation,
    kind: UsageEventType,
    now: datetime,
    *,
    platforms: Iterable[Platform] | None = None,
    usage: TokenUsage | None = None,
    request: RepurposeRequest | None = None,
) -> UsageEvent:
    return UsageEvent(
        id=new_id(),
        user_id=gen.user_id,
        generation_id=gen.id,
        event_type=kind,
        platforms=tuple(platforms if platforms is not None else gen.selected_platforms),
        tokens_used=usage.total_tokens if usage is not None else None,
        estimated_cost_usd=usage.cost_usd if usage is not None else None,
        user_agent=request.user_agent if request else None,
        ip_address=request.ip_address if request else None,
        created_at=now,
    )


def _same_platform(draft: PlatformDraft, platform: Platform) -> PlatformDraft:
    """An engine's answer for another platform must never land in this one's column."""
    if draft.output.platform is not platform:
        raise EngineError(f"asked for {platform}, the engine answered with {draft.output.platform}")
    return draft


def _render_one(
    engine: ContentEngine,
    request: RenderRequest,
    ctx: ValidationContext,
    emit: Listener,
) -> _PlatformOutcome:
    """Render, validate, and give an invalid draft exactly one repair attempt."""
    platform = request.platform
    usage = TokenUsage()
    emit(ProgressEvent(ProgressKind.RENDERING, platform))
    try:
        draft: PlatformDraft = _same_platform(engine.render(request), platform)
        usage += draft.usage
        violations = [str(v) for v in validate(draft.output, ctx)]
        if violations:
            emit(ProgressEvent(ProgressKind.REPAIRING, platform, violations=tuple(violations)))
            repair = attrs.evolve(request, previous=draft.output, violations=tuple(violations))
            draft = _same_platform(engine.render(repair), platform)
            usage += draft.usage
            violations = [str(v) for v in validate(draft.output, ctx)]
    except Exception as exc:  # an engine fault fails this platform only
        reason = f"{type(exc).__name__}: {exc}" if not str(exc).strip() else str(exc)
        emit(ProgressEvent(ProgressKind.PLATFORM_FAILED, platform, detail=reason))
        return _PlatformOutcome(platform, None, usage, None, reason)
    if violations:
        reason = "still invalid after one repair: " + "; ".join(violations)
        emit(
            ProgressEvent(
                ProgressKind.PLATFORM_FAILED, platform, detail=reason, violations=violations
            )
        )
        return _PlatformOutcome(platform, None, usage, draft.model, reason)
    emit(ProgressEvent(ProgressKind.RENDERED, platform))
    return _PlatformOutcome(platform, draft.output, usage, draft.model, None)


def render_platforms(
    engine: ContentEngine,
    *,
    source: str,
    brief: Brief,
    platforms: Sequence[Platform],
    tone: Tone,
    user: User,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    emit: Listener = _quiet,
) -> list[_PlatformOutcome]:
    """Render every platform at once (bounded), in the order asked."""
    ctx = ValidationContext.for_user(
        source, user.voice.banned_phrases, user.voice.instagram_hashtag_cap
    )
    requests = [RenderRequest(source, brief, p, tone, user.voice) for p in platforms]
    workers = max(1, min(max_concurrency, len(requests)))
    if workers == 1:
        return [_render_one(engine, r, ctx, emit) for r in requests]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
        return list(pool.map(lambda r: _render_one(engine, r, ctx, emit), requests))


def _reserve_or_raise(uow: UnitOfWork, user: User, now: datetime) -> datetime:
    quota = uow.users.reserve(user.id, now)
    if quota is not None:
        return quota.reset_at
    current = uow.users.get(user.id)
    if current is None or current.is_deleted:
        raise UserNotFound(user.clerk_user_id)
    view = current.quota.rolled(now)
    raise QuotaExhausted(
        used=view.count, limit=view.limit, reset_at=view.reset_at, tier=current.effective_tier
    )


def start_generation(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    *,
    on_progress: Listener | None = None,
) -> RepurposeResult:
    """Check every input, then either return the stored twin of this request (no
    charge) or reserve one unit and store a *pending* generation for ``run_generation``.
    """
    emit = on_progress or _quiet
    # Every input check comes before the store is touched: a bad input changes nothing.
    source = check_input(request.text)
    platforms = parse_platforms(request.platforms)
    requested_tone = Tone.parse(request.tone) if request.tone is not None else None
    input_hash = content_hash(source)

    with uow:
        user = require_user(uow, request.clerk_user_id)
        tone = requested_tone or user.voice.default_tone
        key = request_key(input_hash, platforms, tone, engine.name, engine.model)
        cached = uow.generations.find_by_request_key(user.id, key)
        if cached is not None:
            uow.usage.add(
                _usage_event(
                    cached, UsageEventType.GENERATION_CACHED, clock.now(), usage=TokenUsage()
                )
            )
            uow.commit()
            emit(ProgressEvent(ProgressKind.CACHED, detail=str(cached.id)))
            return RepurposeResult(cached, cached=True)
        now = clock.now()
        window = _reserve_or_raise(uow, user, now)
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
        )
        uow.generations.add(gen)
        uow.usage.add(_usage_event(gen, UsageEventType.GENERATION_STARTED, now, request=request))
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
    on_progress: Listener | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
) -> RepurposeResult:
    """Do the engine work of a pending generation started by ``start_generation`` and
    store the outcome. A generation that is no longer pending (a job delivered twice,
    a run swept as stale) is returned as it is."""
    emit = on_progress or _quiet
    started = time.perf_counter()
    with uow:
        user = require_user(uow, request.clerk_user_id)
        gen_or_none = uow.generations.get(generation_id)
    if gen_or_none is None or gen_or_none.user_id != user.id:
        raise GenerationNotFound(generation_id)
    gen = gen_or_none
    if gen.status is not GenerationStatus.PENDING:
        return RepurposeResult(gen)
    source, platforms, tone = gen.input_content, gen.selected_platforms, gen.selected_tone

    usage = TokenUsage()
    try:
        emit(ProgressEvent(ProgressKind.ANALYZING))
        analysis = engine.analyze(source, tone)
        usage += analysis.usage
        emit(ProgressEvent(ProgressKind.ANALYZED, detail=analysis.brief.core_message))
        gen = attrs.evolve(
            gen,
            core_message=analysis.brief.core_message,
            key_points=analysis.brief.key_points,
            detected_topic=analysis.brief.topic,
            detected_audience=analysis.brief.audience,
            llm_model=analysis.model,
        )
        outcomes = render_platforms(
            engine,
            source=source,
            brief=analysis.brief,
            platforms=platforms,
            tone=tone,
            user=user,
            max_concurrency=max_concurrency,
            emit=emit,
        )
    except KeyboardInterrupt:
        # The person stopped the run: nothing was delivered, so nothing stays charged.
        elapsed = int((time.perf_counter() - started) * 1000)
        _finish_failed(uow, clock, gen, "interrupted", usage, elapsed, request)
        raise
    except Exception as exc:
        # Analysis failed (or something unexpected): nothing was delivered.
        elapsed = int((time.perf_counter() - started) * 1000)
        failed = _finish_failed(uow, clock, gen, f"analysis failed: {exc}", usage, elapsed, request)
        emit(ProgressEvent(ProgressKind.FINISHED, detail=failed.status.value))
        return RepurposeResult(failed)

    for outcome in outcomes:
        usage += outcome.usage
    elapsed = int((time.perf_counter() - started) * 1000)
    outputs = {o.platform: o.output.to_dict() for o in outcomes if o.output is not None}
    errors = {o.platform: o.error for o in outcomes if o.error is not None}
    status = status_for(platforms, len(outputs))
    if status is GenerationStatus.FAILED:
        summary = _error_summary(errors) or "no platform delivered"
        failed = _finish_failed(
            uow, clock, attrs.evolve(gen, platform_errors=errors), summary, usage, elapsed, request
        )
        emit(ProgressEvent(ProgressKind.FINISHED, detail=failed.status.value))
        return RepurposeResult(failed)

    finished = attrs.evolve(
        gen,
        status=status,
        outputs=outputs,
        platform_errors=errors,
        error_message=_error_summary(errors),
        usage=usage,
        generation_time_ms=elapsed,
        completed_at=clock.now(),
    )
    with uow:
        current = uow.generations.get(gen.id)
        if current is not None and current.status is not GenerationStatus.PENDING:
            # Swept as stale (and refunded) while we worked: deliver, but free.
            finished = attrs.evolve(finished, charged_reset_at=None)
        uow.generations.save(finished)
        kind = (
            UsageEventType.GENERATION_COMPLETED
            if status is GenerationStatus.COMPLETED
            else UsageEventType.GENERATION_PARTIAL
        )
        uow.usage.add(_usage_event(finished, kind, clock.now(), usage=usage, request=request))
        uow.commit()
    emit(ProgressEvent(ProgressKind.FINISHED, detail=status.value))
    return RepurposeResult(finished)


def repurpose(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    request: RepurposeRequest,
    *,
    on_progress: Listener | None = None,
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


def _finish_failed(
    uow: UnitOfWork,
    clock: Clock,
    gen: Generation,
    reason: str,
    usage: TokenUsage,
    elapsed_ms: int,
    request: RepurposeRequest | None,
) -> Generation:
    """Nothing delivered: mark failed and refund, exactly once."""
    now = clock.now()
    with uow:
        charged = uow.generations.settle_failed(gen.id, error_message=reason, now=now)
        failed = attrs.evolve(
            gen,
            status=GenerationStatus.FAILED,
            error_message=reason,
            usage=usage,
            generation_time_ms=elapsed_ms,
            charged_reset_at=None,
            completed_at=now,
        )
        if charged is not None:
            uow.generations.save(failed)
            uow.usage.add(
                _usage_event(
                    failed, UsageEventType.GENERATION_FAILED, now, usage=usage, request=request
                )
            )
            if uow.users.refund(gen.user_id, charged):
                uow.usage.add(_usage_event(failed, UsageEventType.GENERATION_REFUNDED, now))
        uow.commit()
        return uow.generations.get(gen.id) or failed


def settle_failed_generation(
    uow: UnitOfWork, clock: Clock, generation_id: uuid.UUID, reason: str
) -> bool:
    """Fail a pending generation and refund it; False if it was not pending."""
    now = clock.now()
    with uow:
        gen = uow.generations.get(generation_id)
        if gen is None:
            return False
        charged = uow.generations.settle_failed(generation_id, error_message=reason, now=now)
        if charged is None:
            return False
        uow.usage.add(_usage_event(gen, UsageEventType.GENERATION_FAILED, now))
        if uow.users.refund(gen.user_id, charged):
            uow.usage.add(_usage_event(gen, UsageEventType.GENERATION_REFUNDED, now))
        uow.commit()
        return True


def enqueue_generation(
    uow: UnitOfWork, clock: Clock, runner: JobRunner, job: GenerationJob
) -> None:
    """Hand a started generation to the job runner; if it cannot take it, the
    generation fails at once and its charge is refunded."""
    try:
        runner.submit(job)
    except JobRejected:
        settle_failed_generation(uow, clock, job.generation_id, "not started: the server was busy")
        raise


def regenerate(
    uow: UnitOfWork,
    engine: ContentEngine,
    clock: Clock,
    *,
    clerk_user_id: str,
    generation_id: uuid.UUID,
    platforms: Sequence[str | Platform] | None = None,
    on_progress: Listener | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
) -> Generation:
    """Render some platforms of a completed or partial generation again, at no charge.
    ``platforms=None`` retries the platforms that failed."""
    emit = on_progress or _quiet
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
        user=user,
        max_concurrency=max_concurrency,
        emit=emit,
    )
    usage = TokenUsage()
    for outcome in outcomes:
        usage += outcome.usage
    with uow:
        current = uow.generations.get(generation_id)
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
            _usage_event(
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
