"""The Stripe gateway on the real SDK: sessions and lookups against a local stand-in of
Stripe's API, and webhook verification with signatures computed here."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from repurposeflow.adapters.billing.stripe import StripeBillingGateway, StripeSettings
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.enums import BillingInterval, SubscriptionStatus, Tier
from repurposeflow.domain.errors import (
    BillingUnavailable,
    InvalidInput,
    NotConfigured,
    UnknownPrice,
    WebhookRejected,
)
from repurposeflow.domain.external import BillingEventKind
from repurposeflow.domain.webhooks import WebhookOutcome
from repurposeflow.services import billing
from repurposeflow.services.users import change_tier, ensure_user
from repurposeflow.services.webhooks import WebhookInbox
from tests.stripe_events import body, event, stripe_signature, subscription
from tests.stripe_server import StripeStandIn, stripe_stand_in

SECRET = "whsec_test_secret"
PRICES = {
    (Tier.PRO, BillingInterval.MONTH): "price_pro_monthly",
    (Tier.PRO, BillingInterval.YEAR): "price_pro_yearly",
    (Tier.BUSINESS, BillingInterval.MONTH): "price_business_monthly",
}


@pytest.fixture
def stand_in() -> Iterator[StripeStandIn]:
    with stripe_stand_in() as server:
        yield server


@pytest.fixture
def gateway(stand_in: StripeStandIn) -> StripeBillingGateway:
    return StripeBillingGateway(
        StripeSettings(
            secret_key="sk_test_123",
            webhook_secret=SECRET,
            prices=PRICES,
            api_base=stand_in.url,
            max_network_retries=0,
        )
    )


def test_checkout_names_the_user_and_uses_the_tier_price(gateway, stand_in, clock):
    store = MemoryStore()
    ensure_user(store.uow(), clock, clerk_user_id="user_1", email="ann@example.com")
    session = billing.start_checkout(
        store.uow(),
        gateway,
        "user_1",
        tier="pro",
        interval="yearly",
        success_url="https://app.test/ok",
        cancel_url="https://app.test/no",
    )
    assert session.url.startswith("https://checkout.stripe.com/c/pay/")
    method, path, form, headers = stand_in.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["authorization"] == "Bearer sk_test_123"
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == "price_pro_yearly"
    assert form["client_reference_id"] == "user_1"
    assert form["subscription_data[metadata][clerk_user_id]"] == "user_1"
    assert form["customer_email"] == "ann@example.com"
    assert "customer" not in form


def test_checkout_reuses_the_customer_and_refuses_free(gateway, stand_in, clock):
    store = MemoryStore()
    ensure_user(store.uow(), clock, clerk_user_id="user_1", email="ann@example.com")
    change_tier(store.uow(), "user_1", "free", stripe_customer_id="cus_9")
    billing.start_checkout(
        store.uow(), gateway, "user_1", tier="business", success_url="s", cancel_url="c"
    )
    form = stand_in.requests[-1][2]
    assert form["customer"] == "cus_9" and "customer_email" not in form
    assert form["line_items[0][price]"] == "price_business_monthly"
    with pytest.raises(InvalidInput, match="free plan"):
        billing.start_checkout(
            store.uow(), gateway, "user_1", tier="free", success_url="s", cancel_url="c"
        )
    with pytest.raises(NotConfigured, match="REPURPOSEFLOW_STRIPE_PRICE_BUSINESS_YEARLY"):
        billing.start_checkout(
            store.uow(), gateway, "user_1", tier="business", interval="year",
            success_url="s", cancel_url="c",
        )  # fmt: skip


def test_portal_needs_a_customer(gateway, stand_in, clock):
    store = MemoryStore()
    ensure_user(store.uow(), clock, clerk_user_id="user_1", email="ann@example.com")
    with pytest.raises(InvalidInput, match="subscribe first"):
        billing.open_portal(store.uow(), gateway, "user_1", return_url="https://app.test")
    change_tier(store.uow(), "user_1", "free", stripe_customer_id="cus_9")
    url = billing.open_portal(store.uow(), gateway, "user_1", return_url="https://app.test")
    assert url == "https://billing.stripe.com/p/session/test_1"
    assert stand_in.requests[-1][2] == {"customer": "cus_9", "return_url": "https://app.test"}


def test_fetch_reads_the_period_from_the_items(gateway, stand_in):
    stand_in.subscriptions["sub_1"] = subscription(
        "sub_1", customer="cus_1", price="price_pro_monthly", status="trialing",
        clerk_user_id="user_1", trial_start=1_770_000_000, trial_end=1_771_000_000,
    )  # fmt: skip
    snap = gateway.fetch_subscription("sub_1")
    assert (snap.status, snap.stripe_price_id, snap.clerk_user_id) == (
        SubscriptionStatus.TRIALING,
        "price_pro_monthly",
        "user_1",
    )
    assert snap.current_period_end.timestamp() == 1_770_000_000 + 30 * 86400
    assert snap.trial_end is not None and snap.amount_cents == 1900
    with pytest.raises(BillingUnavailable, match="No such subscription"):
        gateway.fetch_subscription("sub_missing")


def test_older_api_versions_keep_the_period_on_the_subscription(gateway):
    obj = subscription("sub_1", customer="cus_1", price="price_pro_monthly")
    item = obj["items"]["data"][0]
    obj["current_period_start"] = item.pop("current_period_start")
    obj["current_period_end"] = item.pop("current_period_end")
    read = gateway.read_event(event("evt_1", "customer.subscription.updated", 1, obj))
    assert read.kind is BillingEventKind.SUBSCRIPTION_CHANGED
    assert read.subscription is not None
    assert read.subscription.current_period_end.timestamp() == obj["current_period_end"]
    legacy_invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "subscription": "sub_1",
    }
    assert (
        gateway.read_event(event("e", "invoice.paid", 1, legacy_invoice)).stripe_subscription_id
        == "sub_1"
    )


def test_tier_for_price(gateway):
    assert gateway.tier_for_price("price_pro_yearly") is Tier.PRO
    with pytest.raises(UnknownPrice, match="price_x"):
        gateway.tier_for_price("price_x")


def test_stripe_errors_become_one_clear_domain_error(gateway, stand_in):
    stand_in.fail_with = (
        401,
        {
            "error": {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided: sk_test_***123",
            }
        },
    )
    with pytest.raises(BillingUnavailable, match="Invalid API Key"):
        gateway.create_portal_session(stripe_customer_id="cus_1", return_url="r")


def test_a_slow_stripe_is_a_clear_error_after_the_timeout(stand_in):
    gateway = StripeBillingGateway(
        StripeSettings(
            secret_key="sk_test_1", api_base=stand_in.url, max_network_retries=0,
            timeout_seconds=0.2,
        )
    )  # fmt: skip
    stand_in.delay_seconds = 1.0
    with pytest.raises(BillingUnavailable, match="Stripe could not fetch subscription sub_1"):
        gateway.fetch_subscription("sub_1")


# --- webhooks -----------------------------------------------------------------------------------


@pytest.fixture
def inbox(gateway):
    store = MemoryStore()
    clock = ManualClock()
    ensure_user(store.uow(), clock, clerk_user_id="user_1", email="ann@example.com")
    return store, WebhookInbox(store.uow, clock, billing=gateway)


def _payload() -> bytes:
    obj = subscription("sub_1", customer="cus_1", price="price_pro_monthly", clerk_user_id="user_1")
    return body(event("evt_1", "customer.subscription.created", int(time.time()), obj))


def test_a_valid_signature_is_accepted(inbox):
    store, box = inbox
    raw = _payload()
    receipt = box.receive("stripe", raw, {"stripe-signature": stripe_signature(raw, SECRET)})
    assert receipt.outcome is WebhookOutcome.PROCESSED, receipt.error
    assert next(iter(store.users.values())).subscription_tier is Tier.PRO


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("tampered body", "does not match"),
        ("wrong secret", "does not match"),
        ("stale timestamp", "more than 300 s old"),
        ("missing header", "no Stripe-Signature header"),
        ("malformed json", "not JSON"),
        ("no event id", "no id or type"),
        ("forged utf-16 body", "not UTF-8"),
        ("non-ascii signature", "could not be checked|does not match"),
        ("signed utf-16 body", "not UTF-8"),
    ],
)
def test_bad_deliveries_are_rejected_with_nothing_stored(inbox, case, message):
    store, box = inbox
    raw = _payload()
    sign = {"Stripe-Signature": stripe_signature(raw, SECRET)}
    if case == "tampered body":
        raw = raw.replace(b"price_pro_monthly", b"price_business_monthly")
    elif case == "wrong secret":
        sign = {"Stripe-Signature": stripe_signature(raw, "whsec_wrong")}
    elif case == "stale timestamp":
        sign = {"Stripe-Signature": stripe_signature(raw, SECRET, int(time.time()) - 301)}
    elif case == "missing header":
        sign = {}
    elif case == "malformed json":
        raw = raw[:-5]
        sign = {"Stripe-Signature": stripe_signature(raw, SECRET)}
    elif case == "no event id":
        raw = b'{"object": "event", "type": "invoice.paid", "created": 1}'
        sign = {"Stripe-Signature": stripe_signature(raw, SECRET)}
    elif case == "forged utf-16 body":
        # A forged upgrade in UTF-16 with a made-up signature: once accepted as signed.
        raw = raw.replace(b"price_pro_monthly", b"price_business_monthly")
        raw = raw.decode().encode("utf-16")
        sign = {"Stripe-Signature": f"t={int(time.time())},v1=" + "0" * 64}
    elif case == "non-ascii signature":
        sign = {"Stripe-Signature": f"t={int(time.time())},v1=\u00e9\u00e9"}
    elif case == "signed utf-16 body":
        raw = raw.decode().encode("utf-16")
        sign = {"Stripe-Signature": f"t={int(time.time())},v1=" + "0" * 64}
    users_before = dict(store.users)
    with pytest.raises(WebhookRejected, match=message):
        box.receive("stripe", raw, sign)
    assert store.webhook_events == {}
    assert store.users == users_before


def test_a_validly_signed_unknown_type_is_stored_and_ignored(inbox):
    store, box = inbox
    raw = body(event("evt_9", "radar.early_fraud_warning.created", int(time.time()), {"id": "x"}))
    receipt = box.receive("stripe", raw, {"Stripe-Signature": stripe_signature(raw, SECRET)})
    assert receipt.outcome is WebhookOutcome.IGNORED
    assert store.webhook_events["evt_9"].processed


def test_webhooks_need_the_secret(stand_in):
    gateway = StripeBillingGateway(StripeSettings(secret_key="sk_test_1", api_base=stand_in.url))
    with pytest.raises(NotConfigured, match="STRIPE_WEBHOOK_SECRET"):
        gateway.verify_webhook(b"{}", {"Stripe-Signature": "t=1,v1=00"})
