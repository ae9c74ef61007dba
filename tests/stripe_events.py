"""Stripe-shaped JSON for tests: subscription objects, events, signed bodies.

The shapes follow Stripe's API (2025-03-31 and later: the billing period on the items,
the invoice's subscription under ``parent.subscription_details``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

PRICES = {
    "pro": "price_pro_monthly",
    "business": "price_business_monthly",
    "pro_yearly": "price_pro_yearly",
}
AMOUNTS = {"price_pro_monthly": 1900, "price_business_monthly": 9900, "price_pro_yearly": 19000}


def subscription(
    sub_id: str,
    *,
    customer: str,
    price: str,
    status: str = "active",
    start: int = 1_770_000_000,
    end: int | None = None,
    clerk_user_id: str | None = None,
    cancel_at_period_end: bool = False,
    canceled_at: int | None = None,
    trial_start: int | None = None,
    trial_end: int | None = None,
) -> dict[str, Any]:
    end = end if end is not None else start + 30 * 86400
    interval = "year" if "yearly" in price else "month"
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "trial_start": trial_start,
        "trial_end": trial_end,
        "metadata": {"clerk_user_id": clerk_user_id} if clerk_user_id else {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "object": "subscription_item",
                    "price": {
                        "id": price,
                        "object": "price",
                        "unit_amount": AMOUNTS.get(price, 500),
                        "currency": "usd",
                        "recurring": {"interval": interval},
                    },
                    "current_period_start": start,
                    "current_period_end": end,
                }
            ],
        },
    }


def event(event_id: str, event_type: str, created: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": obj},
    }


def invoice(invoice_id: str, *, customer: str, sub_id: str, paid: bool) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "status": "paid" if paid else "open",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id},
        },
    }


def checkout_session(
    session_id: str, *, customer: str, sub_id: str, clerk_user_id: str
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "customer": customer,
        "subscription": sub_id,
        "client_reference_id": clerk_user_id,
        "metadata": {"clerk_user_id": clerk_user_id},
    }


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """``t=<ts>,v1=hex(HMAC_SHA256(secret, f"{ts}.{body}"))``, computed here rather than
    with the SDK's helpers (they move between versions)."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"
