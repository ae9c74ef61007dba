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

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from repurposeflow.domain.enums import SubscriptionStatus


@attrs.frozen
class CheckoutSession:
    id: str
    url: str


@attrs.frozen
class SubscriptionSnapshot:
    """The billing provider's current view of a subscription (fetched on ties)."""

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


@attrs.frozen
class VerifiedWebhook:
    event_id: str
    event_type: str
    created: datetime
    payload: Mapping[str, Any]


@attrs.frozen
class Identity:
    clerk_user_id: str
    email: str | None = None
    full_name: str | None = None
