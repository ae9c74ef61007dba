"""/v1/billing: Stripe checkout and portal sessions for the signed-in person."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from repurposeflow.domain.errors import NotConfigured
from repurposeflow.domain.ports import BillingGateway
from repurposeflow.entrypoints.http.deps import CallerDep, StateDep, UserUowDep
from repurposeflow.entrypoints.http.routes.generations import PROBLEMS, problem_responses
from repurposeflow.services import billing

router = APIRouter(prefix="/v1/billing", tags=["billing"])


class CheckoutBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tier": "pro",
                    "interval": "month",
                    "success_url": "https://app.example.com/billing/done",
                    "cancel_url": "https://app.example.com/billing",
                }
            ]
        },
    )

    tier: Literal["pro", "business"]
    interval: Literal["month", "year"] = "month"
    success_url: HttpUrl = Field(description="Where Stripe sends the person after paying.")
    cancel_url: HttpUrl = Field(description="Where Stripe sends the person if they stop.")


class CheckoutOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "cs_test_a1b2", "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2"}
            ]
        }
    )

    id: str
    url: str


class PortalBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"return_url": "https://app.example.com/account"}]},
    )

    return_url: HttpUrl


class PortalOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "https://billing.stripe.com/p/session/test_a1b2"}]}
    )

    url: str


def _gateway(state: StateDep) -> BillingGateway:
    if state.app.billing is None:
        raise NotConfigured(
            "Billing is not configured on this server: set STRIPE_SECRET_KEY, "
            "STRIPE_WEBHOOK_SECRET and REPURPOSEFLOW_STRIPE_PRICE_PRO/_BUSINESS."
        )
    return state.app.billing


@router.post(
    "/checkout",
    response_model=CheckoutOut,
    responses={**PROBLEMS, **problem_responses(502)},
    summary="Start a Stripe checkout",
)
def checkout(
    body: CheckoutBody, caller: CallerDep, state: StateDep, uow: UserUowDep
) -> CheckoutOut:
    """A hosted checkout for a paid plan. The plan changes when Stripe's webhook says
    the subscription is live, not here."""
    session = billing.start_checkout(
        uow,
        _gateway(state),
        caller.clerk_user_id,
        tier=body.tier,
        interval=body.interval,
        success_url=str(body.success_url),
        cancel_url=str(body.cancel_url),
    )
    return CheckoutOut(id=session.id, url=session.url)


@router.post(
    "/portal",
    response_model=PortalOut,
    responses={**PROBLEMS, **problem_responses(502)},
    summary="Open the Stripe customer portal",
)
def portal(body: PortalBody, caller: CallerDep, state: StateDep, uow: UserUowDep) -> PortalOut:
    url = billing.open_portal(
        uow, _gateway(state), caller.clerk_user_id, return_url=str(body.return_url)
    )
    return PortalOut(url=url)
