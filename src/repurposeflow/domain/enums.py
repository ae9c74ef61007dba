"""The closed vocabularies of the domain. Their values are what the database stores."""

from __future__ import annotations

import enum
import re
from typing import Self

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


class _Choice(enum.StrEnum):
    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls, value: str | _Choice) -> Self:
        """Parse a user-supplied value; the error lists every valid choice."""
        from repurposeflow.domain.errors import InvalidChoice

        if isinstance(value, cls):
            return value
        text = str(value).strip().lower()
        for alias, target in _ALIASES.get(cls.__name__, {}).items():
            if text == alias:
                text = target
        try:
            return cls(text)
        except ValueError:
            raise InvalidChoice(cls._label(), str(value), cls.values()) from None

    @classmethod
    def _label(cls) -> str:
        """How an error names the choice: the class name in words (UsageEventType ->
        "usage event type")."""
        return _WORD_START.sub(" ", cls.__name__).lower()


class Tier(_Choice):
    FREE = "free"
    PRO = "pro"
    BUSINESS = "business"


class SubscriptionStatus(_Choice):
    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    UNPAID = "unpaid"
    PAUSED = "paused"


class Platform(_Choice):
    TIKTOK = "tiktok"
    TWITTER = "twitter"
    THREADS = "threads"
    LINKEDIN = "linkedin"
    INSTAGRAM = "instagram"
    EMAIL = "email"


class Tone(_Choice):
    CONVERSATIONAL = "conversational"
    EDUCATIONAL = "educational"
    OPINIONATED = "opinionated"
    AUTHORITY = "authority"


class GenerationStatus(_Choice):
    PENDING = "pending"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"


class UsageEventType(_Choice):
    GENERATION_STARTED = "generation_started"
    GENERATION_COMPLETED = "generation_completed"
    GENERATION_PARTIAL = "generation_partial"
    GENERATION_FAILED = "generation_failed"
    GENERATION_CACHED = "generation_cached"
    GENERATION_REFUNDED = "generation_refunded"
    PLATFORM_REGENERATED = "platform_regenerated"


class WebhookSource(_Choice):
    STRIPE = "stripe"
    CLERK = "clerk"


class BillingInterval(_Choice):
    MONTH = "month"
    YEAR = "year"


# People type "x" for the platform formerly known as Twitter.
_ALIASES: dict[str, dict[str, str]] = {
    "Platform": {"x": "twitter"},
    "BillingInterval": {"monthly": "month", "yearly": "year", "annual": "year"},
}
