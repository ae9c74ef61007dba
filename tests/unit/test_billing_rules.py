"""The plan a user's subscriptions give (domain.billing.plan_for)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from repurposeflow.domain.billing import plan_for
from repurposeflow.domain.enums import SubscriptionStatus, Tier
from repurposeflow.domain.model import Subscription

T = datetime(2026, 3, 1, tzinfo=UTC)
USER = uuid.uuid4()


def sub(sub_id: str, tier: str, status: str, days: int = 30) -> Subscription:
    return Subscription(
        id=uuid.uuid4(),
        user_id=USER,
        stripe_subscription_id=sub_id,
        stripe_customer_id="cus_1",
        stripe_price_id=f"price_{tier}",
        tier=Tier(tier),
        status=SubscriptionStatus(status),
        current_period_start=T,
        current_period_end=T + timedelta(days=days),
        amount_cents=100,
        interval="month",
        created_at=T,
    )


def test_no_subscriptions_no_plan():
    assert plan_for([]) is None


@pytest.mark.parametrize(
    ("status", "tier"),
    [
        ("active", Tier.PRO),
        ("trialing", Tier.PRO),
        ("past_due", Tier.PRO),  # kept while Stripe retries
        ("canceled", Tier.FREE),
        ("unpaid", Tier.FREE),
        ("incomplete", Tier.FREE),
        ("incomplete_expired", Tier.FREE),
        ("paused", Tier.FREE),
    ],
)
def test_status_maps_to_tier(status, tier):
    plan = plan_for([sub("sub_1", "pro", status)])
    assert plan is not None
    assert (plan.tier, plan.status, plan.stripe_subscription_id) == (tier, status, "sub_1")


def test_the_best_live_subscription_counts():
    subs = [
        sub("sub_pro", "pro", "active", days=90),
        sub("sub_biz_due", "business", "past_due"),
        sub("sub_biz_old", "business", "canceled", days=200),
    ]
    plan = plan_for(subs)
    assert plan is not None and (plan.tier, plan.stripe_subscription_id) == (
        Tier.BUSINESS,
        "sub_biz_due",
    )
    # Same tier: active beats trialing beats past_due, then the later period end.
    plan = plan_for(
        [
            sub("a", "pro", "past_due", 90),
            sub("b", "pro", "trialing"),
            sub("c", "pro", "active", 10),
        ]
    )
    assert plan is not None and plan.stripe_subscription_id == "c"


def test_with_nothing_live_the_latest_lapsed_one_shows_free():
    plan = plan_for([sub("old", "business", "canceled", 10), sub("new", "pro", "unpaid", 40)])
    assert plan is not None
    assert (plan.tier, plan.status, plan.stripe_subscription_id) == (Tier.FREE, "unpaid", "new")
