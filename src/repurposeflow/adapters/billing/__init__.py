"""Billing adapters: Stripe (``stripe``) and an in-process fake (``fake``)."""

from repurposeflow.adapters.billing.fake import FakeBillingGateway
from repurposeflow.adapters.billing.stripe import StripeBillingGateway, StripeSettings

__all__ = ["FakeBillingGateway", "StripeBillingGateway", "StripeSettings"]
