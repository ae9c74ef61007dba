"""The ordering rule as a property: any small Stripe history, delivered in any order with
any duplicates, leaves the same plan and subscription rows as in-order delivery, and
those are Stripe's final state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.adapters.billing import FakeBillingGateway
from repurposeflow.adapters.billing.stripe import subscription_snapshot
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.billing import Freshness, freshness, plan_for
from repurposeflow.domain.enums import Tier
from repurposeflow.domain.quota import limit_for
from repurposeflow.domain.webhooks import WebhookOutcome
from repurposeflow.services.users import ensure_user
from repurposeflow.services.webhooks import WebhookInbox
from tests.billing_history import BUSINESS, PRO, PRO_YEARLY, T0
from tests.stripe_events import body, event, invoice, subscription

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
STATUSES = ("active", "trialing", "past_due", "canceled", "unpaid", "incomplete_expired")

step = st.tuples(
    st.sampled_from(("sub_a", "sub_b")),
    st.sampled_from((0, 0, 1, 2)),  # seconds after the previous event: ties are common
    st.sampled_from((PRO, BUSINESS, PRO_YEARLY)),
    st.sampled_from(STATUSES),
    st.booleans(),  # cancel at period end
    st.booleans(),  # also an invoice event (no state: fetched)
)


def _history(
    steps: list[tuple[Any, ...]],
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    events, final, now = [], {}, T0
    for sub_id, gap, price, status, cancel_end, with_invoice in steps:
        now += gap
        obj = subscription(
            sub_id, customer="cus_1", price=price, status=status, start=T0,
            clerk_user_id="user_1", cancel_at_period_end=cancel_end,
        )  # fmt: skip
        final[sub_id] = obj
        events.append(event(f"evt_{len(events)}", "customer.subscription.updated", now, obj))
        if with_invoice:
            inv = invoice(
                f"in_{len(events)}", customer="cus_1", sub_id=sub_id, paid=status == "active"
            )
            events.append(event(f"evt_{len(events)}", "invoice.paid", now, inv))
    return events, final


def _run(
    events: list[dict[str, Any]], final: dict[str, dict[str, Any]], order: list[int]
) -> tuple[Any, ...]:
    store, clock, gateway = MemoryStore(), ManualClock(NOW), FakeBillingGateway()
    for obj in final.values():
        snapshot = subscription_snapshot(obj, gateway.prices.values())
        assert snapshot is not None
        gateway.put_subscription(snapshot)
    ensure_user(store.uow(), clock, clerk_user_id="user_1", email="ann@example.com")
    inbox = WebhookInbox(store.uow, clock, billing=gateway)
    for i in order:
        raw = body(events[i])
        receipt = inbox.receive("stripe", raw, {"Stripe-Signature": gateway.sign(raw)})
        assert receipt.outcome is not WebhookOutcome.FAILED, receipt.error
    user = next(iter(store.users.values()))
    subs = {
        k: (s.status, s.stripe_price_id, s.cancel_at_period_end, s.last_event_created)
        for k, s in store.subscriptions.items()
    }
    return (
        user.subscription_tier,
        user.subscription_status,
        user.generations_limit,
        user.stripe_subscription_id,
        subs,
    ), store


@given(st.lists(step, min_size=1, max_size=8), st.data())
def test_any_order_with_duplicates_converges_on_stripes_final_state(steps, data):
    events, final = _history(steps)
    n = len(events)
    shuffled = data.draw(st.permutations(range(n)))
    duplicates = data.draw(st.lists(st.integers(0, n - 1), max_size=n))
    delivery = data.draw(st.permutations([*shuffled, *duplicates]))

    in_order, _ = _run(events, final, list(range(n)))
    chaotic, store = _run(events, final, list(delivery))
    assert chaotic == in_order

    # ... and that is Stripe's final state, and the plan its subscriptions give.
    for sub_id, obj in final.items():
        row = store.subscriptions[sub_id]
        assert (row.status.value, row.stripe_price_id, row.cancel_at_period_end) == (
            obj["status"], obj["items"]["data"][0]["price"]["id"], obj["cancel_at_period_end"],
        )  # fmt: skip
    plan = plan_for(store.subscriptions.values())
    assert plan is not None
    tier, status, limit, _, _ = chaotic
    assert (tier, status, limit) == (plan.tier, plan.status, limit_for(plan.tier))
    lapsed = {"canceled", "unpaid", "incomplete_expired"}
    if all(obj["status"] in lapsed for obj in final.values()):
        assert tier is Tier.FREE and limit == 10


@given(st.integers(0, 10**9), st.one_of(st.none(), st.integers(0, 10**9)))
def test_freshness_orders_by_created_time(created, last):
    def at(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    result = freshness(at(created), None if last is None else at(last))
    if last is None or created > last:
        assert result is Freshness.NEWER
    elif created == last:
        assert result is Freshness.SAME
    else:
        assert result is Freshness.OLDER
