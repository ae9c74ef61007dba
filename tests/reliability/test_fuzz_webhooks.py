"""Hostile webhook deliveries, correctly signed with test secrets (a leaked secret, or a
provider's bug, gets this far): arbitrary bytes, arbitrary nested JSON, event-shaped
JSON with wrong types, absurd numbers and deep nesting. Verifying either accepts the
delivery or raises WebhookRejected; reading a stored payload either gives an event or
raises InvalidInput. Anything else would be a 500 at the door or a crash in the inbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from svix.webhooks import Webhook

from repurposeflow.adapters.billing.stripe import StripeBillingGateway, StripeSettings
from repurposeflow.adapters.identity.clerk import ClerkIdentityVerifier, ClerkSettings
from repurposeflow.domain.enums import BillingInterval, Tier
from repurposeflow.domain.errors import InvalidInput, WebhookRejected
from repurposeflow.domain.external import BillingEvent, IdentityEvent, VerifiedWebhook
from tests.reliability.conftest import FULL

STRIPE_SECRET = "whsec_fuzz_stripe_test_secret"
CLERK_SECRET = "whsec_" + base64.b64encode(b"clerk-fuzz-signing-secret-32byte").decode()
EXAMPLES = 1000 if FULL else 150
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

STRIPE = StripeBillingGateway(
    StripeSettings(
        secret_key="sk_test_fuzz",
        webhook_secret=STRIPE_SECRET,
        prices={(Tier.PRO, BillingInterval.MONTH): "price_pro"},
    )
)
CLERK = ClerkIdentityVerifier(ClerkSettings(webhook_secret=CLERK_SECRET))

numbers = (
    st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


def _field(names: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts over the given keys (each present or not) plus junk keys."""
    return st.fixed_dictionaries({}, optional={n: values for n in names}).flatmap(
        lambda d: st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(
            lambda junk: {**junk, **d}
        )
    )


stripe_ids = st.sampled_from(["sub_1", "cus_1", "price_pro", "price_other", ""]) | json_values
stripe_item = _field(
    ["price", "current_period_start", "current_period_end"],
    stripe_ids | numbers | _field(["id", "unit_amount", "currency", "recurring"], json_values),
)
stripe_object = _field(
    [
        "id",
        "customer",
        "status",
        "metadata",
        "current_period_start",
        "current_period_end",
        "cancel_at_period_end",
        "canceled_at",
        "trial_start",
        "trial_end",
        "subscription",
        "client_reference_id",
        "parent",
        "currency",
    ],
    stripe_ids
    | numbers
    | st.sampled_from(["active", "trialing", "canceled", "past_due", "nope"])
    | _field(["clerk_user_id", "subscription_details", "subscription"], stripe_ids),
).flatmap(
    lambda obj: st.one_of(
        st.just(obj),
        st.lists(stripe_item, max_size=3).map(lambda items: {**obj, "items": {"data": items}}),
    )
)
stripe_events = _field(
    ["id", "type", "created", "data"],
    st.sampled_from(
        [
            "evt_1",
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "checkout.session.completed",
            "invoice.paid",
            "invoice.payment_failed",
            "charge.refunded",
        ]
    )
    | numbers
    | json_values
    | stripe_object.map(lambda obj: {"object": obj}),
)

clerk_user = _field(
    ["id", "first_name", "last_name", "primary_email_address_id", "email_addresses"],
    st.sampled_from(["user_1", "idn_1", " ", ""])
    | json_values
    | st.lists(_field(["id", "email_address"], st.sampled_from(["idn_1", "a@b.co"]) | scalars)),
)
clerk_events = _field(
    ["type", "data", "timestamp", "object"],
    st.sampled_from(["user.created", "user.updated", "user.deleted", "session.created"])
    | numbers
    | json_values
    | clerk_user,
)


def _stripe_headers(body: bytes) -> dict[str, str]:
    ts = int(time.time())
    mac = hmac.new(STRIPE_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={mac}"}


def _clerk_headers(body: bytes, msg: str = "msg_fuzz") -> dict[str, str]:
    now = datetime.now(UTC)
    signature = Webhook(CLERK_SECRET).sign(msg, now, body.decode("utf-8", "replace"))
    return {
        "svix-id": msg,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
    }


def _receive_stripe(body: bytes) -> None:
    try:
        verified = STRIPE.verify_webhook(body, _stripe_headers(body))
    except WebhookRejected as exc:
        assert "\n" not in exc.message
        return
    _read_stripe(verified)


def _read_stripe(verified: VerifiedWebhook) -> None:
    json.dumps(verified.payload)  # storable as it came
    try:
        event = STRIPE.read_event(verified.payload)
    except InvalidInput as exc:
        assert "\n" not in exc.message
        return
    assert isinstance(event, BillingEvent)


def _receive_clerk(body: bytes) -> None:
    try:
        verified = CLERK.verify_webhook(body, _clerk_headers(body))
    except WebhookRejected as exc:
        assert "\n" not in exc.message
        return
    json.dumps(verified.payload)
    try:
        event = CLERK.read_event(verified.payload)
    except InvalidInput as exc:
        assert "\n" not in exc.message
        return
    assert isinstance(event, IdentityEvent)


@fuzz
@given(st.binary(max_size=500) | json_values.map(lambda v: json.dumps(v).encode()))
def test_signed_stripe_junk_is_rejected_or_read(body: bytes):
    _receive_stripe(body)


@fuzz
@given(stripe_events)
def test_signed_stripe_events_are_rejected_or_read(event: dict[str, Any]):
    _receive_stripe(json.dumps(event).encode())


@fuzz
@given(st.binary(max_size=500) | json_values.map(lambda v: json.dumps(v).encode()))
def test_signed_clerk_junk_is_rejected_or_read(body: bytes):
    _receive_clerk(body)


@fuzz
@given(clerk_events)
def test_signed_clerk_events_are_rejected_or_read(event: dict[str, Any]):
    _receive_clerk(json.dumps(event).encode())


@pytest.mark.parametrize("receive", [_receive_stripe, _receive_clerk], ids=["stripe", "clerk"])
@pytest.mark.parametrize("depth", [1_000, 200_000])
def test_deeply_nested_signed_bodies_are_rejected_or_read(receive, depth):
    # Within the HTTP body limit; deep enough to exhaust a recursive parser.
    body = b'{"id": "evt_1", "type": "user.created", "created": 1, "data": ' + (
        b"[" * depth + b"]" * depth + b"}"
    )
    receive(body)
