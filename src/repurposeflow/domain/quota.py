"""The monthly generation quota: tiers, the window roll, reserve and refund.

These pure rules are the specification every store must match: the in-memory
adapter applies them directly, the SQL adapter folds them into one conditional
UPDATE, and the stateful tests hold both to the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from repurposeflow.domain.enums import SubscriptionStatus, Tier
from repurposeflow.domain.errors import QuotaExhausted

TIER_LIMITS: dict[Tier, int] = {Tier.FREE: 10, Tier.PRO: 500, Tier.BUSINESS: 999_999}
UNLIMITED_THRESHOLD = 999_999

# Stripe keeps retrying a past_due invoice for days; the paid plan stays until it gives up.
_PAID_STATUSES = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE}
)


def limit_for(tier: Tier) -> int:
    return TIER_LIMITS[Tier(tier)]


def effective_tier(tier: Tier, status: SubscriptionStatus) -> Tier:
    """The tier whose limit applies: a lapsed subscription falls back to free."""
    return Tier(tier) if SubscriptionStatus(status) in _PAID_STATUSES else Tier.FREE


def display_limit(limit: int) -> str:
    return "unlimited" if limit >= UNLIMITED_THRESHOLD else str(limit)


def ensure_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)


def month_start_after(now: datetime) -> datetime:
    """00:00 UTC on the first day of the month after ``now``."""
    now = ensure_utc(now)
    if now.month == 12:
        return datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return datetime(now.year, now.month + 1, 1, tzinfo=UTC)


def is_month_start(moment: datetime) -> bool:
    moment = ensure_utc(moment)
    return (moment.day, moment.hour, moment.minute, moment.second, moment.microsecond) == (
        1,
        0,
        0,
        0,
        0,
    )


@attrs.frozen
class Quota:
    """``count`` generations charged in the window ending at ``reset_at``."""

    count: int
    limit: int
    reset_at: datetime

    def rolled(self, now: datetime) -> Quota:
        """At or after ``reset_at`` the window restarts once, from ``now`` (not from the
        old reset: a user away for three months gets one reset, not three)."""
        if ensure_utc(now) >= self.reset_at:
            return attrs.evolve(self, count=0, reset_at=month_start_after(now))
        return self

    def can_reserve(self, now: datetime) -> bool:
        rolled = self.rolled(now)
        return rolled.count < rolled.limit

    def reserve(self, now: datetime, *, tier: str = "free") -> Quota:
        rolled = self.rolled(now)
        if rolled.count >= rolled.limit:
            raise QuotaExhausted(
                used=rolled.count, limit=rolled.limit, reset_at=rolled.reset_at, tier=str(tier)
            )
        return attrs.evolve(rolled, count=rolled.count + 1)

    def refund(self, charged_window: datetime) -> Quota:
        """Give back one unit charged in ``charged_window``; a unit from a window that has
        since rolled is already gone with it."""
        if charged_window == self.reset_at and self.count > 0:
            return attrs.evolve(self, count=self.count - 1)
        return self

    def with_limit(self, limit: int) -> Quota:
        """A tier change sets the limit at once and never lowers the count."""
        return attrs.evolve(self, limit=limit)

    def used(self, now: datetime) -> int:
        return self.rolled(now).count

    def remaining(self, now: datetime) -> int:
        rolled = self.rolled(now)
        return max(rolled.limit - rolled.count, 0)
