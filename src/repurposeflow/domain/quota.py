"""The monthly generation quota: tiers, the window, reserve and refund.

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


def upgrade_hint(tier: str) -> str:
    """What the next plan up offers, for a person who ran out ("" on the top plan)."""
    order = list(Tier)
    current = Tier(tier) if tier in Tier.values() else Tier.FREE
    if current is order[-1]:
        return ""
    better = order[order.index(current) + 1]
    limit = TIER_LIMITS[better]
    offer = "unlimited generations" if limit >= UNLIMITED_THRESHOLD else f"{limit} a month"
    return f"Upgrade to {better.value.capitalize()} for {offer}."


def display_limit(limit: int) -> str:
    return "unlimited" if limit >= UNLIMITED_THRESHOLD else str(limit)


def ensure_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)


def next_reset(now: datetime) -> datetime:
    """The reset: when a window opened at ``now`` ends, 00:00 UTC on the first day of
    the month after ``now``. ``Quota.current_window`` is where a reset happens."""
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
    """``count`` generations charged in the current *window*: the month of quota that
    ends at ``reset_at`` (00:00 UTC on the first of a month). "Window" is the one name
    for it: a generation is charged in a window, refunded in the same window, and a
    request at or after ``reset_at`` starts a new window (``current_window``).

    These methods are the rule; the memory store calls them, and the SQL store's one
    conditional UPDATE mirrors ``reserve`` (the stateful tests hold both to it)."""

    count: int
    limit: int
    reset_at: datetime

    def current_window(self, now: datetime) -> Quota:
        """The quota as a request at ``now`` sees it. At or after ``reset_at`` a new
        window starts, once, from ``now`` (not from the old reset: a user away for three
        months gets one reset, not three): count 0, ``reset_at`` the next month start."""
        if ensure_utc(now) >= self.reset_at:
            return attrs.evolve(self, count=0, reset_at=next_reset(now))
        return self

    def can_reserve(self, now: datetime) -> bool:
        return self.remaining(now) > 0

    def exhausted(self, now: datetime, *, tier: str) -> QuotaExhausted:
        """The error for a request at ``now`` that found no unit left."""
        window = self.current_window(now)
        return QuotaExhausted(
            used=window.count,
            limit=window.limit,
            reset_at=window.reset_at,
            tier=str(tier),
            upgrade=upgrade_hint(tier),
        )

    def reserve(self, now: datetime, *, tier: str = "free") -> Quota:
        """Take one unit in the window current at ``now``; QuotaExhausted if none is left."""
        window = self.current_window(now)
        if window.count >= window.limit:
            raise self.exhausted(now, tier=tier)
        return attrs.evolve(window, count=window.count + 1)

    def refund(self, window: datetime) -> Quota:
        """Give back one unit charged in the window ending at ``window``; a unit from a
        window that has since ended went with it."""
        if window == self.reset_at and self.count > 0:
            return attrs.evolve(self, count=self.count - 1)
        return self

    def with_limit(self, limit: int) -> Quota:
        """A tier change sets the limit at once and never lowers the count."""
        return attrs.evolve(self, limit=limit)

    def used(self, now: datetime) -> int:
        return self.current_window(now).count

    def remaining(self, now: datetime) -> int:
        window = self.current_window(now)
        return max(window.limit - window.count, 0)
