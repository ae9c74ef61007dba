"""Rendering platforms: every platform at once (bounded), each draft validated and given
exactly one repair attempt. No store is touched here; the caller stores the outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs

from repurposeflow.domain.engine import PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.errors import EngineError, UnusableAnswer
from repurposeflow.domain.model import Brief, TokenUsage, VoiceSettings
from repurposeflow.domain.platforms import PlatformOutput
from repurposeflow.domain.ports import ContentEngine, ProgressListener
from repurposeflow.domain.progress import ProgressEvent, ProgressKind
from repurposeflow.domain.validation import ValidationContext, validate

DEFAULT_CONCURRENCY = 6


def quiet(event: ProgressEvent) -> None:
    """A progress listener that listens to nothing."""


@attrs.frozen
class PlatformOutcome:
    """One platform's result: an output that passed validation, or the reason it failed.
    ``usage`` counts every call made for it, the repair included."""

    platform: Platform
    output: PlatformOutput | None
    usage: TokenUsage
    model: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.output is not None


def total_usage(outcomes: Iterable[PlatformOutcome]) -> TokenUsage:
    usage = TokenUsage()
    for outcome in outcomes:
        usage += outcome.usage
    return usage


def _same_platform(draft: PlatformDraft, platform: Platform) -> PlatformDraft:
    """An engine's answer for another platform must never land in this one's column."""
    if draft.output.platform is not platform:
        raise EngineError(f"asked for {platform}, the engine answered with {draft.output.platform}")
    return draft


def render_one(
    engine: ContentEngine,
    request: RenderRequest,
    ctx: ValidationContext,
    emit: ProgressListener = quiet,
) -> PlatformOutcome:
    """Render, validate, and give an invalid draft exactly one repair attempt."""
    platform = request.platform
    usage = TokenUsage()
    emit(ProgressEvent(ProgressKind.RENDERING, platform))
    draft: PlatformDraft | None = None
    try:
        try:
            draft = _same_platform(engine.render(request), platform)
            usage += draft.usage
            violations = [str(v) for v in validate(draft.output, ctx)]
            repair = attrs.evolve(request, previous=draft.output, violations=tuple(violations))
        except UnusableAnswer as exc:
            # Broken JSON or a refusal is a failed attempt, not a crash: it gets the
            # same one repair a draft over the limits gets.
            usage += _spent(exc)
            violations = [exc.message]
            repair = attrs.evolve(request, violations=(exc.message,), previous_raw=exc.raw)
        if violations:
            emit(ProgressEvent(ProgressKind.REPAIRING, platform, violations=tuple(violations)))
            draft = _same_platform(engine.render(repair), platform)
            usage += draft.usage
            violations = [str(v) for v in validate(draft.output, ctx)]
    except Exception as exc:  # an engine fault fails this platform only
        if isinstance(exc, EngineError):
            usage += _spent(exc)
        reason = f"{type(exc).__name__}: {exc}" if not str(exc).strip() else str(exc)
        emit(ProgressEvent(ProgressKind.PLATFORM_FAILED, platform, detail=reason))
        return PlatformOutcome(platform, None, usage, None, reason)
    assert draft is not None
    if violations:
        reason = "still invalid after one repair: " + "; ".join(violations)
        emit(
            ProgressEvent(
                ProgressKind.PLATFORM_FAILED, platform, detail=reason, violations=violations
            )
        )
        return PlatformOutcome(platform, None, usage, draft.model, reason)
    emit(ProgressEvent(ProgressKind.RENDERED, platform, output=draft.output))
    return PlatformOutcome(platform, draft.output, usage, draft.model, None)


def _spent(exc: EngineError) -> TokenUsage:
    """What a failed call still cost (a provider bills a refusal like an answer)."""
    return exc.usage if isinstance(exc.usage, TokenUsage) else TokenUsage()


def render_platforms(
    engine: ContentEngine,
    *,
    source: str,
    brief: Brief,
    platforms: Sequence[Platform],
    tone: Tone,
    voice: VoiceSettings,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    emit: ProgressListener = quiet,
) -> list[PlatformOutcome]:
    """Render every platform at once (at most ``max_concurrency`` together), validated
    against the person's own banned phrases and hashtag cap; outcomes in the order asked."""
    ctx = ValidationContext.for_user(source, voice.banned_phrases, voice.instagram_hashtag_cap)
    requests = [RenderRequest(source, brief, p, tone, voice) for p in platforms]
    workers = max(1, min(max_concurrency, len(requests)))
    if workers == 1:
        return [render_one(engine, r, ctx, emit) for r in requests]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
        return list(pool.map(lambda r: render_one(engine, r, ctx, emit), requests))
