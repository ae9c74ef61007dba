"""Charging a generation: the one place that takes a unit of quota and the one place that
gives it back.

A generation reserves one unit when it starts (``reserve_or_raise``). It keeps it when it
delivers anything (completed or partial). Every path that ends a charged generation with
nothing delivered (an engine failure, Ctrl-C, a job the runner refused, the stale sweep)
calls ``fail_and_refund``, which fails it and refunds it exactly once and logs both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from repurposeflow.domain.enums import GenerationStatus, Platform, UsageEventType
from repurposeflow.domain.errors import UserNotFound
from repurposeflow.domain.model import Brief, Generation, TokenUsage, User
from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.services.usage import usage_event


def reserve_or_raise(uow: UnitOfWork, user: User, now: datetime) -> datetime:
    """Take one unit of ``user``'s quota in the window current at ``now`` (a new one if
    the last has ended) and return that window's ``reset_at``: the window charged.
    Raises QuotaExhausted (saying when the window resets) or UserNotFound when the user
    was deleted meanwhile."""
    quota = uow.users.reserve(user.id, now)
    if quota is not None:
        return quota.reset_at
    current = uow.users.get(user.id)
    if current is None or current.is_deleted:
        raise UserNotFound(user.clerk_user_id)
    raise current.quota.exhausted(now, tier=current.effective_tier)


@attrs.frozen
class RunDetails:
    """What a run learnt before it failed, to store with the failed generation."""

    usage: TokenUsage = attrs.field(factory=TokenUsage)
    elapsed_ms: int | None = None
    brief: Brief | None = None
    model: str | None = None
    platform_errors: dict[Platform, str] = attrs.field(factory=dict)
    user_agent: str | None = None
    ip_address: str | None = None


@attrs.frozen
class Settlement:
    """``generation`` as stored after the call (None: no such generation);
    ``failed_now``: this call moved it from pending to failed; ``refunded``: this call
    gave its unit back (False when its window has ended since: the unit went with it)."""

    generation: Generation | None
    failed_now: bool = False
    refunded: bool = False


def _with_details(gen: Generation, details: RunDetails) -> Generation:
    if details.brief is not None:
        gen = attrs.evolve(
            gen,
            core_message=details.brief.core_message,
            key_points=details.brief.key_points,
            detected_topic=details.brief.topic,
            detected_audience=details.brief.audience,
        )
    return attrs.evolve(
        gen,
        usage=details.usage,
        generation_time_ms=details.elapsed_ms,
        platform_errors=details.platform_errors or gen.platform_errors,
        llm_model=details.model or gen.llm_model,
    )


def fail_and_refund(
    uow: UnitOfWork,
    clock: Clock,
    generation_id: uuid.UUID,
    reason: str,
    details: RunDetails | None = None,
) -> Settlement:
    """Fail a *pending* generation that delivered nothing and refund its unit, exactly
    once however many callers race (the store's ``settle_failed`` lets one through);
    log ``generation_failed`` and ``generation_refunded``. A generation that is no
    longer pending is left as it is."""
    now = clock.now()
    with uow:
        charged = uow.generations.settle_failed(generation_id, error_message=reason, now=now)
        stored = uow.generations.get(generation_id)
        if charged is None or stored is None:
            uow.commit()
            return Settlement(stored)
        run = details or RunDetails()
        if details is not None:
            stored = _with_details(stored, details)
            uow.generations.save(stored)
        uow.usage.add(
            usage_event(
                stored,
                UsageEventType.GENERATION_FAILED,
                now,
                usage=run.usage if details is not None else None,
                user_agent=run.user_agent,
                ip_address=run.ip_address,
            )
        )
        refunded = uow.users.refund(stored.user_id, charged)
        if refunded:
            uow.usage.add(usage_event(stored, UsageEventType.GENERATION_REFUNDED, now))
        uow.commit()
        return Settlement(stored, failed_now=True, refunded=refunded)


def keeps_charge(current: Generation | None) -> bool:
    """Whether a run that delivered may keep the unit its generation was charged: not
    when the generation was failed and refunded meanwhile (swept as stale while the run
    worked); then the delivery is free."""
    return current is not None and current.status is GenerationStatus.PENDING
