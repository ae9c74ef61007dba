"""Initial schema: the seed's tables, corrected, plus the archive and daily usage.

Both dialects: every table, foreign key and index; CHECK constraints on every enum
column; live-only unique indexes (a soft-deleted user's Clerk id, email and Stripe
customer are free again); no NOW() in any index predicate.

PostgreSQL only: CHECKs on the platform arrays, the ``updated_at`` trigger, the two
NOLOGIN roles and their grants, and row-level security with FORCE on every table (see
``repurposeflow.adapters.sql.uow`` for how the roles are used). Roles belong to the
whole cluster, not to this database, so downgrade leaves them in place.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

APP_ROLE = "repurposeflow_app"
SYSTEM_ROLE = "repurposeflow_system"

# The vocabularies as of this revision (domain/enums.py): a later change of an enum
# needs a migration that replaces the CHECK.
TIERS = ("free", "pro", "business")
SUBSCRIPTION_STATUSES = (
    "active",
    "trialing",
    "past_due",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "unpaid",
    "paused",
)
PLATFORMS = ("tiktok", "twitter", "threads", "linkedin", "instagram", "email")
TONES = ("conversational", "educational", "opinionated", "authority")
GENERATION_STATUSES = ("pending", "completed", "partial", "failed")
USAGE_EVENT_TYPES = (
    "generation_started",
    "generation_completed",
    "generation_partial",
    "generation_failed",
    "generation_cached",
    "generation_refunded",
    "platform_regenerated",
)
WEBHOOK_SOURCES = ("stripe", "clerk")
BILLING_INTERVALS = ("day", "week", "month", "year")

USER_TABLES = ("users", "generations", "usage_logs", "subscriptions")
SYSTEM_TABLES = ("webhook_events", "generations_archive", "usage_daily")

TS = sa.DateTime(timezone=True)
NOW = sa.text("CURRENT_TIMESTAMP")


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _texts() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


def _generation_columns(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("input_content", sa.Text(), nullable=False),
        sa.Column("input_content_hash", sa.String(64), nullable=False),
        sa.Column("request_key", sa.String(64), nullable=False),
        sa.Column("selected_platforms", _texts(), nullable=False),
        sa.Column("selected_tone", sa.String(50), nullable=False),
        sa.Column("core_message", sa.Text(), nullable=True),
        sa.Column("key_points", _json(), nullable=True),
        sa.Column("detected_topic", sa.Text(), nullable=True),
        sa.Column("detected_audience", sa.Text(), nullable=True),
        *(sa.Column(f"output_{p}", _json(), nullable=True) for p in PLATFORMS),
        sa.Column("platform_errors", _json(), server_default="{}", nullable=False),
        sa.Column("generation_time_ms", sa.Integer(), nullable=True),
        sa.Column("llm_provider", sa.String(50), nullable=True),
        sa.Column("llm_model", sa.String(100), nullable=True),
        sa.Column("total_tokens_used", sa.Integer(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cached_input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("estimated_cost_usd", sa.Numeric(10, 6), server_default="0", nullable=False),
        sa.Column("status", sa.String(50), server_default="pending", nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("charged_reset_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=NOW, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        _one_of(table, "selected_tone", TONES),
        _one_of(table, "status", GENERATION_STATUSES),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    live = sa.text("deleted_at IS NULL")
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clerk_user_id", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("full_name", sa.String(255), nullable=True),
        sa.Column("subscription_tier", sa.String(50), server_default="free", nullable=False),
        sa.Column("subscription_status", sa.String(50), server_default="active", nullable=False),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
        sa.Column("subscription_current_period_end", TS, nullable=True),
        sa.Column(
            "generations_count_current_month", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column("generations_limit", sa.Integer(), server_default="10", nullable=False),
        sa.Column("last_generation_at", TS, nullable=True),
        sa.Column("usage_reset_at", TS, nullable=False),
        sa.Column("default_tone", sa.String(50), server_default="conversational", nullable=False),
        sa.Column("banned_phrases", _json(), server_default="[]", nullable=False),
        sa.Column("sample_posts", _json(), server_default="[]", nullable=False),
        sa.Column("instagram_hashtag_cap", sa.Integer(), server_default="5", nullable=False),
        sa.Column("created_at", TS, server_default=NOW, nullable=False),
        sa.Column("updated_at", TS, server_default=NOW, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        _one_of("users", "subscription_tier", TIERS),
        _one_of("users", "subscription_status", SUBSCRIPTION_STATUSES),
        _one_of("users", "default_tone", TONES),
        sa.CheckConstraint(
            "generations_count_current_month >= 0", name=op.f("ck_users_count_not_negative")
        ),
        sa.CheckConstraint("generations_limit >= 0", name=op.f("ck_users_limit_not_negative")),
        sa.CheckConstraint(
            "instagram_hashtag_cap BETWEEN 0 AND 30", name=op.f("ck_users_hashtag_cap_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    for name, columns in (
        ("uq_users_clerk_user_id_live", ["clerk_user_id"]),
        ("uq_users_email_live", [sa.text("lower(email)")]),
        ("uq_users_stripe_customer_id_live", ["stripe_customer_id"]),
    ):
        op.create_index(
            name, "users", columns, unique=True, sqlite_where=live, postgresql_where=live
        )
    op.create_index("ix_users_clerk_user_id", "users", ["clerk_user_id"])
    op.create_index("ix_users_subscription_tier", "users", ["subscription_tier"])

    op.create_table("generations", *_generation_columns("generations"))
    completed = sa.text("status = 'completed'")
    pending = sa.text("status = 'pending'")
    newest_first = ["user_id", sa.text("created_at DESC"), sa.text("id DESC")]
    op.create_index(
        "ix_generations_user_completed_recent",
        "generations",
        newest_first,
        sqlite_where=completed,
        postgresql_where=completed,
    )
    op.create_index("ix_generations_user_created", "generations", newest_first)
    op.create_index("ix_generations_user_request_key", "generations", ["user_id", "request_key"])
    op.create_index("ix_generations_created_at", "generations", ["created_at"])
    op.create_index(
        "ix_generations_pending_created",
        "generations",
        ["created_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )

    op.create_table(
        "generations_archive",
        *_generation_columns("generations_archive"),
        sa.Column("archived_at", TS, server_default=NOW, nullable=False),
    )
    op.create_index(
        "ix_generations_archive_user_created", "generations_archive", ["user_id", "created_at"]
    )

    op.create_table(
        "usage_logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("platform_count", sa.Integer(), nullable=False),
        sa.Column("platforms", _texts(), nullable=True),
        sa.Column("tokens_used", sa.Integer(), nullable=True),
        sa.Column("estimated_cost_usd", sa.Numeric(10, 6), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column(
            "ip_address", sa.String(45).with_variant(postgresql.INET(), "postgresql"), nullable=True
        ),
        sa.Column("created_at", TS, server_default=NOW, nullable=False),
        _one_of("usage_logs", "event_type", USAGE_EVENT_TYPES),
        sa.CheckConstraint(
            "platform_count >= 0", name=op.f("ck_usage_logs_platform_count_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_usage_logs_generation_id_generations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_usage_logs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_logs")),
    )
    op.create_index("ix_usage_logs_user_created", "usage_logs", ["user_id", "created_at"])
    op.create_index("ix_usage_logs_created_at", "usage_logs", ["created_at"])
    op.create_index("ix_usage_logs_generation_id", "usage_logs", ["generation_id"])

    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("platforms", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(14, 6), nullable=False),
        _one_of("usage_daily", "event_type", USAGE_EVENT_TYPES),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_usage_daily_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day", "user_id", "event_type", name=op.f("pk_usage_daily")),
    )
    op.create_index("ix_usage_daily_user_id", "usage_daily", ["user_id"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=False),
        sa.Column("stripe_customer_id", sa.String(255), nullable=False),
        sa.Column("stripe_price_id", sa.String(255), nullable=False),
        sa.Column("tier", sa.String(50), nullable=False),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("current_period_start", TS, nullable=False),
        sa.Column("current_period_end", TS, nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("canceled_at", TS, nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), server_default="usd", nullable=False),
        sa.Column("interval", sa.String(20), nullable=False),
        sa.Column("trial_start", TS, nullable=True),
        sa.Column("trial_end", TS, nullable=True),
        sa.Column("last_event_created", TS, nullable=True),
        sa.Column("created_at", TS, server_default=NOW, nullable=False),
        sa.Column("updated_at", TS, server_default=NOW, nullable=False),
        _one_of("subscriptions", "tier", TIERS),
        _one_of("subscriptions", "status", SUBSCRIPTION_STATUSES),
        _one_of("subscriptions", "interval", BILLING_INTERVALS),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_subscriptions_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "stripe_subscription_id", name=op.f("uq_subscriptions_stripe_subscription_id")
        ),
    )
    op.create_index("ix_subscriptions_user_id", "subscriptions", ["user_id"])

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("processed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", TS, server_default=NOW, nullable=False),
        _one_of("webhook_events", "source", WEBHOOK_SOURCES),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_events_event_id")),
    )
    unprocessed = sa.text("NOT processed")
    op.create_index(
        "ix_webhook_events_unprocessed",
        "webhook_events",
        ["created_at"],
        sqlite_where=unprocessed,
        postgresql_where=unprocessed,
    )
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def _sqlite_upgrade() -> None:
    # A SQLite CHECK may not hold a subquery, so the platform arrays are checked by
    # triggers; RAISE(ABORT) is a constraint error, like a failed CHECK.
    allowed = ", ".join(f"'{p}'" for p in PLATFORMS)
    for table, column in (
        ("generations", "selected_platforms"),
        ("generations_archive", "selected_platforms"),
        ("usage_logs", "platforms"),
    ):
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER trg_{table}_{column}_{event.lower()} BEFORE {event} ON {table} "
                f"WHEN NEW.{column} IS NOT NULL AND EXISTS "
                f"(SELECT 1 FROM json_each(NEW.{column}) WHERE value NOT IN ({allowed})) "
                f"BEGIN SELECT RAISE(ABORT, 'unknown platform in {table}.{column}'); END"
            )


# --- PostgreSQL: array checks, triggers, roles, grants, row-level security -------------

# Evaluated once per statement (an initPlan), not once per row; '' and "not set" both
# mean nobody.
CURRENT_USER_ID = "(SELECT NULLIF(current_setting('app.current_user_id', true), ''))"
OWN_USER_IDS = f"(SELECT u.id FROM users u WHERE u.clerk_user_id = {CURRENT_USER_ID})"


def _create_role(name: str) -> None:
    # Roles are cluster-wide: another database (or a concurrent migration) may have
    # made it already.
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
            CREATE ROLE {name} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
          END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
    )


def _postgresql_upgrade() -> None:
    platforms = "ARRAY[" + ", ".join(f"'{p}'" for p in PLATFORMS) + "]::text[]"
    for table in ("generations", "generations_archive"):
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_selected_platforms CHECK "
            f"(cardinality(selected_platforms) > 0 AND selected_platforms <@ {platforms})"
        )
    op.execute(
        "ALTER TABLE usage_logs ADD CONSTRAINT ck_usage_logs_platforms CHECK "
        f"(platforms <@ {platforms})"
    )

    op.execute(
        """
        CREATE FUNCTION repurposeflow_touch_updated_at() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          NEW.updated_at = now();
          RETURN NEW;
        END $$
        """
    )
    for table in ("users", "subscriptions"):
        op.execute(
            f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION repurposeflow_touch_updated_at()"
        )

    _create_role(APP_ROLE)
    _create_role(SYSTEM_ROLE)
    # The role that migrates is the one the adapter logs in as unless told otherwise:
    # let it SET ROLE to both. (A superuser needs no grant; a non-superuser owner may
    # lack the right to grant, and then an administrator grants it.)
    op.execute(
        f"""
        DO $$
        DECLARE attempt integer;
        BEGIN
          -- Memberships are cluster-wide rows that another database's migration may be
          -- changing at this moment ("tuple concurrently updated"): retry a few times.
          FOR attempt IN 1..20 LOOP
            BEGIN
              EXECUTE format('GRANT {APP_ROLE}, {SYSTEM_ROLE} TO %I', current_user);
              EXIT;
            EXCEPTION WHEN internal_error OR deadlock_detected THEN
              PERFORM pg_sleep(0.05 * attempt);
            END;
          END LOOP;
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}, {SYSTEM_ROLE}',
                         current_schema());
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END $$
        """
    )
    everything = ", ".join(USER_TABLES + SYSTEM_TABLES)
    # Privileges say which statements may run; the policies below say on which rows.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {everything} TO {SYSTEM_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {everything} TO {APP_ROLE}")

    for table in USER_TABLES + SYSTEM_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_system ON {table} FOR ALL TO {SYSTEM_ROLE} "
            "USING (true) WITH CHECK (true)"
        )

    # A person reads, adds and changes their own rows; no DELETE policy, so the app
    # role deletes nothing. The system tables get no app policy at all: zero rows.
    own = {
        "users": f"clerk_user_id = {CURRENT_USER_ID}",
        "generations": f"user_id IN {OWN_USER_IDS}",
        "usage_logs": f"user_id IN {OWN_USER_IDS}",
        "subscriptions": f"user_id IN {OWN_USER_IDS}",
    }
    for table, predicate in own.items():
        op.execute(
            f"CREATE POLICY {table}_own_select ON {table} FOR SELECT TO {APP_ROLE} "
            f"USING ({predicate})"
        )
        op.execute(
            f"CREATE POLICY {table}_own_insert ON {table} FOR INSERT TO {APP_ROLE} "
            f"WITH CHECK ({predicate})"
        )
        op.execute(
            f"CREATE POLICY {table}_own_update ON {table} FOR UPDATE TO {APP_ROLE} "
            f"USING ({predicate}) WITH CHECK ({predicate})"
        )


def downgrade() -> None:
    # Dropping a table drops its policies, triggers, grants and indexes with it.
    for table in (
        "webhook_events",
        "subscriptions",
        "usage_daily",
        "usage_logs",
        "generations_archive",
        "generations",
        "users",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS repurposeflow_touch_updated_at()")
