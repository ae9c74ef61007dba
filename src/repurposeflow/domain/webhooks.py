"""What became of a webhook delivery (the delivery itself is ``external.VerifiedWebhook``)."""

from __future__ import annotations

import enum

import attrs

from repurposeflow.domain.enums import WebhookSource


class WebhookOutcome(enum.StrEnum):
    PROCESSED = "processed"  # stored and applied
    DUPLICATE = "duplicate"  # already stored: nothing changed
    IGNORED = "ignored"  # stored; a type we do not act on
    FAILED = "failed"  # stored with the error, ready for replay


@attrs.frozen
class WebhookReceipt:
    source: WebhookSource
    event_id: str
    event_type: str
    outcome: WebhookOutcome
    error: str | None = None
