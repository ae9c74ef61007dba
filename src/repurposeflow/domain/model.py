"""Entities and value objects. Frozen attrs classes: change one with ``attrs.evolve``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    Tone,
    UsageEventType,
    WebhookSource,
)
from repurposeflow.domain.platforms import INSTAGRAM_DEFAULT_HASHTAG_CAP
from repurposeflow.domain.quota import Quota, effective_tier, limit_for, next_reset


def new_id() -> uuid.UUID:
    return uuid.uuid4()


@attrs.frozen
class VoiceSettings:
    """How a person wants to sound: default tone, extra banned phrases, sample posts
    used as style hints, and their Instagram hashtag cap."""

    default_tone: Tone = Tone.CONVERSATIONAL
    banned_phrases: tuple[str, ...] = ()
    sample_posts: tuple[str, ...] = ()
    instagram_hashtag_cap: int = INSTAGRAM_DEFAULT_HASHTAG_CAP


@attrs.frozen
class User:
    id: uuid.UUID
    clerk_user_id: str
    email: str
    created_at: datetime
    usage_reset_at: datetime
    full_name: str | None = None
    subscription_tier: Tier = Tier.FREE
    subscription_status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    subscription_current_period_end: datetime | None = None
    generations_count_current_month: int = 0
    generations_limit: int = 10
    last_generation_at: datetime | None = None
    voice: VoiceSettings = VoiceSettings()
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        clerk_user_id: str,
        email: str,
        now: datetime,
        full_name: str | None = None,
        tier: Tier = Tier.FREE,
        user_id: uuid.UUID | None = None,
    ) -> User:
        return cls(
            id=user_id or new_id(),
            clerk_user_id=clerk_user_id,
            email=email,
            full_name=full_name,
            subscription_tier=tier,
            generations_limit=limit_for(tier),
            usage_reset_at=next_reset(now),
            created_at=now,
            updated_at=now,
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def quota(self) -> Quota:
        return Quota(
            count=self.generations_count_current_month,
            limit=self.generations_limit,
            reset_at=self.usage_reset_at,
        )

    @property
    def effective_tier(self) -> Tier:
        return effective_tier(self.subscription_tier, self.subscription_status)

    def with_quota(self, quota: Quota) -> User:
        return attrs.evolve(
            self,
            generations_count_current_month=quota.count,
            generations_limit=quota.limit,
            usage_reset_at=quota.reset_at,
        )


@attrs.frozen
class TokenUsage:
    """Tokens one or more model calls used, and what they cost.

    ``input_tokens`` counts every prompt token; ``cached_input_tokens`` (read from the
    provider's prompt cache) and ``cache_write_tokens`` (written to it) are the parts of
    it billed at other prices. ``cost_usd`` is None when a model's price is unknown: an
    unknown cost must never be summed into a total as if it were free."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal | None = Decimal("0")
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        return max(0, self.input_tokens - self.cached_input_tokens - self.cache_write_tokens)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else self.cost_usd + other.cost_usd
        )
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=cost,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


@attrs.frozen
class Brief:
    """What ``ContentEngine.analyze`` learns of the source once, for every platform."""

    core_message: str
    key_points: tuple[str, ...]
    topic: str
    audience: str
    keywords: tuple[str, ...] = ()


@attrs.frozen
class Generation:
    id: uuid.UUID
    user_id: uuid.UUID
    input_content: str
    input_content_hash: str
    request_key: str
    selected_platforms: tuple[Platform, ...]
    selected_tone: Tone
    created_at: datetime
    status: GenerationStatus = GenerationStatus.PENDING
    llm_provider: str | None = None
    llm_model: str | None = None
    core_message: str | None = None
    key_points: tuple[str, ...] | None = None
    detected_topic: str | None = None
    detected_audience: str | None = None
    # Platform -> the output's JSON-ready dict (one JSONB column per platform in SQL).
    outputs: Mapping[Platform, Mapping[str, Any]] = attrs.field(factory=dict)
    # Platform -> why it failed, for platforms that did not deliver.
    platform_errors: Mapping[Platform, str] = attrs.field(factory=dict)
    error_message: str | None = None
    generation_time_ms: int | None = None
    usage: TokenUsage = TokenUsage()
    # The quota window this generation was charged in; None once refunded (or never charged).
    charged_reset_at: datetime | None = None
    completed_at: datetime | None = None
    # The client's Idempotency-Key that started it (HTTP), if any.
    idempotency_key: str | None = None

    @property
    def total_tokens_used(self) -> int:
        return self.usage.total_tokens

    @property
    def is_charged(self) -> bool:
        return self.charged_reset_at is not None

    @property
    def delivered(self) -> tuple[Platform, ...]:
        return tuple(p for p in self.selected_platforms if p in self.outputs)

    @property
    def failed_platforms(self) -> tuple[Platform, ...]:
        return tuple(p for p in self.selected_platforms if p not in self.outputs)


def status_for(requested: tuple[Platform, ...], delivered: int) -> GenerationStatus:
    if delivered == 0:
        return GenerationStatus.FAILED
    if delivered < len(requested):
        return GenerationStatus.PARTIAL
    return GenerationStatus.COMPLETED


@attrs.frozen
class UsageEvent:
    id: uuid.UUID
    user_id: uuid.UUID
    event_type: UsageEventType
    platforms: tuple[Platform, ...]
    created_at: datetime
    generation_id: uuid.UUID | None = None
    tokens_used: int | None = None
    estimated_cost_usd: Decimal | None = None
    user_agent: str | None = None
    ip_address: str | None = None

    @property
    def platform_count(self) -> int:
        return len(self.platforms)


@attrs.frozen
class Subscription:
    id: uuid.UUID
    user_id: uuid.UUID
    stripe_subscription_id: str
    stripe_customer_id: str
    stripe_price_id: str
    tier: Tier
    status: SubscriptionStatus
    current_period_start: datetime
    current_period_end: datetime
    amount_cents: int
    interval: str
    created_at: datetime
    currency: str = "usd"
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    trial_start: datetime | None = None
    trial_end: datetime | None = None
    # Stripe's `created` of the newest event applied, so an older event never wins.
    last_event_created: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen
class WebhookEvent:
    id: uuid.UUID
    source: WebhookSource
    event_type: str
    event_id: str
    payload: Mapping[str, Any]
    created_at: datetime
    processed: bool = False
    processed_at: datetime | None = None
    error_message: str | None = None
    retry_count: int = 0


@attrs.frozen
class HistoryCursor:
    """Keyset position in a person's history: generations strictly older than
    (created_at, id)."""

    created_at: datetime
    id: uuid.UUID
