"""Billing and webhook routes over the memory store, with the fake Stripe gateway and the
real Clerk verifier (svix-signed webhooks, RS256 session tokens)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from svix.webhooks import Webhook

from repurposeflow.adapters.billing import FakeBillingGateway
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.enums import Tier
from repurposeflow.entrypoints.http import create_app
from tests.clerk_events import user_event
from tests.http.conftest import CLERK_WEBHOOK_SECRET, NOW, auth, http_settings, make_app
from tests.http.test_api import _is_problem
from tests.stripe_events import event, subscription

URLS = {"success_url": "https://app.example.com/done", "cancel_url": "https://app.example.com/"}


def upgrade_event(gateway: FakeBillingGateway, clerk_user_id: str, n: int = 1) -> bytes:
    start = int(NOW.timestamp())
    sub = subscription(
        f"sub_{clerk_user_id}",
        customer=f"cus_{clerk_user_id}",
        price=gateway.price_for(Tier.PRO),
        start=start,
        end=start + 30 * 86400,
        clerk_user_id=clerk_user_id,
    )
    return json.dumps(
        event(f"evt_{clerk_user_id}_{n}", "customer.subscription.created", start + n, sub)
    ).encode()


def test_checkout_and_portal() -> None:
    gateway = FakeBillingGateway()
    with TestClient(create_app(make_app(MemoryStore().uow, billing=gateway), http_settings())) as c:
        r = c.post("/v1/billing/checkout", json={"tier": "pro", **URLS}, headers=auth("ada"))
        assert r.status_code == 200, r.text
        assert r.json()["url"].startswith("https://") and len(gateway.checkouts) == 1
        free = c.post("/v1/billing/checkout", json={"tier": "free", **URLS}, headers=auth("ada"))
        _is_problem(free, 422, "invalid-request")
        bad_url = c.post(
            "/v1/billing/checkout",
            json={"tier": "pro", "success_url": "javascript:alert(1)", "cancel_url": "x"},
            headers=auth("ada"),
        )
        _is_problem(bad_url, 422, "invalid-request")
        no_customer = c.post(
            "/v1/billing/portal", json={"return_url": URLS["cancel_url"]}, headers=auth("ada")
        )
        _is_problem(no_customer, 422, "invalid-input")
        body = upgrade_event(gateway, "ada")
        hook = c.post(
            "/webhooks/stripe", content=body, headers={"Stripe-Signature": gateway.sign(body)}
        )
        assert hook.status_code == 200 and hook.json()["outcome"] == "processed", hook.text
        portal = c.post(
            "/v1/billing/portal", json={"return_url": URLS["cancel_url"]}, headers=auth("ada")
        )
        assert portal.status_code == 200 and portal.json()["url"]
        assert c.get("/v1/me", headers=auth("ada")).json()["tier"] == "pro"


def test_billing_not_configured_is_503() -> None:
    app = make_app(MemoryStore().uow)
    app.billing = None
    with TestClient(create_app(app, http_settings())) as c:
        r = c.post("/v1/billing/checkout", json={"tier": "pro", **URLS}, headers=auth("ada"))
        _is_problem(r, 503, "not-configured")
        hook = c.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"})
        _is_problem(hook, 503, "not-configured")


def test_forged_and_stale_webhooks_are_400_and_store_nothing() -> None:
    store = MemoryStore()
    gateway = FakeBillingGateway()
    with TestClient(create_app(make_app(store.uow, billing=gateway), http_settings())) as c:
        c.get("/v1/me", headers=auth("ada"))
        body = upgrade_event(gateway, "ada")
        cases = [
            {"Stripe-Signature": gateway.sign(body, secret="whsec_wrong")},
            {"Stripe-Signature": gateway.sign(body, timestamp=1_000_000)},
            {},
        ]
        for headers in cases:
            _is_problem(
                c.post("/webhooks/stripe", content=body, headers=headers), 400, "webhook-rejected"
            )
        tampered = body.replace(b'"active"', b'"trialing"')
        assert tampered != body
        r = c.post(
            "/webhooks/stripe", content=tampered, headers={"Stripe-Signature": gateway.sign(body)}
        )
        _is_problem(r, 400, "webhook-rejected")
        # The same upgrade in UTF-16 with a made-up signature (was once taken as signed).
        utf16 = body.decode().encode("utf-16")
        r = c.post(
            "/webhooks/stripe", content=utf16, headers={"Stripe-Signature": "t=1,v1=" + "0" * 64}
        )
        _is_problem(r, 400, "webhook-rejected")
        forged_clerk = c.post(
            "/webhooks/clerk",
            content=json.dumps(user_event("user.created", "user_x", email="x@example.com")),
            headers={"svix-id": "msg_1", "svix-timestamp": "1", "svix-signature": "v1,AAAA"},
        )
        _is_problem(forged_clerk, 400, "webhook-rejected")
        assert c.get("/v1/me", headers=auth("ada")).json()["tier"] == "free"
    with store.uow() as uow:
        for event_id in ("evt_ada_1", "msg_1"):
            assert uow.webhooks.get_by_event_id(event_id) is None


def test_signed_webhooks_are_processed_once() -> None:
    gateway = FakeBillingGateway()
    with TestClient(create_app(make_app(MemoryStore().uow, billing=gateway), http_settings())) as c:
        payload = json.dumps(user_event("user.created", "user_new", email="new@example.com"))
        headers = _svix(payload)
        first = c.post("/webhooks/clerk", content=payload, headers=headers)
        assert first.status_code == 200 and first.json()["outcome"] == "processed", first.text
        again = c.post("/webhooks/clerk", content=payload, headers=headers)
        assert again.json()["outcome"] == "duplicate"
        assert c.get("/v1/me", headers=auth("user_new")).json()["email"] == "new@example.com"


def _svix(payload: str) -> dict[str, str]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    signature = Webhook(CLERK_WEBHOOK_SECRET).sign("msg_signed_1", now, payload)
    return {
        "svix-id": "msg_signed_1",
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
    }
