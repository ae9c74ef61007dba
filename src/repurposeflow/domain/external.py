"""What the identity provider and the billing provider hand us, and how we name their ids.

Vendor names: the schema keeps the seed's column names (``clerk_user_id``,
``stripe_customer_id``, ``stripe_subscription_id``, ``stripe_price_id``). To the domain
they are opaque external ids: ``clerk_user_id`` is *the identity provider's id* for a
person, the ``stripe_*`` ids are *the billing provider's ids* for a customer, a
subscription and a price. No rule depends on which vendor issued them; vendor logic
(signatures, payload shapes, API calls) lives in the identity and billing adapters, which
turn vendor payloads into the values below.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from repurposeflow.domain.enums import SubscriptionStatus, WebhookSource

# --- webhooks ---------------------------------------------------------------------------


@attrs.frozen
class VerifiedWebhook:
    """A delivery whose signature and timestamp checked out and whose body is a JSON
    object with an id and a type. ``payload`` is what gets stored and replayed."""

    source: WebhookSource
    event_id: str
    event_type: str
    created: datetime
    payload: Mapping[str, Any]


# --- billing ------------------------------------------------------------------------------


@attrs.frozen
class CheckoutSession:
    id: str
    url: str


@attrs.frozen
class SubscriptionSnapshot:
    """The billing provider's view of one subscription at one moment (an event's copy
    of it, or a fresh fetch)."""

    stripe_subscription_id: str
    stripe_customer_id: str
    stripe_price_id: str
    status: SubscriptionStatus
    current_period_start: datetime
    current_period_end: datetime
    amount_cents: int
    currency: str
    interval: str
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    trial_start: datetime | None = None
    trial_end: datetime | None = None
    # Our user, as checkout wrote it into the subscription's metadata.
    clerk_user_id: str | None = None


class BillingEventKind(enum.StrEnum):
    SUBSCRIPTION_CHANGED = "subscription_changed"  # carries the subscription's state
    CHECKOUT_COMPLETED = "checkout_completed"
    INVOICE_PAID = "invoice_paid"
    INVOICE_PAYMENT_FAILED = "invoice_payment_failed"
    IGNORED = "ignored"


@attrs.frozen
class BillingEvent:
    """One billing provider event, read. ``subscription`` is None when the event does
    not carry the subscription's state (checkout, invoices): it is then fetched."""

    kind: BillingEventKind
    created: datetime
    stripe_subscription_id: str | None = None
    stripe_customer_id: str | None = None
    clerk_user_id: str | None = None
    subscription: SubscriptionSnapshot | None = None


# --- identity -----------------------------------------------------------------------------


@attrs.frozen
class Identity:
    """A caller whose session token checked out."""

    clerk_user_id: str
    email: str | None = None
    full_name: str | None = None
    session_id: str | None = None


class IdentityEventKind(enum.StrEnum):
    USER_CREATED = "user_created"
    USER_UPDATED = "user_updated"
    USER_DELETED = "user_deleted"
    IGNORED = "ignored"


@attrs.frozen
class IdentityEvent:
    kind: IdentityEventKind
    occurred_at: datetime
    clerk_user_id: str | None = None
    email: str | None = None  # the primary email
    full_name: str | None = None
