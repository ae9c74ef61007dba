"""An in-process BillingGateway for tests, demos and host applications without Stripe.

It reads and verifies the same Stripe-shaped events as the real gateway (the SDK's
signature check, the same reader), keeps subscriptions in a dict for
``fetch_subscription``, and records the checkout and portal sessions it "created".
``sign`` makes the ``Stripe-Signature`` header for a body.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs
import stripe

from repurposeflow.adapters.billing.stripe import (
    TOLERANCE_SECONDS,
    read_stripe_event,
    verify_stripe_webhook,
)
from repurposeflow.domain.enums import BillingInterval, Tier
from repurposeflow.domain.errors import BillingUnavailable, InvalidInput, UnknownPrice
from repurposeflow.domain.external import (
    BillingEvent,
    CheckoutSession,
    SubscriptionSnapshot,
    VerifiedWebhook,
)

DEFAULT_PRICES: dict[tuple[Tier, BillingInterval], str] = {
    (Tier.PRO, BillingInterval.MONTH): "price_pro_monthly",
    (Tier.PRO, BillingInterval.YEAR): "price_pro_yearly",
    (Tier.BUSINESS, BillingInterval.MONTH): "price_business_monthly",
    (Tier.BUSINESS, BillingInterval.YEAR): "price_business_yearly",
}


@attrs.frozen
class FakeCheckout:
    session: CheckoutSession
    user_ref: str
    customer_email: str
    stripe_customer_id: str | None
    price: str
    success_url: str
    cancel_url: str


class FakeBillingGateway:
    def __init__(
        self,
        *,
        webhook_secret: str = "whsec_fake_billing_secret",
        prices: Mapping[tuple[Tier, BillingInterval], str] | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.prices = dict(prices or DEFAULT_PRICES)
        self._tiers = {price: tier for (tier, _), price in self.prices.items()}
        self.subscriptions: dict[str, SubscriptionSnapshot] = {}
        self.checkouts: list[FakeCheckout] = []
        self.portals: list[tuple[str, str]] = []
        self.fetches: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- what tests set up -----------------------------------------------------------------

    def put_subscription(self, snapshot: SubscriptionSnapshot) -> None:
        """Stripe's current state of a subscription, as ``fetch_subscription`` returns it."""
        with self._lock:
            self.subscriptions[snapshot.stripe_subscription_id] = snapshot

    def price_for(self, tier: Tier, interval: BillingInterval = BillingInterval.MONTH) -> str:
        return self.prices[(tier, interval)]

    def sign(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header value: ``t=<ts>,v1=hex(HMAC-SHA256)``."""
        ts = int(time.time()) if timestamp is None else timestamp
        key = (secret or self.webhook_secret).encode()
        mac = hmac.new(key, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={ts},v1={mac}"

    # --- the port ------------------------------------------------------------------------------

    def create_checkout_session(
        self,
        *,
        user_ref: str,
        customer_email: str,
        stripe_customer_id: str | None,
        tier: Tier,
        interval: BillingInterval,
        success_url: str,
        cancel_url: str,
    ) -> CheckoutSession:
        price = self.prices.get((tier, interval))
        if price is None:
            raise InvalidInput(f"No price for {tier.value} ({interval.value}).")
        with self._lock:
            session_id = f"cs_test_fake_{next(self._ids)}"
            session = CheckoutSession(
                id=session_id, url=f"https://checkout.stripe.test/pay/{session_id}"
            )
            self.checkouts.append(
                FakeCheckout(
                    session, user_ref, customer_email, stripe_customer_id, price,
                    success_url, cancel_url,
                )
            )  # fmt: skip
        return session

    def create_portal_session(self, *, stripe_customer_id: str, return_url: str) -> str:
        with self._lock:
            self.portals.append((stripe_customer_id, return_url))
            return f"https://billing.stripe.test/p/session/bps_fake_{next(self._ids)}"

    def fetch_subscription(self, stripe_subscription_id: str) -> SubscriptionSnapshot:
        with self._lock:
            self.fetches.append(stripe_subscription_id)
            snapshot = self.subscriptions.get(stripe_subscription_id)
        if snapshot is None:
            raise BillingUnavailable(f"No such subscription: {stripe_subscription_id}")
        return snapshot

    def tier_for_price(self, stripe_price_id: str) -> Tier:
        tier = self._tiers.get(stripe_price_id)
        if tier is None:
            raise UnknownPrice(stripe_price_id)
        return tier

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        def check(raw: bytes, signature: str) -> object:
            return stripe.WebhookSignature.verify_header(
                raw, signature, self.webhook_secret, TOLERANCE_SECONDS
            )

        return verify_stripe_webhook(body, headers, check)

    def read_event(self, payload: Mapping[str, Any]) -> BillingEvent:
        return read_stripe_event(payload, self._tiers)
