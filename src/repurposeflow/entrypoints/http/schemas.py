"""Request and response models of the HTTP API (the domain knows nothing of them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from repurposeflow.domain.enums import GenerationStatus, Platform, Tier, Tone
from repurposeflow.domain.errors import InvalidChoice
from repurposeflow.domain.model import Generation, User, VoiceSettings
from repurposeflow.domain.platforms import INSTAGRAM_HARD_HASHTAG_CAP
from repurposeflow.entrypoints.present import generation_dict
from repurposeflow.services.history import HistoryPage
from repurposeflow.services.maintenance import StatsReport
from repurposeflow.services.usage import UsageSummary

SAMPLE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
GENERATION_EXAMPLE: dict[str, Any] = {
    "id": SAMPLE_ID,
    "status": "completed",
    "created_at": "2026-03-14T09:30:00+00:00",
    "completed_at": "2026-03-14T09:30:02+00:00",
    "platforms": ["threads"],
    "tone": "conversational",
    "engine": "local",
    "model": "local-extractive-1",
    "analysis": {
        "core_message": "One long post can feed a week of content.",
        "key_points": ["Pull the core idea out first."],
        "topic": "writing",
        "audience": "creators",
    },
    "outputs": {
        "threads": {
            "posts": ["One long post can feed a whole week of content."],
            "topic_tag": "writing",
        }
    },
    "errors": {},
    "usage": {
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "output_tokens": 0,
        "cache_write_tokens": 0,
        "estimated_cost_usd": "0",
    },
    "generation_time_ms": 1840,
    "cached": False,
}


def _platform_name(value: object) -> object:
    """Both names of X are accepted on input ("x" and "twitter", any case); anything else
    goes on to the enum's own check and its 422."""
    if isinstance(value, str):
        try:
            return Platform.parse(value)
        except InvalidChoice:
            return value
    return value


PlatformName = Annotated[Platform, BeforeValidator(_platform_name)]


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:repurposeflow:problem:quota-exhausted",
                    "title": "Too many requests",
                    "status": 429,
                    "detail": "You have used 10 of 10 generations this month on the free plan.",
                    "code": "quota-exhausted",
                    "instance": "/v1/generations",
                    "request_id": "5b1d0c6e2a7f4c1e9d3b8a6f0e2c4d1a",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None


# --- generations ---------------------------------------------------------------------


class GenerationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "content": "Most teams write one long post and stop there. ...",
                    "platforms": ["twitter", "linkedin"],
                    "tone": "educational",
                }
            ]
        },
    )

    content: str = Field(description="The long piece of writing: text, Markdown or HTML.")
    platforms: list[PlatformName] | None = Field(
        default=None,
        min_length=1,
        description='Platforms to write for ("x" is accepted for twitter); all six when absent.',
    )
    tone: Tone | None = Field(default=None, description="Your default tone when absent.")
    engine: str | None = Field(
        default=None,
        max_length=40,
        description="Content engine: local (offline), openai or anthropic; the server's "
        "default when absent.",
    )
    model: str | None = Field(
        default=None, max_length=200, description="The engine's model; its default when absent."
    )


class RegenerateBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"platforms": ["email"]}, {}]}
    )

    platforms: list[PlatformName] | None = Field(
        default=None,
        min_length=1,
        description="Platforms to write again; the failed ones when absent.",
    )


class Analysis(BaseModel):
    core_message: str | None
    key_points: list[str]
    topic: str | None
    audience: str | None


class TokenUsageOut(BaseModel):
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cache_write_tokens: int = 0
    # null when the model's price is unknown: a cost nobody knows is not 0.
    estimated_cost_usd: str | None


class GenerationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [GENERATION_EXAMPLE]})

    id: uuid.UUID
    status: GenerationStatus
    created_at: datetime
    completed_at: datetime | None
    platforms: list[Platform]
    tone: Tone
    engine: str | None
    model: str | None
    analysis: Analysis
    outputs: dict[str, dict[str, Any]] = Field(description="Per platform, its finished post(s).")
    errors: dict[str, str] = Field(description="Per platform that failed, why.")
    usage: TokenUsageOut
    generation_time_ms: int | None
    cached: bool = Field(
        default=False, description="True when an identical earlier request was returned free."
    )

    @classmethod
    def of(cls, gen: Generation, *, cached: bool = False) -> GenerationOut:
        return cls.model_validate({**generation_dict(gen), "cached": cached})


class GenerationPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [GENERATION_EXAMPLE],
                    "next_cursor": "MjAyNi0wMy0xNFQwOTozMDowMCswMDowMHwwZjhmYWQ1Yg",
                }
            ]
        }
    )

    items: list[GenerationOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")

    @classmethod
    def of(cls, page: HistoryPage) -> GenerationPage:
        return cls(items=[GenerationOut.of(g) for g in page.items], next_cursor=page.next_cursor)


# --- account ---------------------------------------------------------------------------


class UsageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tier": "free",
                    "used": 3,
                    "limit": 10,
                    "remaining": 7,
                    "unlimited": False,
                    "resets_at": "2026-04-01T00:00:00+00:00",
                }
            ]
        }
    )

    tier: Tier
    used: int
    limit: int
    remaining: int
    unlimited: bool
    resets_at: datetime

    @classmethod
    def of(cls, s: UsageSummary) -> UsageOut:
        return cls(
            tier=s.tier,
            used=s.used,
            limit=s.limit,
            remaining=s.remaining,
            unlimited=s.unlimited,
            resets_at=s.resets_at,
        )


class VoiceOut(BaseModel):
    default_tone: Tone
    banned_phrases: list[str]
    sample_posts: list[str]
    instagram_hashtag_cap: int

    @classmethod
    def of(cls, voice: VoiceSettings) -> VoiceOut:
        return cls(
            default_tone=voice.default_tone,
            banned_phrases=list(voice.banned_phrases),
            sample_posts=list(voice.sample_posts),
            instagram_hashtag_cap=voice.instagram_hashtag_cap,
        )


class MeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "user_2abc",
                    "email": "ada@example.com",
                    "full_name": "Ada",
                    "tier": "free",
                    "subscription_status": "active",
                    "created_at": "2026-03-01T10:00:00+00:00",
                    "voice": {
                        "default_tone": "conversational",
                        "banned_phrases": [],
                        "sample_posts": [],
                        "instagram_hashtag_cap": 5,
                    },
                }
            ]
        }
    )

    user_id: str = Field(description="The Clerk user id.")
    email: str
    full_name: str | None
    tier: Tier = Field(description="The plan in force (a lapsed subscription counts as free).")
    subscription_status: str
    created_at: datetime
    voice: VoiceOut

    @classmethod
    def of(cls, user: User) -> MeOut:
        return cls(
            user_id=user.clerk_user_id,
            email=user.email,
            full_name=user.full_name,
            tier=user.effective_tier,
            subscription_status=user.subscription_status.value,
            created_at=user.created_at,
            voice=VoiceOut.of(user.voice),
        )


class MePatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"default_tone": "educational", "banned_phrases": ["synergy"]}]
        },
    )

    default_tone: Tone | None = None
    banned_phrases: list[str] | None = Field(default=None, description="Replaces the list.")
    sample_posts: list[str] | None = Field(default=None, description="Replaces the list.")
    instagram_hashtag_cap: int | None = Field(default=None, ge=0, le=INSTAGRAM_HARD_HASHTAG_CAP)


# --- admin and health ------------------------------------------------------------------


class TierStatOut(BaseModel):
    tier: Tier
    user_count: int
    total_generations: int


class DailyVolumeOut(BaseModel):
    day: date
    generations: int
    active_users: int


class PlatformPopularityOut(BaseModel):
    platform: Platform
    usage_count: int


class LatencyOut(BaseModel):
    samples: int
    avg_ms: float | None
    median_ms: float | None
    p95_ms: float | None


class StatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tiers": [{"tier": "free", "user_count": 120, "total_generations": 830}],
                    "daily_volume": [{"day": "2026-03-13", "generations": 95, "active_users": 41}],
                    "platform_popularity": [{"platform": "linkedin", "usage_count": 310}],
                    "latency": {
                        "samples": 640,
                        "avg_ms": 2150.0,
                        "median_ms": 1900.0,
                        "p95_ms": 4800.0,
                    },
                }
            ]
        }
    )

    tiers: list[TierStatOut]
    daily_volume: list[DailyVolumeOut]
    platform_popularity: list[PlatformPopularityOut]
    latency: LatencyOut

    @classmethod
    def of(cls, r: StatsReport) -> StatsOut:
        return cls(
            tiers=[
                TierStatOut(
                    tier=t.tier, user_count=t.user_count, total_generations=t.total_generations
                )
                for t in r.tiers
            ],
            daily_volume=[
                DailyVolumeOut(day=d.day, generations=d.generations, active_users=d.active_users)
                for d in r.daily_volume
            ],
            platform_popularity=[
                PlatformPopularityOut(platform=p.platform, usage_count=p.usage_count)
                for p in r.platform_popularity
            ],
            latency=LatencyOut(
                samples=r.latency.samples,
                avg_ms=r.latency.avg_ms,
                median_ms=r.latency.median_ms,
                p95_ms=r.latency.p95_ms,
            ),
        )


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "detail": "schema at 0001_initial"}]}
    )

    status: str = Field(examples=["ok"])
    detail: str | None = None


