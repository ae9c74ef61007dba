"""The schema as SQLAlchemy Core tables: the seed's five tables (corrected), the
archive and the daily usage aggregate. Alembic migrations create it; this metadata is
what the adapter queries and what the drift test compares the migrated database to.

PostgreSQL-only parts (RLS, policies, roles, triggers, array CHECKs) live in the
migrations alone, and so does partitioning: on PostgreSQL ``generations`` and
``usage_logs`` are partitioned by month (0005), their primary keys are ``(id,
created_at)``, the two unique indexes on generations below are key tables of the same
names, and ``usage_logs.generation_id`` has no foreign key (see ``partitions.py``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from repurposeflow.adapters.sql.types import IPAddress, JSONDoc, TextList, UTCDateTime
from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    Tone,
    UsageEventType,
    WebhookSource,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

BILLING_INTERVALS = ("day", "week", "month", "year")


def one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    """CHECK that ``column`` holds one of ``values`` (named after the column)."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


def _now() -> sa.TextClause:
    return sa.text("CURRENT_TIMESTAMP")


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("clerk_user_id", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255), nullable=False),
    sa.Column("full_name", sa.String(255)),
    sa.Column("subscription_tier", sa.String(50), nullable=False, server_default="free"),
    sa.Column("subscription_status", sa.String(50), nullable=False, server_default="active"),
    sa.Column("stripe_customer_id", sa.String(255)),
    sa.Column("stripe_subscription_id", sa.String(255)),
    sa.Column("subscription_current_period_end", UTCDateTime()),
    sa.Column("generations_count_current_month", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("generations_limit", sa.Integer(), nullable=False, server_default="10"),
    sa.Column("last_generation_at", UTCDateTime()),
    sa.Column("usage_reset_at", UTCDateTime(), nullable=False),
    sa.Column("default_tone", sa.String(50), nullable=False, server_default="conversational"),
    sa.Column("banned_phrases", JSONDoc, nullable=False, server_default="[]"),
    sa.Column("sample_posts", JSONDoc, nullable=False, server_default="[]"),
    sa.Column("instagram_hashtag_cap", sa.Integer(), nullable=False, server_default="5"),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
    sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=_now()),
    sa.Column("deleted_at", UTCDateTime()),
    one_of("subscription_tier", Tier.values()),
    one_of("subscription_status", SubscriptionStatus.values()),
    one_of("default_tone", Tone.values()),
    sa.CheckConstraint("generations_count_current_month >= 0", name="count_not_negative"),
    sa.CheckConstraint("generations_limit >= 0", name="limit_not_negative"),
    sa.CheckConstraint("instagram_hashtag_cap BETWEEN 0 AND 30", name="hashtag_cap_range"),
)
# Unique among live accounts only: a soft-deleted user's Clerk id, email (any case) and
# Stripe customer are free for a new account.
sa.Index(
    "uq_users_clerk_user_id_live",
    users.c.clerk_user_id,
    unique=True,
    sqlite_where=users.c.deleted_at.is_(None),
    postgresql_where=users.c.deleted_at.is_(None),
)
sa.Index(
    "uq_users_email_live",
    sa.func.lower(users.c.email),
    unique=True,
    sqlite_where=users.c.deleted_at.is_(None),
    postgresql_where=users.c.deleted_at.is_(None),
)
sa.Index(
    "uq_users_stripe_customer_id_live",
    users.c.stripe_customer_id,
    unique=True,
    sqlite_where=users.c.deleted_at.is_(None),
    postgresql_where=users.c.deleted_at.is_(None),
)
# Every account with the Clerk id, deleted ones too: what the RLS policies look up.
sa.Index("ix_users_clerk_user_id", users.c.clerk_user_id)
sa.Index("ix_users_subscription_tier", users.c.subscription_tier)


def _generation_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("input_content", sa.Text(), nullable=False),
        sa.Column("input_content_hash", sa.String(64), nullable=False),
        sa.Column("request_key", sa.String(64), nullable=False),
        sa.Column("selected_platforms", TextList, nullable=False),
        sa.Column("selected_tone", sa.String(50), nullable=False),
        sa.Column("core_message", sa.Text()),
        sa.Column("key_points", JSONDoc),
        sa.Column("detected_topic", sa.Text()),
        sa.Column("detected_audience", sa.Text()),
        *(sa.Column(f"output_{p.value}", JSONDoc) for p in Platform),
        sa.Column("platform_errors", JSONDoc, nullable=False, server_default="{}"),
        sa.Column("generation_time_ms", sa.Integer()),
        sa.Column("llm_provider", sa.String(50)),
        sa.Column("llm_model", sa.String(100)),
        sa.Column("total_tokens_used", sa.Integer()),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cached_input_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False, server_default="0"),
        # NULL: the model's price is unknown (never 0, which would read as free).
        sa.Column("estimated_cost_usd", sa.Numeric(10, 6), server_default="0"),
        sa.Column("status", sa.String(50), nullable=False, server_default="pending"),
        sa.Column("error_message", sa.Text()),
        sa.Column("charged_reset_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.Column("completed_at", UTCDateTime()),
        # The client's Idempotency-Key (HTTP), unique per user among live generations.
        sa.Column("idempotency_key", sa.String(255)),
    ]


