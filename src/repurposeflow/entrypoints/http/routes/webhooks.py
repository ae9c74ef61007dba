"""/webhooks/stripe and /webhooks/clerk: raw body verified by the provider's adapter,
then stored once and processed by the webhook inbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from repurposeflow.domain.enums import WebhookSource
from repurposeflow.entrypoints.http.deps import StateDep
from repurposeflow.entrypoints.http.routes.generations import problem_responses

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {"id": "evt_1", "type": "customer.subscription.updated", "data": {}},
            }
        },
    }
}


class WebhookAck(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "evt_1",
                    "event_type": "customer.subscription.updated",
                    "outcome": "processed",
                }
            ]
        }
    )

    event_id: str
    event_type: str
    outcome: str


async def _receive(source: WebhookSource, request: Request, state: StateDep) -> WebhookAck:
    body = await request.body()
    receipt = await run_in_threadpool(
        state.app.webhook_inbox().receive, source, body, request.headers
    )
    # A failed processing is stored for replay: still 2xx, or the provider retries a
    # delivery we already hold.
    return WebhookAck(
        event_id=receipt.event_id, event_type=receipt.event_type, outcome=receipt.outcome.value
    )


@router.post(
    "/stripe",
    response_model=WebhookAck,
    responses=problem_responses(400, 503),
    openapi_extra=RAW_BODY,
    summary="Stripe events (verified with Stripe-Signature)",
)
async def stripe_webhook(request: Request, state: StateDep) -> WebhookAck:
    return await _receive(WebhookSource.STRIPE, request, state)


@router.post(
    "/clerk",
    response_model=WebhookAck,
    responses=problem_responses(400, 503),
    openapi_extra=RAW_BODY,
    summary="Clerk user events (verified with svix)",
)
async def clerk_webhook(request: Request, state: StateDep) -> WebhookAck:
    return await _receive(WebhookSource.CLERK, request, state)
