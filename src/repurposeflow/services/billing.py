"""Paying for a plan: checkout and portal sessions, and the subscription sync that keeps
each user's plan equal to what the billing provider says, whatever order and however
many times its events arrive.

The ordering rule: per subscription, keep ``last_event_created`` (the newest event time
applied). An older event never overwrites newer state; an event with the same time
cannot be ordered, so the current state is fetched through the gateway and applied.
Events that do not carry the subscription (checkout, invoices) are applied with a fresh
fetch too. The user's plan is then recomputed from all of their subscriptions
(``domain.billing.plan_for``) and written with ``set_plan``, which never lowers the count.
"""

from __future__ import annotations

from datetime import datetime

from repurposeflow.domain.billing import Freshness, freshness, latest, plan_for
from repurposeflow.domain.enums import BillingInterval, Tier
from repurposeflow.domain.errors import InvalidInput, UserNotFound
from repurposeflow.domain.external import (
    BillingEvent,
    BillingEventKind,
    CheckoutSession,
    SubscriptionSnapshot,
)
from repurposeflow.domain.model import Subscription, User, new_id
from repurposeflow.domain.ports import BillingGateway, UnitOfWork
from repurposeflow.domain.quota import limit_for
from repurposeflow.services.users import require_user


def start_checkout(
    uow: UnitOfWork,
    gateway: BillingGateway,
    clerk_user_id: str,
    *,
    tier: str | Tier,
    interval: str | BillingInterval = BillingInterval.MONTH,
    success_url: str,
    cancel_url: str,
) -> CheckoutSession:
    """A hosted checkout for a paid tier. The plan changes only when the provider's
    events say the subscription is live, never here."""
    tier = Tier.parse(tier)
    interval = BillingInterval.parse(interval)
    if tier is Tier.FREE:
        raise InvalidInput("The free plan needs no checkout; choose pro or business.")
    with uow:
        user = require_user(uow, clerk_user_id)
    return gateway.create_checkout_session(
        user_ref=user.clerk_user_id,
        customer_email=user.email,
        stripe_customer_id=user.stripe_customer_id,
        tier=tier,
        interval=interval,
        success_url=success_url,
        cancel_url=cancel_url,
    )


def open_portal(
    uow: UnitOfWork, gateway: BillingGateway, clerk_user_id: str, *, return_url: str
) -> str:
    """The billing portal, where a subscriber changes plan, card or cancels."""
    with uow:
        user = require_user(uow, clerk_user_id)
    if not user.stripe_customer_id:
        raise InvalidInput(
            "You have no billing account yet: subscribe first (repurposeflow billing checkout)."
        )
    return gateway.create_portal_session(
        stripe_customer_id=user.stripe_customer_id, return_url=return_url
    )


# --- subscription sync ----------------------------------------------------------------------


def needs_fetch(event: BillingEvent) -> bool:
    """Events that name a subscription without carrying its state."""
    return event.subscription is None and event.stripe_subscription_id is not None


def _find_user(uow: UnitOfWork, event: BillingEvent, snapshot: SubscriptionSnapshot) -> User:
    """By the user the checkout wrote into the subscription, else by the customer, else
    by the user the subscription already belongs to."""
    for clerk_id in (snapshot.clerk_user_id, event.clerk_user_id):
        if clerk_id:
            user = uow.users.get_by_clerk_id(clerk_id)
            if user is not None:
                return user
    for customer in (snapshot.stripe_customer_id, event.stripe_customer_id):
        if customer:
            user = uow.users.get_by_stripe_customer(customer)
            if user is not None:
                return user
    existing = uow.subscriptions.get_by_stripe_id(snapshot.stripe_subscription_id)
    if existing is not None:
        user = uow.users.get(existing.user_id)
        if user is not None and not user.is_deleted:
            return user
    who = snapshot.clerk_user_id or event.clerk_user_id or snapshot.stripe_customer_id
    raise UserNotFound(f"for subscription {snapshot.stripe_subscription_id} ({who})")


def apply_billing_event(
    uow: UnitOfWork,
    gateway: BillingGateway,
    event: BillingEvent,
    *,
    now: datetime,
    fetched: SubscriptionSnapshot | None = None,
) -> str:
    """Apply one event inside the caller's open unit of work; returns what happened (for
    the inbox's log). ``fetched`` is the current state for an event that lacks it."""
    if event.kind is BillingEventKind.IGNORED:
        return "ignored"
    snapshot = event.subscription or fetched
    if snapshot is None:
        if event.stripe_subscription_id is None:
            return "no subscription in the event"
        snapshot = gateway.fetch_subscription(event.stripe_subscription_id)
    found = _find_user(uow, event, snapshot)
    user = uow.users.get_for_update(found.id)  # one plan change per user at a time
    assert user is not None
    existing = uow.subscriptions.get_by_stripe_id(snapshot.stripe_subscription_id)
    last = existing.last_event_created if existing else None
    order = freshness(event.created, last)
    if order is Freshness.OLDER:
        return "older than the state applied"
    if order is Freshness.SAME and event.subscription is not None:
        snapshot = gateway.fetch_subscription(snapshot.stripe_subscription_id)
    tier = gateway.tier_for_price(snapshot.stripe_price_id)
    uow.subscriptions.upsert(
        Subscription(
            id=existing.id if existing else new_id(),
            user_id=user.id,
            stripe_subscription_id=snapshot.stripe_subscription_id,
            stripe_customer_id=snapshot.stripe_customer_id,
            stripe_price_id=snapshot.stripe_price_id,
            tier=tier,
            status=snapshot.status,
            current_period_start=snapshot.current_period_start,
            current_period_end=snapshot.current_period_end,
            amount_cents=snapshot.amount_cents,
            currency=snapshot.currency,
            interval=snapshot.interval,
            cancel_at_period_end=snapshot.cancel_at_period_end,
            canceled_at=snapshot.canceled_at,
            trial_start=snapshot.trial_start,
            trial_end=snapshot.trial_end,
            last_event_created=latest(last, event.created),
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
    )
    sync_plan(uow, user)
    return "applied" if order is Freshness.NEWER else "applied the fetched state (same second)"


def sync_plan(uow: UnitOfWork, user: User) -> None:
    """Write the plan the user's subscriptions give (the limit follows at once; the
    count is never touched)."""
    plan = plan_for(uow.subscriptions.list_for_user(user.id))
    if plan is None:
        return
    uow.users.set_plan(
        user.id,
        tier=plan.tier,
        status=plan.status,
        limit=limit_for(plan.tier),
        stripe_customer_id=plan.stripe_customer_id or user.stripe_customer_id,
        stripe_subscription_id=plan.stripe_subscription_id,
        current_period_end=plan.current_period_end,
    )


__all__ = [
    "apply_billing_event",
    "needs_fetch",
    "open_portal",
    "start_checkout",
    "sync_plan",
]
