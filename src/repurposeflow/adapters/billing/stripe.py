"""Stripe: checkout and portal sessions, subscription lookups and webhook verification
on the official SDK through a ``StripeClient`` (never the global key), and the reading of
Stripe's event JSON into vendor-neutral ``BillingEvent``s.

Stripe moved the billing period from the subscription to its items (API 2025-03-31)
and the invoice's subscription under ``parent.subscription_details``; both places are
read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import stripe
from stripe.params.checkout import SessionCreateParams

from repurposeflow.domain.enums import BillingInterval, SubscriptionStatus, Tier, WebhookSource
from repurposeflow.domain.errors import (
    BillingUnavailable,
    InvalidInput,
    NotConfigured,
    UnknownPrice,
    WebhookRejected,
)
from repurposeflow.domain.external import (
    BillingEvent,
    BillingEventKind,
    CheckoutSession,
    SubscriptionSnapshot,
    VerifiedWebhook,
)

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "stripe-signature"
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
_INVOICE_EVENTS = {
    "invoice.paid": BillingEventKind.INVOICE_PAID,
    "invoice.payment_failed": BillingEventKind.INVOICE_PAYMENT_FAILED,
}
_INTERVALS = ("day", "week", "month", "year")


@attrs.frozen
class StripeSettings:
    secret_key: str
    webhook_secret: str | None = None
    # (tier, interval) -> price id
    prices: Mapping[tuple[Tier, BillingInterval], str] = attrs.field(factory=dict)
    api_base: str | None = None  # e.g. a local stand-in server in tests
    max_network_retries: int = 2
    # Per request: a webhook waiting on a fetch must answer well within Stripe's own timeout.
    timeout_seconds: float = 15.0


# --- reading Stripe JSON ---------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, ValueError, OSError):  # past year 9999, inf or NaN
            raise InvalidInput(f"Expected a Unix time, got {value!r:.40}.") from None
    raise InvalidInput(f"Expected a Unix time, got {value!r:.40}.")


def _id(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or as an expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _items(subscription: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = subscription.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    return [i for i in data or () if isinstance(i, Mapping)]


def subscription_snapshot(
    obj: Mapping[str, Any], known_prices: Iterable[str] = ()
) -> SubscriptionSnapshot | None:
    """A Stripe subscription object as a snapshot; None when it lacks the price or the
    period (the caller then fetches it). With several items, the one on a plan price."""
    sub_id, customer = _id(obj.get("id")), _id(obj.get("customer"))
    items = _items(obj)
    known = set(known_prices)
    item = next((i for i in items if _id(i.get("price")) in known), items[0] if items else None)
    if not sub_id or not customer or item is None:
        return None
    price = item.get("price") if isinstance(item.get("price"), Mapping) else {}
    assert isinstance(price, Mapping)
    price_id = _id(item.get("price"))
    start = _time(item.get("current_period_start", obj.get("current_period_start")))
    end = _time(item.get("current_period_end", obj.get("current_period_end")))
    if not price_id or start is None or end is None or not isinstance(obj.get("status"), str):
        return None
    recurring = price.get("recurring") if isinstance(price.get("recurring"), Mapping) else {}
    assert isinstance(recurring, Mapping)
    interval = recurring.get("interval")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    amount = price.get("unit_amount")
    return SubscriptionSnapshot(
        stripe_subscription_id=sub_id,
        stripe_customer_id=customer,
        stripe_price_id=price_id,
        status=SubscriptionStatus.parse(obj["status"]),
        current_period_start=start,
        current_period_end=end,
        amount_cents=int(amount)
        if isinstance(amount, int | float) and math.isfinite(amount)
        else 0,
        currency=str(price.get("currency") or obj.get("currency") or "usd")[:3],
        interval=interval if interval in _INTERVALS else "month",
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        canceled_at=_time(obj.get("canceled_at")),
        trial_start=_time(obj.get("trial_start")),
        trial_end=_time(obj.get("trial_end")),
        clerk_user_id=_id(metadata.get("clerk_user_id")),
    )


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    parent = invoice.get("parent")
    if isinstance(parent, Mapping):
        details = parent.get("subscription_details")
        if isinstance(details, Mapping) and _id(details.get("subscription")):
            return _id(details.get("subscription"))
    return _id(invoice.get("subscription"))


def read_stripe_event(payload: Mapping[str, Any], known_prices: Iterable[str] = ()) -> BillingEvent:
    """A verified Stripe event as a BillingEvent; types we do not act on are IGNORED."""
    event_type = payload.get("type")
    created = _time(payload.get("created"))
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(event_type, str) or created is None:
        raise InvalidInput("The Stripe event has no type or created time.")
    handled = event_type in SUBSCRIPTION_EVENTS or event_type in _INVOICE_EVENTS
    handled = handled or event_type == "checkout.session.completed"
    if not handled:
        return BillingEvent(BillingEventKind.IGNORED, created)
    if not isinstance(obj, Mapping):
        raise InvalidInput(f"The {event_type} event carries no object.")
    customer = _id(obj.get("customer"))
    if event_type in SUBSCRIPTION_EVENTS:
        sub_id = _id(obj.get("id"))
        if sub_id is None:
            raise InvalidInput(f"The {event_type} event has no subscription id.")
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
        assert isinstance(metadata, Mapping)
        return BillingEvent(
            BillingEventKind.SUBSCRIPTION_CHANGED,
            created,
            stripe_subscription_id=sub_id,
            stripe_customer_id=customer,
            clerk_user_id=_id(metadata.get("clerk_user_id")),
            subscription=subscription_snapshot(obj, known_prices),
        )
    if event_type == "checkout.session.completed":
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
        assert isinstance(metadata, Mapping)
        return BillingEvent(
            BillingEventKind.CHECKOUT_COMPLETED,
            created,
            stripe_subscription_id=_id(obj.get("subscription")),
            stripe_customer_id=customer,
            clerk_user_id=_id(obj.get("client_reference_id")) or _id(metadata.get("clerk_user_id")),
        )
    return BillingEvent(
        _INVOICE_EVENTS[event_type],
        created,
        stripe_subscription_id=_invoice_subscription(obj),
        stripe_customer_id=customer,
    )


# --- webhook verification -----------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def verify_stripe_webhook(
    body: bytes,
    headers: Mapping[str, str],
    check_signature: Callable[[bytes, str], object],
) -> VerifiedWebhook:
    """Verify with ``check_signature(body, header)`` (the SDK's signature check: it
    returns only for a body signed with our secret), then read the JSON event ourselves.

    Only a check that *returned* counts as signed. Any other exception from it (a body
    that is not UTF-8, a header the SDK chokes on before comparing) is a rejection: an
    earlier version read those as "signed but odd JSON" and accepted a forged UTF-16
    body with any signature."""
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise WebhookRejected("Stripe webhook rejected: no Stripe-Signature header.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("Stripe webhook rejected: the body is not UTF-8.") from None
    try:
        check_signature(body, signature)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc):
            raise WebhookRejected(
                f"Stripe webhook rejected: the timestamp is more than {TOLERANCE_SECONDS} s "
                "old (a replayed or delayed delivery)."
            ) from None
        raise WebhookRejected(
            "Stripe webhook rejected: the signature does not match the body "
            "(wrong STRIPE_WEBHOOK_SECRET, or the body was changed)."
        ) from None
    except Exception:
        raise WebhookRejected(
            "Stripe webhook rejected: the signature could not be checked "
            "(a malformed Stripe-Signature header)."
        ) from None
    return _verified_event(body)


def _verified_event(body: bytes) -> VerifiedWebhook:
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookRejected("Stripe webhook rejected: the body is not JSON.") from None
    except RecursionError:
        raise WebhookRejected("Stripe webhook rejected: the JSON is nested too deeply.") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("Stripe webhook rejected: the body is not a JSON object.")
    event_id, event_type, created = payload.get("id"), payload.get("type"), payload.get("created")
    if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)):
        raise WebhookRejected("Stripe webhook rejected: the event has no id or type.")
    if not isinstance(created, int) or isinstance(created, bool):
        raise WebhookRejected("Stripe webhook rejected: the event has no created time.")
    try:
        created_at = datetime.fromtimestamp(created, UTC)
    except (OverflowError, ValueError, OSError):
        raise WebhookRejected(
            f"Stripe webhook rejected: the created time {str(created)[:40]} is not a date."
        ) from None
    return VerifiedWebhook(
        source=WebhookSource.STRIPE,
        event_id=event_id,
        event_type=event_type,
        created=created_at,
        payload=payload,
    )


# --- the gateway ------------------------------------------------------------------------------


def _refused(what: str, exc: stripe.StripeError) -> BillingUnavailable:
    detail = exc.user_message or str(exc) or type(exc).__name__
    return BillingUnavailable(f"Stripe could not {what}: {' '.join(detail.split())}")


class StripeBillingGateway:
    """The BillingGateway on Stripe's SDK."""

    def __init__(
        self, settings: StripeSettings, *, http_client: stripe.HTTPClient | None = None
    ) -> None:
        if not settings.secret_key:
            raise NotConfigured("Stripe needs STRIPE_SECRET_KEY.")
        self.settings = settings
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            max_network_retries=settings.max_network_retries,
            http_client=http_client or stripe.RequestsClient(timeout=settings.timeout_seconds),
        )
        self._tiers = {price: tier for (tier, _), price in settings.prices.items()}

    def _price(self, tier: Tier, interval: BillingInterval) -> str:
        price = self.settings.prices.get((tier, interval))
        if not price:
            suffix = "_YEARLY" if interval is BillingInterval.YEAR else ""
            raise NotConfigured(
                f"No Stripe price for {tier.value} ({interval.value}ly): set "
                f"REPURPOSEFLOW_STRIPE_PRICE_{tier.value.upper()}{suffix}."
            )
        return price

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
        params: SessionCreateParams = {
            "mode": "subscription",
            "line_items": [{"price": self._price(tier, interval), "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": user_ref,
            "metadata": {"clerk_user_id": user_ref},
            # Every subscription event then names its user without an API call.
            "subscription_data": {"metadata": {"clerk_user_id": user_ref}},
        }
        if stripe_customer_id:
            params["customer"] = stripe_customer_id
        else:
            params["customer_email"] = customer_email
        try:
            session = self._client.v1.checkout.sessions.create(params=params)
        except stripe.StripeError as exc:
            raise _refused("start a checkout", exc) from exc
        if not session.url:
            raise BillingUnavailable("Stripe returned a checkout session without a URL.")
        return CheckoutSession(id=session.id, url=session.url)

    def create_portal_session(self, *, stripe_customer_id: str, return_url: str) -> str:
        try:
            session = self._client.v1.billing_portal.sessions.create(
                params={"customer": stripe_customer_id, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            raise _refused("open the billing portal", exc) from exc
        return str(session.url)

    def fetch_subscription(self, stripe_subscription_id: str) -> SubscriptionSnapshot:
        try:
            subscription = self._client.v1.subscriptions.retrieve(stripe_subscription_id)
        except stripe.StripeError as exc:
            raise _refused(f"fetch subscription {stripe_subscription_id}", exc) from exc
        snapshot = subscription_snapshot(subscription.to_dict(), self._tiers)
        if snapshot is None:
            raise BillingUnavailable(
                f"Stripe's subscription {stripe_subscription_id} has no price or period."
            )
        return snapshot

    def tier_for_price(self, stripe_price_id: str) -> Tier:
        tier = self._tiers.get(stripe_price_id)
        if tier is None:
            raise UnknownPrice(stripe_price_id)
        return tier

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        secret = self.settings.webhook_secret
        if not secret:
            raise NotConfigured("Stripe webhooks need STRIPE_WEBHOOK_SECRET.")

        def check(raw: bytes, signature: str) -> object:
            # The SDK's pure check (construct_event would also build an event, and a
            # failure there must not be mistaken for a signature that held).
            return stripe.WebhookSignature.verify_header(raw, signature, secret, TOLERANCE_SECONDS)

        return verify_stripe_webhook(body, headers, check)

    def read_event(self, payload: Mapping[str, Any]) -> BillingEvent:
        return read_stripe_event(payload, self._tiers)
