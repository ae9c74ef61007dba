"""Stripe histories for the ordering tests: what happens to a set of customers over
time, as the events Stripe would send, plus the state Stripe holds at the end.

Times advance by 0-2 seconds between events, so same-second events (ties) happen, as
they do with Stripe's one-second ``created``."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import attrs

from repurposeflow.adapters.billing.fake import DEFAULT_PRICES, FakeBillingGateway
from repurposeflow.adapters.billing.stripe import subscription_snapshot
from repurposeflow.domain.enums import BillingInterval, Tier
from tests import stripe_events
from tests.stripe_events import checkout_session, event, invoice, subscription

PRO = DEFAULT_PRICES[(Tier.PRO, BillingInterval.MONTH)]
PRO_YEARLY = DEFAULT_PRICES[(Tier.PRO, BillingInterval.YEAR)]
BUSINESS = DEFAULT_PRICES[(Tier.BUSINESS, BillingInterval.MONTH)]
T0 = 1_773_000_000
MONTH = 30 * 86400


@attrs.define
class _Sub:
    sub_id: str
    customer: str
    clerk: str
    price: str
    status: str
    start: int
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    trial_start: int | None = None
    trial_end: int | None = None

    def obj(self) -> dict[str, Any]:
        return subscription(
            self.sub_id,
            customer=self.customer,
            price=self.price,
            status=self.status,
            start=self.start,
            end=self.start + MONTH,
            clerk_user_id=self.clerk,
            cancel_at_period_end=self.cancel_at_period_end,
            canceled_at=self.canceled_at,
            trial_start=self.trial_start,
            trial_end=self.trial_end,
        )


@attrs.define
class History:
    events: list[dict[str, Any]]
    final: dict[str, dict[str, Any]]  # subscription id -> Stripe's state at the end
    customers: list[str]  # Clerk user ids

    def gateway(self) -> FakeBillingGateway:
        """A fake Stripe whose subscriptions are in their final state."""
        fake = FakeBillingGateway()
        for obj in self.final.values():
            snapshot = subscription_snapshot(obj, fake.prices.values())
            assert snapshot is not None
            fake.put_subscription(snapshot)
        return fake

    def bodies(self) -> list[bytes]:
        return [stripe_events.body(e) for e in self.events]


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = T0
        self.events: list[dict[str, Any]] = []
        self.final: dict[str, dict[str, Any]] = {}

    def tick(self) -> int:
        self.now += self.rng.choice((0, 1, 1, 2))
        return self.now

    def emit(self, event_type: str, obj: dict[str, Any]) -> None:
        n = len(self.events)
        self.events.append(event(f"evt_{n:05d}", event_type, self.tick(), obj))

    def change(self, sub: _Sub, event_type: str = "customer.subscription.updated") -> None:
        obj = sub.obj()
        self.final[sub.sub_id] = obj
        self.emit(event_type, obj)


def _customer_story(b: _Builder, i: int, steps: int) -> Iterator[None]:
    """One customer's life as a generator: each ``next`` emits one step's events, so
    customers interleave in time."""
    rng = b.rng
    clerk, customer = f"user_{i:03d}", f"cus_{i:03d}"
    generation = 0
    sub: _Sub | None = None
    for _ in range(steps):
        if sub is None or sub.status == "canceled":
            generation += 1
            trial = rng.random() < 0.3
            sub = _Sub(
                f"sub_{i:03d}_{generation}",
                customer,
                clerk,
                rng.choice((PRO, PRO, BUSINESS, PRO_YEARLY)),
                "trialing" if trial else "active",
                b.now,
                trial_start=b.now if trial else None,
                trial_end=b.now + 14 * 86400 if trial else None,
            )
            b.change(sub, "customer.subscription.created")
            b.emit(
                "checkout.session.completed",
                checkout_session(
                    f"cs_{sub.sub_id}", customer=customer, sub_id=sub.sub_id, clerk_user_id=clerk
                ),
            )
            yield
            continue
        action = rng.choice(
            ("upgrade", "downgrade", "fail", "recover", "renew", "cancel_end", "cancel_now")
        )
        if action == "upgrade":
            sub.price, sub.status = BUSINESS, "active"
            b.change(sub)
        elif action == "downgrade":
            sub.price = PRO
            b.change(sub)
        elif action == "fail":
            sub.status = "past_due"
            b.change(sub)
            b.emit(
                "invoice.payment_failed",
                invoice(f"in_{len(b.events)}", customer=customer, sub_id=sub.sub_id, paid=False),
            )
        elif action == "recover" or action == "renew":
            sub.status = "active"
            sub.cancel_at_period_end = False
            b.change(sub)
            b.emit(
                "invoice.paid",
                invoice(f"in_{len(b.events)}", customer=customer, sub_id=sub.sub_id, paid=True),
            )
        elif action == "cancel_end":
            sub.cancel_at_period_end = True
            b.change(sub)
            if rng.random() < 0.5:  # the period ends
                sub.status, sub.canceled_at = "canceled", b.now
                b.change(sub, "customer.subscription.deleted")
        else:
            sub.status, sub.canceled_at = "canceled", b.now
            b.change(sub, "customer.subscription.deleted")
        yield


def make_history(seed: int, customers: int, steps: int) -> History:
    b = _Builder(random.Random(seed))
    stories = [_customer_story(b, i, steps) for i in range(customers)]
    while stories:
        story = b.rng.choice(stories)
        try:
            next(story)
        except StopIteration:
            stories.remove(story)
    # An event type we do not act on, now and then.
    b.emit("customer.updated", {"id": "cus_000", "object": "customer"})
    return History(b.events, b.final, [f"user_{i:03d}" for i in range(customers)])


def deliveries(history: History, seed: int, duplicates: float = 0.3) -> list[bytes]:
    """The history's bodies shuffled, with ``duplicates`` of them delivered twice."""
    rng = random.Random(seed)
    bodies = history.bodies()
    extra = rng.sample(bodies, int(len(bodies) * duplicates))
    out = bodies + extra
    rng.shuffle(out)
    return out
