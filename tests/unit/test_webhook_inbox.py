"""The webhook inbox on the in-memory store with the fake gateways: store once, process,
duplicates, unknown types, failures and replay, Stripe subscription sync, Clerk users."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from repurposeflow.adapters.billing import FakeBillingGateway
from repurposeflow.adapters.billing.stripe import subscription_snapshot
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.identity import FakeIdentityVerifier
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.enums import Tier
from repurposeflow.domain.errors import (
    NotConfigured,
    NotFound,
    UserDeleted,
    WebhookRejected,
)
from repurposeflow.domain.webhooks import WebhookOutcome
from repurposeflow.services.users import ensure_user
from repurposeflow.services.webhooks import WebhookInbox
from tests import clerk_events, stripe_events
from tests.stripe_events import PRICES, body, event, subscription

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
T0 = 1_773_000_000


class World:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock(NOW)
        self.billing = FakeBillingGateway()
        self.identity = FakeIdentityVerifier()
        self.inbox = WebhookInbox(
            self.store.uow, self.clock, billing=self.billing, identity=self.identity
        )

    def user(self, clerk: str = "user_1") -> Any:
        return next(
            u for u in self.store.users.values() if u.clerk_user_id == clerk and not u.deleted_at
        )

    def add_user(self, clerk: str = "user_1") -> Any:
        return ensure_user(
            self.store.uow(), self.clock, clerk_user_id=clerk, email=f"{clerk}@example.com"
        )

    def stripe(self, payload: dict[str, Any], *, timestamp: int | None = None) -> Any:
        raw = body(payload)
        return self.inbox.receive(
            "stripe", raw, {"Stripe-Signature": self.billing.sign(raw, timestamp)}
        )

    def clerk(self, payload: dict[str, Any], *, message_id: str | None = None) -> Any:
        raw = json.dumps(payload).encode()
        return self.inbox.receive(
            "clerk", raw, self.identity.sign_webhook(raw, message_id=message_id)
        )

    def sub_event(self, n: int, created: int, **kw: Any) -> dict[str, Any]:
        kw.setdefault("customer", "cus_1")
        kw.setdefault("price", PRICES["pro"])
        kw.setdefault("clerk_user_id", "user_1")
        event_type = kw.pop("type", "customer.subscription.updated")
        obj = subscription(kw.pop("sub_id", "sub_1"), **kw)
        return event(f"evt_{n}", event_type, created, obj)


@pytest.fixture
def world() -> World:
    return World()


def put_current(world: World, payload: dict[str, Any]) -> None:
    snapshot = subscription_snapshot(payload["data"]["object"], world.billing.prices.values())
    assert snapshot is not None
    world.billing.put_subscription(snapshot)


# --- the inbox ---------------------------------------------------------------------------------


def test_a_valid_event_is_stored_processed_and_upgrades_the_plan(world):
    world.add_user()
    receipt = world.stripe(world.sub_event(1, T0, type="customer.subscription.created"))
    assert receipt.outcome is WebhookOutcome.PROCESSED, receipt.error
    user = world.user()
    assert (user.subscription_tier, user.subscription_status) == (Tier.PRO, "active")
    assert user.generations_limit == 500
    assert user.stripe_customer_id == "cus_1"
    assert user.stripe_subscription_id == "sub_1"
    assert user.subscription_current_period_end == datetime.fromtimestamp(
        1_770_000_000 + 30 * 86400, UTC
    )
    stored = world.store.webhook_events["evt_1"]
    assert stored.processed and stored.source == "stripe"
    assert stored.event_type == "customer.subscription.created"
    sub = world.store.subscriptions["sub_1"]
    assert sub.last_event_created == datetime.fromtimestamp(T0, UTC)
    assert (sub.tier, sub.amount_cents, sub.interval) == (Tier.PRO, 1900, "month")


def test_a_duplicate_is_reported_and_changes_nothing(world):
    world.add_user()
    payload = world.sub_event(1, T0)
    world.stripe(payload)
    before = (dict(world.store.users), dict(world.store.subscriptions))
    again = world.stripe(payload)
    assert again.outcome is WebhookOutcome.DUPLICATE
    assert (dict(world.store.users), dict(world.store.subscriptions)) == before
    assert len(world.store.webhook_events) == 1


def test_an_unknown_event_type_is_stored_and_ignored(world):
    receipt = world.stripe(event("evt_x", "customer.tax_id.created", T0, {"id": "txi_1"}))
    assert receipt.outcome is WebhookOutcome.IGNORED
    assert world.store.webhook_events["evt_x"].processed
    assert world.store.subscriptions == {}


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "stale", "no header", "bad json", "not an event", "garbage header"],
)
def test_bad_deliveries_are_rejected_and_nothing_is_stored(world, tamper):
    world.add_user()
    raw = body(world.sub_event(1, T0))
    headers = {"Stripe-Signature": world.billing.sign(raw)}
    if tamper == "body":
        raw = raw.replace(b"price_pro_monthly", b"price_business_monthly")
    elif tamper == "secret":
        headers = {"Stripe-Signature": world.billing.sign(raw, secret="whsec_other")}
    elif tamper == "stale":
        headers = {"Stripe-Signature": world.billing.sign(raw, int(time.time()) - 301)}
    elif tamper == "no header":
        headers = {}
    elif tamper == "bad json":
        raw = b'{"id": "evt_1", "type": '
        headers = {"Stripe-Signature": world.billing.sign(raw)}
    elif tamper == "not an event":
        raw = b'["evt_1"]'
        headers = {"Stripe-Signature": world.billing.sign(raw)}
    elif tamper == "garbage header":
        headers = {"Stripe-Signature": "t=abc,v1=zz"}
    before = dict(world.store.users)
    with pytest.raises(WebhookRejected) as info:
        world.inbox.receive("stripe", raw, headers)
    assert info.value.message.startswith("Stripe webhook rejected:")
    assert world.store.webhook_events == {}
    assert dict(world.store.users) == before


def test_without_a_gateway_the_inbox_says_what_to_configure(world):
    inbox = WebhookInbox(world.store.uow, world.clock)
    with pytest.raises(NotConfigured, match="STRIPE_WEBHOOK_SECRET"):
        inbox.receive("stripe", b"{}", {})
    with pytest.raises(NotConfigured, match="CLERK_WEBHOOK_SIGNING_SECRET"):
        inbox.receive("clerk", b"{}", {})


def test_a_failure_is_kept_with_its_error_and_replay_applies_it(world):
    # The subscription arrives before the user exists (Clerk's webhook is late).
    receipt = world.stripe(world.sub_event(1, T0))
    assert receipt.outcome is WebhookOutcome.FAILED
    assert "user_1" in (receipt.error or "")
    stored = world.store.webhook_events["evt_1"]
    assert not stored.processed and stored.retry_count == 1 and stored.error_message
    assert world.inbox.replay(failed_only=True)[0].outcome is WebhookOutcome.FAILED
    assert world.store.webhook_events["evt_1"].retry_count == 2

    world.add_user()
    [replayed] = world.inbox.replay(failed_only=True)
    assert replayed.outcome is WebhookOutcome.PROCESSED
    stored = world.store.webhook_events["evt_1"]
    assert stored.processed and stored.error_message is None
    assert world.user().subscription_tier is Tier.PRO
    assert world.inbox.replay(failed_only=True) == []


def test_replay_of_everything_is_idempotent(world):
    world.add_user()
    first = world.sub_event(1, T0, type="customer.subscription.created")
    second = world.sub_event(2, T0 + 60, price=PRICES["business"])
    world.stripe(first)
    world.stripe(second)
    put_current(world, second)
    before = (dict(world.store.users), world.store.subscriptions["sub_1"])
    receipts = world.inbox.replay()
    assert [r.outcome for r in receipts] == [WebhookOutcome.PROCESSED] * 2
    assert (dict(world.store.users), world.store.subscriptions["sub_1"]) == before
    assert [r.event_id for r in world.inbox.replay(event_id="evt_2")] == ["evt_2"]
    with pytest.raises(NotFound):
        world.inbox.replay(event_id="evt_nope")


def test_an_unknown_price_is_a_clear_failure_that_changes_nothing(world):
    world.add_user()
    receipt = world.stripe(world.sub_event(1, T0, price="price_somebody_elses"))
    assert receipt.outcome is WebhookOutcome.FAILED
    assert "price_somebody_elses" in (receipt.error or "")
    assert world.user().subscription_tier is Tier.FREE
    assert world.store.subscriptions == {}


def test_recent_lists_newest_first(world):
    world.add_user()
    for n in range(3):
        world.clock.set(NOW.replace(minute=n))
        world.stripe(world.sub_event(n, T0 + n))
    assert [e.event_id for e in world.inbox.recent(limit=2)] == ["evt_2", "evt_1"]


# --- the ordering rule -------------------------------------------------------------------------


def test_an_older_event_never_overwrites_newer_state(world):
    world.add_user()
    world.stripe(world.sub_event(2, T0 + 10, price=PRICES["business"]))
    world.stripe(world.sub_event(1, T0, price=PRICES["pro"]))
    assert world.user().subscription_tier is Tier.BUSINESS
    assert world.store.subscriptions["sub_1"].last_event_created == datetime.fromtimestamp(
        T0 + 10, UTC
    )
    assert world.billing.fetches == []


def test_a_tie_fetches_the_current_state(world):
    world.add_user()
    business = world.sub_event(2, T0, price=PRICES["business"])
    put_current(world, business)
    world.stripe(business)
    world.stripe(world.sub_event(1, T0, price=PRICES["pro"]))  # same second, stale copy
    assert world.billing.fetches == ["sub_1"]
    assert world.user().subscription_tier is Tier.BUSINESS


def test_invoice_and_checkout_events_apply_the_fetched_subscription(world):
    world.add_user()
    current = world.sub_event(9, T0, status="past_due")
    put_current(world, current)
    inv = stripe_events.invoice("in_1", customer="cus_1", sub_id="sub_1", paid=False)
    assert world.stripe(event("evt_inv", "invoice.payment_failed", T0, inv)).outcome == "processed"
    user = world.user()
    # past_due keeps the paid tier while Stripe retries
    assert (user.subscription_tier, user.subscription_status) == (Tier.PRO, "past_due")
    assert user.effective_tier is Tier.PRO and user.generations_limit == 500

    put_current(world, world.sub_event(10, T0 + 5))
    cs = stripe_events.checkout_session(
        "cs_1", customer="cus_1", sub_id="sub_1", clerk_user_id="user_1"
    )
    world.stripe(event("evt_cs", "checkout.session.completed", T0 + 5, cs))
    assert world.user().subscription_status == "active"


@pytest.mark.parametrize("status", ["canceled", "unpaid", "incomplete_expired"])
def test_lapsed_statuses_give_free_and_never_lower_the_count(world, status):
    world.add_user()
    world.stripe(world.sub_event(1, T0))
    world.store.users[world.user().id] = world.user().with_quota(world.user().quota.with_limit(500))
    from attrs import evolve

    world.store.users[world.user().id] = evolve(world.user(), generations_count_current_month=42)
    world.stripe(world.sub_event(2, T0 + 1, status=status, type="customer.subscription.deleted"))
    user = world.user()
    assert (user.subscription_tier, user.subscription_status) == (Tier.FREE, status)
    assert user.generations_limit == 10
    assert user.generations_count_current_month == 42


def test_cancel_at_period_end_keeps_the_tier_until_stripe_ends_it(world):
    world.add_user()
    world.stripe(world.sub_event(1, T0))
    world.stripe(world.sub_event(2, T0 + 1, cancel_at_period_end=True))
    assert world.user().subscription_tier is Tier.PRO
    assert world.store.subscriptions["sub_1"].cancel_at_period_end
    world.stripe(
        world.sub_event(3, T0 + 2, status="canceled", type="customer.subscription.deleted")
    )
    assert world.user().effective_tier is Tier.FREE


def test_a_user_with_several_subscriptions_takes_the_best_live_one(world):
    world.add_user()
    world.stripe(world.sub_event(1, T0, sub_id="sub_a", price=PRICES["pro"]))
    world.stripe(world.sub_event(2, T0, sub_id="sub_b", price=PRICES["business"]))
    assert world.user().subscription_tier is Tier.BUSINESS
    world.stripe(
        world.sub_event(3, T0 + 1, sub_id="sub_b", price=PRICES["business"], status="canceled")
    )
    user = world.user()
    assert (user.subscription_tier, user.stripe_subscription_id) == (Tier.PRO, "sub_a")


def test_a_subscription_finds_its_user_by_customer_without_metadata(world):
    world.add_user()
    world.stripe(world.sub_event(1, T0))  # links cus_1 to user_1
    world.stripe(
        world.sub_event(2, T0, sub_id="sub_2", clerk_user_id=None, price=PRICES["business"])
    )
    assert world.user().subscription_tier is Tier.BUSINESS


# --- Clerk ------------------------------------------------------------------------------------


def test_clerk_create_update_delete_and_sign_up_again(world):
    created = clerk_events.user_event(
        "user.created", "user_a", email="ann@example.com", first_name="Ann", last_name="Lee"
    )
    assert world.clerk(created).outcome is WebhookOutcome.PROCESSED
    ann = world.user("user_a")
    assert (ann.email, ann.full_name, ann.subscription_tier) == (
        "ann@example.com",
        "Ann Lee",
        "free",
    )

    world.clerk(
        clerk_events.user_event("user.updated", "user_a", email="ann@new.example", first_name="Ann")
    )
    assert (world.user("user_a").email, world.user("user_a").full_name) == (
        "ann@new.example",
        "Ann",
    )

    world.clerk(clerk_events.user_event("user.deleted", "user_a"))
    assert world.store.users[ann.id].deleted_at == NOW
    from repurposeflow.adapters.engines.scripted import ScriptedEngine
    from repurposeflow.services.repurpose import RepurposeRequest, repurpose

    with pytest.raises((UserDeleted, NotFound)):
        repurpose(
            world.store.uow(), ScriptedEngine(), world.clock,
            RepurposeRequest(clerk_user_id="user_a", text="Some text to repurpose. " * 5),
        )  # fmt: skip

    # A late update must not bring the deleted account back.
    late = clerk_events.user_event("user.updated", "user_a", email="ann@new.example")
    assert world.clerk(late).outcome is WebhookOutcome.PROCESSED
    assert all(u.deleted_at for u in world.store.users.values())

    # Signing up again with the same email gives a new Clerk id and a fresh account.
    again = clerk_events.user_event("user.created", "user_b", email="ann@new.example")
    assert world.clerk(again).outcome is WebhookOutcome.PROCESSED
    assert world.user("user_b").email == "ann@new.example"


def test_clerk_email_held_by_another_live_user_is_a_clear_failure(world):
    world.clerk(clerk_events.user_event("user.created", "user_a", email="same@example.com"))
    receipt = world.clerk(
        clerk_events.user_event("user.created", "user_b", email="SAME@example.com")
    )
    assert receipt.outcome is WebhookOutcome.FAILED
    assert "email" in (receipt.error or "")
    assert [u.clerk_user_id for u in world.store.users.values()] == ["user_a"]


def test_clerk_webhook_headers_in_either_family_and_rejections(world):
    raw = json.dumps(
        clerk_events.user_event("user.created", "user_a", email="a@example.com")
    ).encode()
    svix = world.identity.sign_webhook(raw, message_id="msg_1")
    standard = {k.replace("svix-", "webhook-"): v for k, v in svix.items()}
    assert world.inbox.receive("clerk", raw, standard).outcome is WebhookOutcome.PROCESSED
    assert world.inbox.receive("clerk", raw, svix).outcome is WebhookOutcome.DUPLICATE
    stale = world.identity.sign_webhook(raw, message_id="msg_2", timestamp=int(time.time()) - 400)
    for headers in (stale, {}, {**svix, "svix-id": "msg_3"}):
        with pytest.raises(WebhookRejected, match="Clerk webhook rejected"):
            world.inbox.receive("clerk", raw, headers)
    assert list(world.store.webhook_events) == ["msg_1"]