# --- engines and estimates ---------------------------------------------------------------


class ModelPriceOut(BaseModel):
    name: str
    input: str = Field(description="USD per million fresh input tokens.")
    cached_input: str = Field(description="USD per million input tokens read from the cache.")
    output: str = Field(description="USD per million output tokens.")
    cache_write: str | None = Field(
        description="USD per million input tokens written to the cache; null: as input."
    )


class EngineOut(BaseModel):
    name: str
    kind: str = Field(description="`local` (runs on this server, free) or `model` (paid API).")
    default: bool = Field(description="The server's engine when a request names none.")
    model: str = Field(description="The model this server runs for the engine.")
    models: list[ModelPriceOut] = Field(
        description="The priced models of the engine (none for a local engine)."
    )
    available: bool = Field(description="Whether this server can run it now.")
    unavailable_reason: str | None = Field(
        description="Why not, as a person can act on it (e.g. the key to set)."
    )


class EnginesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engines": [
                        {
                            "name": "local",
                            "kind": "local",
                            "default": True,
                            "model": "local-extractive-1",
                            "models": [],
                            "available": True,
                            "unavailable_reason": None,
                        },
                        {
                            "name": "openai",
                            "kind": "model",
                            "default": False,
                            "model": "gpt-5.6-terra",
                            "models": [
                                {
                                    "name": "gpt-5.6-terra",
                                    "input": "2.50",
                                    "cached_input": "0.25",
                                    "output": "15.00",
                                    "cache_write": None,
                                }
                            ],
                            "available": False,
                            "unavailable_reason": "set OPENAI_API_KEY on the server",
                        },
                    ],
                    "price_unit": "USD per million tokens",
                }
            ]
        }
    )

    engines: list[EngineOut]
    price_unit: str = "USD per million tokens"


class EstimateCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Most teams write one long post and stop there. ...",
                    "platforms": ["twitter", "linkedin"],
                    "tone": "educational",
                    "engine": "openai",
                }
            ]
        },
    )

    text: str = Field(description="The long piece of writing, as for a generation.")
    platforms: list[PlatformName] | None = Field(
        default=None, min_length=1, description="All six when absent."
    )
    tone: Tone | None = Field(default=None, description="Your default tone when absent.")
    engine: str = Field(max_length=40, description="local, openai or anthropic.")
    model: str | None = Field(
        default=None,
        max_length=200,
        description="A model of that engine; the one this server runs when absent.",
    )


class EstimateCallOut(TokenUsageOut):
    call: str = Field(description="`analyze`, or the platform the call writes for.")


class EstimateOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engine": "openai",
                    "model": "gpt-5.6-terra",
                    "counted_with": "estimated at ~4 characters per token (see estimate.py)",
                    "calls": [
                        {
                            "call": "analyze",
                            "input_tokens": 1450,
                            "cached_input_tokens": 0,
                            "cache_write_tokens": 0,
                            "output_tokens": 300,
                            "estimated_cost_usd": "0.0081250",
                        }
                    ],
                    "total": {
                        "input_tokens": 1450,
                        "cached_input_tokens": 0,
                        "cache_write_tokens": 0,
                        "output_tokens": 300,
                        "estimated_cost_usd": "0.0081250",
                    },
                    "charged": False,
                    "note": "An estimate: no model was called and none of your quota was used.",
                }
            ]
        }
    )

    engine: str
    model: str
    counted_with: str | None = Field(description="How the tokens were counted.")
    calls: list[EstimateCallOut] = Field(description="One per model call (none when local).")
    total: TokenUsageOut = Field(
        description="`estimated_cost_usd` is null when the model has no price: unknown, not 0."
    )
    charged: bool = Field(default=False, description="Always false: an estimate is free.")
    note: str
