"""What a person has used: the usage log's events, and the quota left this month."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from repurposeflow.domain.enums import Platform, SubscriptionStatus, Tier, UsageEventType
from repurposeflow.domain.model import Generation, TokenUsage, UsageEvent, new_id
from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.domain.quota import UNLIMITED_THRESHOLD
from repurposeflow.services.users import require_user


def usage_event(
    gen: Generation,
    kind: UsageEventType,
    now: datetime,
    *,
    platforms: Iterable[Platform] | None = None,
    usage: TokenUsage | None = None,
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> UsageEvent:
    """One row of the usage log about ``gen`` (its platforms unless others are given)."""
    return UsageEvent(
        id=new_id(),
        user_id=gen.user_id,
        generation_id=gen.id,
        event_type=kind,
        platforms=tuple(platforms if platforms is not None else gen.selected_platforms),
        tokens_used=usage.total_tokens if usage is not None else None,
        estimated_cost_usd=usage.cost_usd if usage is not None else None,
        user_agent=user_agent,
        ip_address=ip_address,
        created_at=now,
    )


@attrs.frozen
class UsageSummary:
    tier: Tier
    used: int
    limit: int
    remaining: int
    resets_at: datetime
    # The billing state behind the tier: past_due keeps the tier while the provider
    # retries the payment, and the person should hear about it.
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    period_end: datetime | None = None

    @property
    def unlimited(self) -> bool:
        return self.limit >= UNLIMITED_THRESHOLD


def usage_summary(uow: UnitOfWork, clock: Clock, clerk_user_id: str) -> UsageSummary:
    """The quota as the next request would see it (in the window current now)."""
    now = clock.now()
    with uow:
        user = require_user(uow, clerk_user_id)
    window = user.quota.current_window(now)
    return UsageSummary(
        tier=user.effective_tier,
        used=window.used(now),
        limit=window.limit,
        remaining=window.remaining(now),
        resets_at=window.reset_at,
        status=user.subscription_status,
        period_end=user.subscription_current_period_end,
    )
