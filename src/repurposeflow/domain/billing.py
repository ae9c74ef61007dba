"""The billing rules: in which order a provider's subscription events apply, and which
plan a user's subscriptions give. (What the provider hands us is in ``external``.)"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from repurposeflow.domain.enums import SubscriptionStatus, Tier
from repurposeflow.domain.model import Subscription
from repurposeflow.domain.quota import effective_tier

# --- ordering -----------------------------------------------------------------------------


class Freshness(enum.Enum):
    NEWER = "newer"
    SAME = "same"
    OLDER = "older"


def freshness(event_created: datetime, last_applied: datetime | None) -> Freshness:
    """How an event's time compares with the newest event already applied to its
    subscription. Providers deliver at least once, in any order, with one-second times:
    OLDER never overwrites, SAME cannot be ordered (fetch the current state instead)."""
    if last_applied is None or event_created > last_applied:
        return Freshness.NEWER
    if event_created == last_applied:
        return Freshness.SAME
    return Freshness.OLDER


def latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


# --- plan ---------------------------------------------------------------------------------

_TIER_RANK = {Tier.FREE: 0, Tier.PRO: 1, Tier.BUSINESS: 2}
_STATUS_RANK = {
    SubscriptionStatus.ACTIVE: 3,
    SubscriptionStatus.TRIALING: 2,
    SubscriptionStatus.PAST_DUE: 1,
}


@attrs.frozen
class Plan:
    """What the users row should say: tier and status, and the subscription behind them."""

    tier: Tier
    status: SubscriptionStatus
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    current_period_end: datetime | None


def plan_for(subscriptions: Iterable[Subscription]) -> Plan | None:
    """The plan a user's subscriptions give: the best live one (highest tier, then
    active over trialing over past_due, then the later period end). With none live,
    free, showing the most recent lapsed subscription's status. None: no subscriptions.

    past_due stays live (the provider is still retrying the payment); canceled, unpaid,
    incomplete, incomplete_expired and paused give free. A subscription set to cancel at
    the period end is still active until the provider ends it.
    """
    subs = list(subscriptions)
    if not subs:
        return None
    live = [s for s in subs if effective_tier(s.tier, s.status) is not Tier.FREE]
    if live:
        best = max(
            live,
            key=lambda s: (
                _TIER_RANK[Tier(s.tier)],
                _STATUS_RANK.get(SubscriptionStatus(s.status), 0),
                s.current_period_end,
                s.stripe_subscription_id,
            ),
        )
        tier = Tier(best.tier)
    else:
        best = max(subs, key=lambda s: (s.current_period_end, s.stripe_subscription_id))
        tier = Tier.FREE
    return Plan(
        tier=tier,
        status=SubscriptionStatus(best.status),
        stripe_customer_id=best.stripe_customer_id,
        stripe_subscription_id=best.stripe_subscription_id,
        current_period_end=best.current_period_end,
    )
