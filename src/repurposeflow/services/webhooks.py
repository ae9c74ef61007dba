"""The webhook inbox: verify, store once, then process, each in its own transaction.

``receive`` is what an HTTP endpoint (or ``repurposeflow webhooks ingest``) calls with
the raw body and headers:

1. The provider's adapter verifies the signature and timestamp on the raw bytes; a bad
   delivery raises WebhookRejected and nothing is stored.
2. The event is stored once by its event id (a duplicate returns DUPLICATE and changes
   nothing) and committed, so it is never lost.
3. It is processed in its own transaction, which also marks it processed. A failure
   rolls the processing back and records the error and retry count on the stored row,
   ready for ``replay``. Replaying is idempotent: the subscription ordering rule and the
   account upserts make a second application change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from repurposeflow.domain.enums import WebhookSource
from repurposeflow.domain.errors import NotConfigured, NotFound, StoreUnavailable
from repurposeflow.domain.external import (
    BillingEvent,
    BillingEventKind,
    IdentityEvent,
    IdentityEventKind,
)
from repurposeflow.domain.model import WebhookEvent, new_id
from repurposeflow.domain.ports import (
    BillingGateway,
    Clock,
    IdentityVerifier,
    UnitOfWorkFactory,
)
from repurposeflow.domain.webhooks import WebhookOutcome, WebhookReceipt
from repurposeflow.services.billing import apply_billing_event, needs_fetch
from repurposeflow.services.identity import apply_identity_event

MAX_ERROR_CHARS = 1000


class WebhookInbox:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        billing: BillingGateway | None = None,
        identity: IdentityVerifier | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._billing = billing
        self._identity = identity

    # --- adapters ----------------------------------------------------------------------

    def _billing_gateway(self) -> BillingGateway:
        if self._billing is None:
            raise NotConfigured(
                "Stripe is not configured: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET."
            )
        return self._billing

    def _identity_verifier(self) -> IdentityVerifier:
        if self._identity is None:
            raise NotConfigured(
                "Clerk is not configured: set CLERK_WEBHOOK_SIGNING_SECRET (and CLERK_JWT_KEY)."
            )
        return self._identity

    # --- receiving ----------------------------------------------------------------------

    def receive(
        self, source: str | WebhookSource, body: bytes, headers: Mapping[str, str]
    ) -> WebhookReceipt:
        """Verify, store once, process. Raises WebhookRejected (nothing stored) for a bad
        signature, stale timestamp, missing header or malformed body; NotConfigured when
        the provider's secrets are not set; InvalidChoice for an unknown source."""
        source = WebhookSource.parse(source)
        if source is WebhookSource.STRIPE:
            verified = self._billing_gateway().verify_webhook(body, headers)
        else:
            verified = self._identity_verifier().verify_webhook(body, headers)
        stored = WebhookEvent(
            id=new_id(),
            source=verified.source,
            event_type=verified.event_type,
            event_id=verified.event_id,
            payload=dict(verified.payload),
            created_at=self._clock.now(),
        )
        with self._uow() as uow:
            added = uow.webhooks.add_if_new(stored)
            uow.commit()
        if not added:
            return WebhookReceipt(
                source, verified.event_id, verified.event_type, WebhookOutcome.DUPLICATE
            )
        return self._process(stored)

    # --- processing ---------------------------------------------------------------------

    def process(self, event_id: str) -> WebhookReceipt:
        """Apply a stored event (again); records the outcome on its row."""
        with self._uow() as uow:
            stored = uow.webhooks.get_by_event_id(event_id)
        if stored is None:
            raise NotFound(f"No stored webhook event {event_id}.")
        return self._process(stored)

    def _process(self, stored: WebhookEvent) -> WebhookReceipt:
        event_id = stored.event_id
        source = WebhookSource(stored.source)
        try:
            outcome = self._apply(stored)
        except StoreUnavailable:
            raise  # the row stays unprocessed; replay picks it up
        except Exception as exc:  # any failure is kept on the row for replay
            # The first line only: a driver's message goes on with the SQL and parameters.
            detail = (getattr(exc, "message", None) or str(exc)).strip().splitlines()
            error = f"{type(exc).__name__}: {detail[0] if detail else ''}"[:MAX_ERROR_CHARS]
            with self._uow() as uow:
                uow.webhooks.mark_failed(event_id, error)
                uow.commit()
            return WebhookReceipt(
                source, event_id, stored.event_type, WebhookOutcome.FAILED, error=error
            )
        return WebhookReceipt(source, event_id, stored.event_type, outcome)

    def _apply(self, stored: WebhookEvent) -> WebhookOutcome:
        if WebhookSource(stored.source) is WebhookSource.STRIPE:
            gateway = self._billing_gateway()
            billing_event: BillingEvent = gateway.read_event(stored.payload)
            # Fetch outside the transaction: no lock is held while the provider answers.
            fetched = (
                gateway.fetch_subscription(billing_event.stripe_subscription_id)
                if needs_fetch(billing_event) and billing_event.stripe_subscription_id
                else None
            )
            with self._uow() as uow:
                apply_billing_event(
                    uow, gateway, billing_event, now=self._clock.now(), fetched=fetched
                )
                uow.webhooks.mark_processed(stored.event_id, self._clock.now())
                uow.commit()
            ignored = billing_event.kind is BillingEventKind.IGNORED
        else:
            identity_event: IdentityEvent = self._identity_verifier().read_event(stored.payload)
            with self._uow() as uow:
                apply_identity_event(uow, identity_event, now=self._clock.now())
                uow.webhooks.mark_processed(stored.event_id, self._clock.now())
                uow.commit()
            ignored = identity_event.kind is IdentityEventKind.IGNORED
        return WebhookOutcome.IGNORED if ignored else WebhookOutcome.PROCESSED

    # --- replay and listing ------------------------------------------------------------------

    def replay(
        self,
        *,
        failed_only: bool = False,
        since: datetime | None = None,
        event_id: str | None = None,
        limit: int = 10_000,
    ) -> list[WebhookReceipt]:
        """Process stored events again, oldest first: one (``event_id``), the ones not
        processed yet (``failed_only``), or all received since ``since``."""
        if event_id is not None:
            return [self.process(event_id)]
        with self._uow() as uow:
            events = uow.webhooks.list_events(
                limit=limit, since=since, unprocessed_only=failed_only, oldest_first=True
            )
        return [self.process(e.event_id) for e in events]

    def recent(
        self, *, limit: int = 50, since: datetime | None = None, failed_only: bool = False
    ) -> list[WebhookEvent]:
        """Stored events, newest first."""
        with self._uow() as uow:
            return uow.webhooks.list_events(limit=limit, since=since, unprocessed_only=failed_only)