generations = sa.Table(
    "generations",
    metadata,
    *_generation_columns(),
    one_of("selected_tone", Tone.values()),
    one_of("status", GenerationStatus.values()),
)
# The hot history query: a user's completed generations, newest first, keyset-paged.
# The predicate is constant (no NOW(): PostgreSQL refuses volatile index predicates);
# the 30-day bound is an ordinary range condition on the leading columns.
sa.Index(
    "ix_generations_user_completed_recent",
    generations.c.user_id,
    generations.c.created_at.desc(),
    generations.c.id.desc(),
    sqlite_where=generations.c.status == "completed",
    postgresql_where=generations.c.status == "completed",
)
sa.Index(
    "ix_generations_user_created",
    generations.c.user_id,
    generations.c.created_at.desc(),
    generations.c.id.desc(),
)
sa.Index("ix_generations_user_request_key", generations.c.user_id, generations.c.request_key)
# One request in flight per (user, request key): a twin cannot be inserted, and since
# the reservation and the insert share a transaction, it cannot be charged either.
sa.Index(
    "uq_generations_user_request_key_pending",
    generations.c.user_id,
    generations.c.request_key,
    unique=True,
    sqlite_where=generations.c.status == "pending",
    postgresql_where=generations.c.status == "pending",
)
sa.Index(
    "uq_generations_user_idempotency_key",
    generations.c.user_id,
    generations.c.idempotency_key,
    unique=True,
    sqlite_where=generations.c.idempotency_key.isnot(None),
    postgresql_where=generations.c.idempotency_key.isnot(None),
)
sa.Index("ix_generations_created_at", generations.c.created_at)
sa.Index(
    "ix_generations_pending_created",
    generations.c.created_at,
    sqlite_where=generations.c.status == "pending",
    postgresql_where=generations.c.status == "pending",
)

generations_archive = sa.Table(
    "generations_archive",
    metadata,
    *_generation_columns(),
    sa.Column("archived_at", UTCDateTime(), nullable=False, server_default=_now()),
    one_of("selected_tone", Tone.values()),
    one_of("status", GenerationStatus.values()),
)
sa.Index(
    "ix_generations_archive_user_created",
    generations_archive.c.user_id,
    generations_archive.c.created_at,
)

usage_logs = sa.Table(
    "usage_logs",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("generation_id", sa.Uuid(), sa.ForeignKey("generations.id", ondelete="SET NULL")),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("platform_count", sa.Integer(), nullable=False),
    sa.Column("platforms", TextList),
    sa.Column("tokens_used", sa.Integer()),
    sa.Column("estimated_cost_usd", sa.Numeric(10, 6)),
    sa.Column("user_agent", sa.Text()),
    sa.Column("ip_address", IPAddress),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
    one_of("event_type", UsageEventType.values()),
    sa.CheckConstraint("platform_count >= 0", name="platform_count_not_negative"),
)
sa.Index("ix_usage_logs_user_created", usage_logs.c.user_id, usage_logs.c.created_at)
sa.Index("ix_usage_logs_created_at", usage_logs.c.created_at)
sa.Index("ix_usage_logs_generation_id", usage_logs.c.generation_id)

usage_daily = sa.Table(
    "usage_daily",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column(
        "user_id",
        sa.Uuid(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("event_type", sa.String(50), primary_key=True),
    sa.Column("events", sa.Integer(), nullable=False),
    sa.Column("platforms", sa.Integer(), nullable=False),
    sa.Column("tokens", sa.BigInteger(), nullable=False),
    sa.Column("cost_usd", sa.Numeric(14, 6), nullable=False),
    one_of("event_type", UsageEventType.values()),
)
sa.Index("ix_usage_daily_user_id", usage_daily.c.user_id)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("stripe_subscription_id", sa.String(255), nullable=False, unique=True),
    sa.Column("stripe_customer_id", sa.String(255), nullable=False),
    sa.Column("stripe_price_id", sa.String(255), nullable=False),
    sa.Column("tier", sa.String(50), nullable=False),
    sa.Column("status", sa.String(50), nullable=False),
    sa.Column("current_period_start", UTCDateTime(), nullable=False),
    sa.Column("current_period_end", UTCDateTime(), nullable=False),
    sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("canceled_at", UTCDateTime()),
    sa.Column("amount_cents", sa.Integer(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="usd"),
    sa.Column("interval", sa.String(20), nullable=False),
    sa.Column("trial_start", UTCDateTime()),
    sa.Column("trial_end", UTCDateTime()),
    sa.Column("last_event_created", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
    sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=_now()),
    one_of("tier", Tier.values()),
    one_of("status", SubscriptionStatus.values()),
    one_of("interval", BILLING_INTERVALS),
    sa.CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
)
sa.Index("ix_subscriptions_user_id", subscriptions.c.user_id)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("source", sa.String(50), nullable=False),
    sa.Column("event_type", sa.String(255), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False, unique=True),
    sa.Column("payload", JSONDoc, nullable=False),
    sa.Column("processed", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("processed_at", UTCDateTime()),
    sa.Column("error_message", sa.Text()),
    sa.Column("retry_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
    one_of("source", WebhookSource.values()),
)
sa.Index(
    "ix_webhook_events_unprocessed",
    webhook_events.c.created_at,
    sqlite_where=sa.text("NOT processed"),
    postgresql_where=sa.text("NOT processed"),
)
sa.Index("ix_webhook_events_created_at", webhook_events.c.created_at)

USER_TABLES = ("users", "generations", "usage_logs", "subscriptions")
SYSTEM_TABLES = ("webhook_events", "generations_archive", "usage_daily")
ALL_TABLES = USER_TABLES + SYSTEM_TABLES
