"""SQL repositories: every port of ``domain.ports`` over SQLAlchemy Core.

They give the answers of the in-memory reference store and raise the same domain
errors. Each runs its statements through ``Tx`` (the unit of work's open transaction),
which also turns driver failures into domain errors.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from repurposeflow.adapters.sql.partitions import PENDING_KEY_CONSTRAINT
from repurposeflow.adapters.sql.tables import (
    generations,
    generations_archive,
    subscriptions,
    usage_daily,
    usage_logs,
    users,
    webhook_events,
)
from repurposeflow.adapters.sql.types import UTCDateTime
from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    Tone,
    UsageEventType,
    WebhookSource,
)
from repurposeflow.domain.errors import (
    DuplicateUser,
    IdempotencyKeyReused,
    NotPermitted,
    RequestInFlight,
)
from repurposeflow.domain.model import (
    Generation,
    HistoryCursor,
    Subscription,
    TokenUsage,
    UsageEvent,
    User,
    VoiceSettings,
    WebhookEvent,
)
from repurposeflow.domain.quota import Quota, next_reset
from repurposeflow.domain.stats import (
    DailyVolume,
    LatencyStats,
    PlatformPopularity,
    TierStat,
    latency_stats,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult


class Tx(Protocol):
    """What a repository needs from its unit of work."""

    @property
    def dialect(self) -> str: ...

    @property
    def acts_as_user(self) -> bool: ...

    def execute(
        self, statement: sa.Executable, params: Sequence[Mapping[str, Any]] | None = None
    ) -> CursorResult[*tuple[Any, ...]]: ...

    def savepoint(self) -> Any: ...


def _utc_param(name: str) -> sa.BindParameter[datetime]:
    return sa.bindparam(name, type_=UTCDateTime())


# --- users ----------------------------------------------------------------------------

# Which live-unique rule a violation broke, as the memory store names it. Matched
# against PostgreSQL's constraint name or SQLite's message, which names the column or
# the index.
_USER_UNIQUES = (
    ("clerk_user_id", "Clerk id"),
    ("email", "email"),
    ("stripe_customer", "Stripe customer"),
    ("pk_users", "id"),
    ("users.id", "id"),
)


def _constraint(exc: sa.exc.IntegrityError) -> str:
    """The violated constraint's name (PostgreSQL); '' when the driver gives none."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


def _is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505"


def _violated(exc: sa.exc.IntegrityError) -> str:
    return f"{_constraint(exc)} {exc.orig}"


def _duplicate_user(exc: sa.exc.IntegrityError, user: Mapping[str, Any]) -> DuplicateUser | None:
    text = _violated(exc)
    if "UNIQUE" not in text.upper() and "unique" not in text and "pk_" not in text:
        return None
    for needle, field in _USER_UNIQUES:
        if needle in text:
            value = {
                "Clerk id": user.get("clerk_user_id"),
                "email": user.get("email"),
                "Stripe customer": user.get("stripe_customer_id"),
                "id": user.get("id"),
            }[field]
            return DuplicateUser(field, str(value))
    return None


def _user_from_row(row: sa.Row[Any]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        clerk_user_id=m["clerk_user_id"],
        email=m["email"],
        full_name=m["full_name"],
        subscription_tier=Tier(m["subscription_tier"]),
        subscription_status=SubscriptionStatus(m["subscription_status"]),
        stripe_customer_id=m["stripe_customer_id"],
        stripe_subscription_id=m["stripe_subscription_id"],
        subscription_current_period_end=m["subscription_current_period_end"],
        generations_count_current_month=m["generations_count_current_month"],
        generations_limit=m["generations_limit"],
        last_generation_at=m["last_generation_at"],
        usage_reset_at=m["usage_reset_at"],
        voice=VoiceSettings(
            default_tone=Tone(m["default_tone"]),
            banned_phrases=tuple(m["banned_phrases"] or ()),
            sample_posts=tuple(m["sample_posts"] or ()),
            instagram_hashtag_cap=m["instagram_hashtag_cap"],
        ),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        deleted_at=m["deleted_at"],
    )


def _voice_values(voice: VoiceSettings) -> dict[str, Any]:
    return {
        "default_tone": Tone(voice.default_tone).value,
        "banned_phrases": list(voice.banned_phrases),
        "sample_posts": list(voice.sample_posts),
        "instagram_hashtag_cap": voice.instagram_hashtag_cap,
    }


def _user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "clerk_user_id": user.clerk_user_id,
        "email": user.email,
        "full_name": user.full_name,
        "subscription_tier": Tier(user.subscription_tier).value,
        "subscription_status": SubscriptionStatus(user.subscription_status).value,
        "stripe_customer_id": user.stripe_customer_id,
        "stripe_subscription_id": user.stripe_subscription_id,
        "subscription_current_period_end": user.subscription_current_period_end,
        "generations_count_current_month": user.generations_count_current_month,
        "generations_limit": user.generations_limit,
        "last_generation_at": user.last_generation_at,
        "usage_reset_at": user.usage_reset_at,
        "created_at": user.created_at,
        "updated_at": user.updated_at or user.created_at,
        "deleted_at": user.deleted_at,
        **_voice_values(user.voice),
    }


def _reserve_statement() -> sa.Update:
    count = users.c.generations_count_current_month
    # :limit overrides the stored limit (the trusted local path); NULL keeps it.
    ceiling = sa.func.coalesce(sa.bindparam("limit", type_=sa.Integer()), users.c.generations_limit)
    now = _utc_param("now")
    due = users.c.usage_reset_at <= now
    return (
        sa.update(users)
        .where(
            users.c.id == sa.bindparam("user_id", type_=sa.Uuid()),
            users.c.deleted_at.is_(None),
            sa.or_(sa.and_(due, ceiling > 0), count < ceiling),
        )
        .values(
            generations_count_current_month=sa.case((due, 1), else_=count + 1),
            usage_reset_at=sa.case((due, _utc_param("next_reset")), else_=users.c.usage_reset_at),
            last_generation_at=now,
        )
        .returning(count, users.c.generations_limit, users.c.usage_reset_at)
    )


# Built once: constructing the statement per call cost more CPU than running it
# (benchmarks: reservations/s on PostgreSQL).
_RESERVE = _reserve_statement()


class SqlUserRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def _write_user(
        self, statement: sa.Executable, values: Mapping[str, Any], *, returns_row: bool = False
    ) -> int:
        """Run a write that may hit a live-unique index, inside a savepoint so a
        DuplicateUser leaves the transaction usable (as the memory store does). The
        rows written (counted by RETURNING when ``returns_row``)."""
        try:
            with self._tx.savepoint():
                result = self._tx.execute(statement)
                return (result.first() is not None) if returns_row else result.rowcount
        except sa.exc.IntegrityError as exc:
            duplicate = _duplicate_user(exc, values)
            if duplicate is not None:
                raise duplicate from None
            raise

    def add(self, user: User) -> None:
        values = _user_values(user)
        self._write_user(sa.insert(users).values(**values), values)

    def add_if_absent(self, user: User) -> User:
        values = _user_values(user)
        # A twin that commits first wins; ours then inserts nothing and reads the
        # winner. No conflict target: every unique index is an arbiter, because a twin
        # collides on the email index as well as the Clerk id one, and PostgreSQL only
        # waits out an in-flight twin (instead of failing) on arbiter indexes.
        statement = (
            _dialect_insert(self._tx, users)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(users.c.id)
        )
        if self._write_user(statement, values, returns_row=True):
            return user
        live = self.get_by_clerk_id(user.clerk_user_id)
        if live is not None:
            return live
        # The clash was another account's email or customer: say which (or, if that
        # account went away meanwhile, just insert).
        self.add(user)
        return user

    def get(self, user_id: uuid.UUID) -> User | None:
        row = self._tx.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _user_from_row(row) if row else None

    def get_by_clerk_id(self, clerk_user_id: str) -> User | None:
        row = self._tx.execute(
            sa.select(users).where(
                users.c.clerk_user_id == clerk_user_id, users.c.deleted_at.is_(None)
            )
        ).first()
        return _user_from_row(row) if row else None

    def get_by_stripe_customer(self, stripe_customer_id: str) -> User | None:
        row = self._tx.execute(
            sa.select(users).where(
                users.c.stripe_customer_id == stripe_customer_id, users.c.deleted_at.is_(None)
            )
        ).first()
        return _user_from_row(row) if row else None

    def clerk_id_was_deleted(self, clerk_user_id: str) -> bool:
        row = self._tx.execute(
            sa.select(users.c.id)
            .where(users.c.clerk_user_id == clerk_user_id, users.c.deleted_at.is_not(None))
            .limit(1)
        ).first()
        return row is not None

    def get_for_update(self, user_id: uuid.UUID) -> User | None:
        # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers.
        row = self._tx.execute(
            sa.select(users).where(users.c.id == user_id).with_for_update()
        ).first()
        return _user_from_row(row) if row else None

    def update_profile(self, user_id: uuid.UUID, *, email: str, full_name: str | None) -> None:
        values = {"email": email, "full_name": full_name}
        self._write_user(sa.update(users).where(users.c.id == user_id).values(**values), values)

    def set_voice(self, user_id: uuid.UUID, voice: VoiceSettings) -> None:
        self._tx.execute(
            sa.update(users).where(users.c.id == user_id).values(**_voice_values(voice))
        )

    def set_plan(
        self,
        user_id: uuid.UUID,
        *,
        tier: Tier,
        status: SubscriptionStatus,
        limit: int,
        stripe_customer_id: str | None,
        stripe_subscription_id: str | None,
        current_period_end: datetime | None,
    ) -> None:
        values = {
            "subscription_tier": Tier(tier).value,
            "subscription_status": SubscriptionStatus(status).value,
            "generations_limit": limit,
            "stripe_customer_id": stripe_customer_id,
            "stripe_subscription_id": stripe_subscription_id,
            "subscription_current_period_end": current_period_end,
        }
        self._write_user(sa.update(users).where(users.c.id == user_id).values(**values), values)

    def soft_delete(self, user_id: uuid.UUID, now: datetime) -> None:
        self._tx.execute(
            sa.update(users)
            .where(users.c.id == user_id, users.c.deleted_at.is_(None))
            .values(deleted_at=now)
        )

    def reserve(
        self, user_id: uuid.UUID, now: datetime, *, limit: int | None = None
    ) -> Quota | None:
        """``Quota.reserve`` as one conditional UPDATE: a new window if the last has
        ended, then a unit if one is left. The row lock (PostgreSQL re-checks the WHERE
        on the newest version) or SQLite's write lock makes it impossible to over-admit
        under any interleaving."""
        if self._tx.acts_as_user:
            if limit is not None:
                raise NotPermitted("A limit override is for the trusted local path only.")
            # The app role may not write the quota columns: the same statement, as a
            # SECURITY DEFINER function (0002), with the database's clock as a ceiling.
            fn = self._tx.execute(
                sa.text("SELECT * FROM repurposeflow_reserve(:user_id, :now)").bindparams(
                    _utc_param("now")
                ),
                [{"user_id": user_id, "now": now}],
            ).first()
            return Quota(count=fn[0], limit=fn[1], reset_at=fn[2]) if fn else None
        row = self._tx.execute(
            _RESERVE,
            [{"user_id": user_id, "now": now, "next_reset": next_reset(now), "limit": limit}],
        ).first()
        if row is None:
            return None
        return Quota(count=row[0], limit=row[1] if limit is None else limit, reset_at=row[2])

    def refund(self, user_id: uuid.UUID, window: datetime) -> bool:
        """``Quota.refund`` as one conditional UPDATE."""
        if self._tx.acts_as_user:
            refunded = self._tx.execute(
                sa.text("SELECT repurposeflow_refund(:user_id, :window)").bindparams(
                    _utc_param("window")
                ),
                [{"user_id": user_id, "window": window}],
            ).scalar()
            return bool(refunded)
        count = users.c.generations_count_current_month
        result = self._tx.execute(
            sa.update(users)
            .where(
                users.c.id == user_id,
                users.c.usage_reset_at == window,
                count > 0,
            )
            .values(generations_count_current_month=count - 1)
        )
        return result.rowcount == 1


# --- generations ------------------------------------------------------------------------

_OUTPUT_COLUMN = {p: f"output_{p.value}" for p in Platform}


def _generation_values(gen: Generation) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": gen.id,
        "user_id": gen.user_id,
        "input_content": gen.input_content,
        "input_content_hash": gen.input_content_hash,
        "request_key": gen.request_key,
        "selected_platforms": [Platform(p).value for p in gen.selected_platforms],
        "selected_tone": Tone(gen.selected_tone).value,
        "core_message": gen.core_message,
        "key_points": list(gen.key_points) if gen.key_points is not None else None,
        "detected_topic": gen.detected_topic,
        "detected_audience": gen.detected_audience,
        "platform_errors": {Platform(p).value: e for p, e in gen.platform_errors.items()},
        "generation_time_ms": gen.generation_time_ms,
        "llm_provider": gen.llm_provider,
        "llm_model": gen.llm_model,
        "total_tokens_used": gen.usage.total_tokens,
        "input_tokens": gen.usage.input_tokens,
        "cached_input_tokens": gen.usage.cached_input_tokens,
        "output_tokens": gen.usage.output_tokens,
        "cache_write_tokens": gen.usage.cache_write_tokens,
        "estimated_cost_usd": gen.usage.cost_usd,
        "status": GenerationStatus(gen.status).value,
        "error_message": gen.error_message,
        "charged_reset_at": gen.charged_reset_at,
        "created_at": gen.created_at,
        "completed_at": gen.completed_at,
        "idempotency_key": gen.idempotency_key,
    }
    for platform, column in _OUTPUT_COLUMN.items():
        output = gen.outputs.get(platform)
        # None (SQL NULL), not JSON null: "no output" must read back as absent.
        values[column] = dict(output) if output is not None else sa.null()
    return values


# Plain dict lookups: calling an Enum per value was a tenth of a history page's CPU.
_PLATFORMS: dict[str, Platform] = {p.value: p for p in Platform}
_TONES: dict[str, Tone] = {t.value: t for t in Tone}
_STATUSES: dict[str, GenerationStatus] = {s.value: s for s in GenerationStatus}


def _decimal_or_none(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _generation_from_row(row: sa.Row[Any]) -> Generation:
    m = row._mapping
    key_points = m["key_points"]
    return Generation(
        id=m["id"],
        user_id=m["user_id"],
        input_content=m["input_content"],
        input_content_hash=m["input_content_hash"],
        request_key=m["request_key"],
        selected_platforms=tuple(_PLATFORMS[p] for p in m["selected_platforms"]),
        selected_tone=_TONES[m["selected_tone"]],
        created_at=m["created_at"],
        status=_STATUSES[m["status"]],
        llm_provider=m["llm_provider"],
        llm_model=m["llm_model"],
        core_message=m["core_message"],
        key_points=tuple(key_points) if key_points is not None else None,
        detected_topic=m["detected_topic"],
        detected_audience=m["detected_audience"],
        outputs={p: m[c] for p, c in _OUTPUT_COLUMN.items() if m[c] is not None},
        platform_errors={_PLATFORMS[p]: e for p, e in (m["platform_errors"] or {}).items()},
        error_message=m["error_message"],
        generation_time_ms=m["generation_time_ms"],
        usage=TokenUsage(
            input_tokens=m["input_tokens"],
            cached_input_tokens=m["cached_input_tokens"],
            output_tokens=m["output_tokens"],
            cache_write_tokens=m["cache_write_tokens"],
            cost_usd=_decimal_or_none(m["estimated_cost_usd"]),
        ),
        charged_reset_at=m["charged_reset_at"],
        completed_at=m["completed_at"],
        idempotency_key=m["idempotency_key"],
    )


class SqlGenerationRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, generation: Generation) -> None:
        statement = _dialect_insert(self._tx, generations).values(**_generation_values(generation))
        if self._tx.dialect != "postgresql":
            # The partial unique index (0002) is the rule; ON CONFLICT turns a twin in
            # flight into "nothing inserted" instead of an error that spoils the
            # transaction. A literal predicate: it must match the index's own.
            statement = statement.on_conflict_do_nothing(
                index_elements=[generations.c.user_id, generations.c.request_key],
                index_where=sa.text("status = 'pending'"),
            )
        # On PostgreSQL generations is partitioned (0005) and the rule is the primary key
        # of a key table, kept by a trigger, which carries the index's name: a twin in
        # flight is a unique violation of that name (inside the savepoint, so the
        # transaction goes on), after waiting for the twin as a unique index would.
        statement = statement.returning(generations.c.id)
        try:
            with self._tx.savepoint():
                inserted = self._tx.execute(statement).first() is not None
        except sa.exc.IntegrityError as exc:
            # PostgreSQL names the constraint; SQLite's message names the columns.
            violated = _constraint(exc) or str(exc.orig)
            # First: SQLite's "generations.idempotency_key" contains "generations.id".
            if "idempotency_key" in violated and generation.idempotency_key:
                prior = self.find_by_idempotency_key(generation.user_id, generation.idempotency_key)
                raise IdempotencyKeyReused(prior.id if prior else "(archived)") from None
            if _constraint(exc) == PENDING_KEY_CONSTRAINT:
                inserted = False
            elif "generations.id" in violated or (
                # A partition's own primary key: its name is the partition's.
                _is_unique_violation(exc) and self.get(generation.id) is not None
            ):
                raise ValueError(f"generation {generation.id} exists") from None
            else:
                raise
        if not inserted:
            if self.get(generation.id) is not None:
                raise ValueError(f"generation {generation.id} exists")
            twin = self.find_pending(generation.user_id, generation.request_key)
            raise RequestInFlight(twin.id if twin is not None else "(finished meanwhile)")

    def get(self, generation_id: uuid.UUID) -> Generation | None:
        row = self._tx.execute(
            sa.select(generations).where(generations.c.id == generation_id)
        ).first()
        return _generation_from_row(row) if row else None

    def get_for_update(self, generation_id: uuid.UUID) -> Generation | None:
        # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers.
        row = self._tx.execute(
            sa.select(generations).where(generations.c.id == generation_id).with_for_update()
        ).first()
        return _generation_from_row(row) if row else None

    def find_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Generation | None:
        row = self._tx.execute(
            sa.select(generations).where(
                generations.c.user_id == user_id, generations.c.idempotency_key == key
            )
        ).first()
        return _generation_from_row(row) if row else None

    def find_pending(self, user_id: uuid.UUID, request_key: str) -> Generation | None:
        row = self._tx.execute(
            sa.select(generations).where(
                generations.c.user_id == user_id,
                generations.c.request_key == request_key,
                generations.c.status == GenerationStatus.PENDING.value,
            )
        ).first()
        return _generation_from_row(row) if row else None

    def find_by_request_key(self, user_id: uuid.UUID, request_key: str) -> Generation | None:
        row = self._tx.execute(
            sa.select(generations)
            .where(
                generations.c.user_id == user_id,
                generations.c.request_key == request_key,
                generations.c.status == GenerationStatus.COMPLETED.value,
            )
            .order_by(generations.c.created_at.desc(), generations.c.id.desc())
            .limit(1)
        ).first()
        return _generation_from_row(row) if row else None

    def save(self, generation: Generation) -> None:
        values = _generation_values(generation)
        del values["id"]
        result = self._tx.execute(
            sa.update(generations).where(generations.c.id == generation.id).values(**values)
        )
        if result.rowcount == 0:
            raise KeyError(generation.id)

    def settle_failed(
        self, generation_id: uuid.UUID, *, error_message: str, now: datetime
    ) -> datetime | None:
        """The status guard is the exactly-once: only one transaction can move the row
        out of pending. RETURNING gives the window before it is cleared (RETURNING
        sees new values, so the clear is a second statement under the same row lock)."""
        row = self._tx.execute(
            sa.update(generations)
            .where(
                generations.c.id == generation_id,
                generations.c.status == GenerationStatus.PENDING.value,
            )
            .values(
                status=GenerationStatus.FAILED.value,
                error_message=error_message,
                completed_at=now,
            )
            .returning(generations.c.charged_reset_at)
        ).first()
        if row is None:
            return None
        self._tx.execute(
            sa.update(generations)
            .where(generations.c.id == generation_id)
            .values(charged_reset_at=None)
        )
        charged: datetime | None = row[0]
        return charged

    def list_for_user(
        self,
        user_id: uuid.UUID,
        *,
        limit: int,
        before: HistoryCursor | None = None,
        status: GenerationStatus | None = None,
        since: datetime | None = None,
        platform: Platform | None = None,
    ) -> list[Generation]:
        statement = sa.select(generations).where(generations.c.user_id == user_id)
        if status is not None:
            statement = statement.where(generations.c.status == GenerationStatus(status).value)
        if since is not None:
            statement = statement.where(generations.c.created_at > since)
        if platform is not None:
            if self._tx.dialect == "postgresql":
                statement = statement.where(
                    sa.literal(Platform(platform).value)
                    == sa.func.any(generations.c.selected_platforms)
                )
            else:
                statement = statement.where(
                    sa.text(
                        "EXISTS (SELECT 1 FROM json_each(generations.selected_platforms) AS p "
                        "WHERE p.value = :platform)"
                    ).bindparams(platform=Platform(platform).value)
                )
        if before is not None:
            statement = statement.where(
                sa.tuple_(generations.c.created_at, generations.c.id)
                < sa.tuple_(
                    sa.literal(before.created_at, UTCDateTime()),
                    sa.literal(before.id, sa.Uuid()),
                )
            )
        statement = statement.order_by(
            generations.c.created_at.desc(), generations.c.id.desc()
        ).limit(limit)
        # all(): one fetchall from the driver, not a fetchone per row.
        return [_generation_from_row(r) for r in self._tx.execute(statement).all()]

    def stale_pending(self, older_than: datetime, limit: int) -> list[uuid.UUID]:
        rows = self._tx.execute(
            sa.select(generations.c.id)
            .where(
                generations.c.status == GenerationStatus.PENDING.value,
                generations.c.created_at < older_than,
            )
            .order_by(generations.c.created_at, generations.c.id)
            .limit(limit)
        )
        return [r[0] for r in rows]


# --- usage logs ------------------------------------------------------------------------


def _usage_from_row(row: sa.Row[Any]) -> UsageEvent:
    m = row._mapping
    cost = m["estimated_cost_usd"]
    ip = m["ip_address"]
    return UsageEvent(
        id=m["id"],
        user_id=m["user_id"],
        generation_id=m["generation_id"],
        event_type=UsageEventType(m["event_type"]),
        platforms=tuple(Platform(p) for p in (m["platforms"] or ())),
        tokens_used=m["tokens_used"],
        estimated_cost_usd=Decimal(cost) if cost is not None else None,
        user_agent=m["user_agent"],
        ip_address=str(ip) if ip is not None else None,
        created_at=m["created_at"],
    )


class SqlUsageLogRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, event: UsageEvent) -> None:
        self._tx.execute(
            sa.insert(usage_logs).values(
                id=event.id,
                user_id=event.user_id,
                generation_id=event.generation_id,
                event_type=UsageEventType(event.event_type).value,
                platform_count=event.platform_count,
                platforms=[Platform(p).value for p in event.platforms],
                tokens_used=event.tokens_used,
                estimated_cost_usd=event.estimated_cost_usd,
                user_agent=event.user_agent,
                ip_address=event.ip_address,
                created_at=event.created_at,
            )
        )

    def list_for_user(self, user_id: uuid.UUID, limit: int = 100) -> list[UsageEvent]:
        rows = self._tx.execute(
            sa.select(usage_logs)
            .where(usage_logs.c.user_id == user_id)
            .order_by(usage_logs.c.created_at.desc(), usage_logs.c.id.desc())
            .limit(limit)
        )
        return [_usage_from_row(r) for r in rows]


# --- subscriptions ------------------------------------------------------------------------


def _subscription_from_row(row: sa.Row[Any]) -> Subscription:
    m = row._mapping
    return Subscription(
        id=m["id"],
        user_id=m["user_id"],
        stripe_subscription_id=m["stripe_subscription_id"],
        stripe_customer_id=m["stripe_customer_id"],
        stripe_price_id=m["stripe_price_id"],
        tier=Tier(m["tier"]),
        status=SubscriptionStatus(m["status"]),
        current_period_start=m["current_period_start"],
        current_period_end=m["current_period_end"],
        amount_cents=m["amount_cents"],
        interval=m["interval"],
        created_at=m["created_at"],
        currency=m["currency"],
        cancel_at_period_end=m["cancel_at_period_end"],
        canceled_at=m["canceled_at"],
        trial_start=m["trial_start"],
        trial_end=m["trial_end"],
        last_event_created=m["last_event_created"],
        updated_at=m["updated_at"],
    )


def _dialect_insert(tx: Tx, table: sa.Table) -> Any:
    return (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(table)


class SqlSubscriptionRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def get_by_stripe_id(self, stripe_subscription_id: str) -> Subscription | None:
        row = self._tx.execute(
            sa.select(subscriptions).where(
                subscriptions.c.stripe_subscription_id == stripe_subscription_id
            )
        ).first()
        return _subscription_from_row(row) if row else None

    def upsert(self, subscription: Subscription) -> None:
        s = subscription
        values = {
            "id": s.id,
            "user_id": s.user_id,
            "stripe_subscription_id": s.stripe_subscription_id,
            "stripe_customer_id": s.stripe_customer_id,
            "stripe_price_id": s.stripe_price_id,
            "tier": Tier(s.tier).value,
            "status": SubscriptionStatus(s.status).value,
            "current_period_start": s.current_period_start,
            "current_period_end": s.current_period_end,
            "cancel_at_period_end": s.cancel_at_period_end,
            "canceled_at": s.canceled_at,
            "amount_cents": s.amount_cents,
            "currency": s.currency,
            "interval": s.interval,
            "trial_start": s.trial_start,
            "trial_end": s.trial_end,
            "last_event_created": s.last_event_created,
            "created_at": s.created_at,
            "updated_at": s.updated_at or s.created_at,
        }
        statement = _dialect_insert(self._tx, subscriptions).values(**values)
        # The row keeps its id and created_at; everything else is the newest state.
        kept = {"id", "created_at", "stripe_subscription_id"}
        statement = statement.on_conflict_do_update(
            index_elements=[subscriptions.c.stripe_subscription_id],
            set_={k: statement.excluded[k] for k in values if k not in kept},
        )
        self._tx.execute(statement)

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]:
        rows = self._tx.execute(
            sa.select(subscriptions)
            .where(subscriptions.c.user_id == user_id)
            .order_by(subscriptions.c.created_at.desc(), subscriptions.c.id.desc())
        )
        return [_subscription_from_row(r) for r in rows]


# --- webhook events -----------------------------------------------------------------------


def _webhook_from_row(row: sa.Row[Any]) -> WebhookEvent:
    m = row._mapping
    return WebhookEvent(
        id=m["id"],
        source=WebhookSource(m["source"]),
        event_type=m["event_type"],
        event_id=m["event_id"],
        payload=m["payload"],
        created_at=m["created_at"],
        processed=m["processed"],
        processed_at=m["processed_at"],
        error_message=m["error_message"],
        retry_count=m["retry_count"],
    )


class SqlWebhookEventRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add_if_new(self, event: WebhookEvent) -> bool:
        statement = (
            _dialect_insert(self._tx, webhook_events)
            .values(
                id=event.id,
                source=WebhookSource(event.source).value,
                event_type=event.event_type,
                event_id=event.event_id,
                payload=dict(event.payload),
                created_at=event.created_at,
                processed=event.processed,
                processed_at=event.processed_at,
                error_message=event.error_message,
                retry_count=event.retry_count,
            )
            .on_conflict_do_nothing(index_elements=[webhook_events.c.event_id])
            .returning(webhook_events.c.id)
        )
        return self._tx.execute(statement).first() is not None

    def get_by_event_id(self, event_id: str) -> WebhookEvent | None:
        row = self._tx.execute(
            sa.select(webhook_events).where(webhook_events.c.event_id == event_id)
        ).first()
        return _webhook_from_row(row) if row else None

    def mark_processed(self, event_id: str, now: datetime) -> None:
        self._tx.execute(
            sa.update(webhook_events)
            .where(webhook_events.c.event_id == event_id)
            .values(processed=True, processed_at=now, error_message=None)
        )

    def mark_failed(self, event_id: str, error: str) -> None:
        self._tx.execute(
            sa.update(webhook_events)
            .where(webhook_events.c.event_id == event_id)
            .values(error_message=error, retry_count=webhook_events.c.retry_count + 1)
        )

    def list_unprocessed(self, limit: int = 100) -> list[WebhookEvent]:
        rows = self._tx.execute(
            sa.select(webhook_events)
            .where(webhook_events.c.processed == sa.false())
            .order_by(webhook_events.c.created_at, webhook_events.c.id)
            .limit(limit)
        )
        return [_webhook_from_row(r) for r in rows]

    def list_events(
        self,
        *,
        limit: int = 100,
        since: datetime | None = None,
        unprocessed_only: bool = False,
        oldest_first: bool = False,
    ) -> list[WebhookEvent]:
        statement = sa.select(webhook_events)
        if since is not None:
            statement = statement.where(webhook_events.c.created_at >= since)
        if unprocessed_only:
            statement = statement.where(webhook_events.c.processed == sa.false())
        columns = (webhook_events.c.created_at, webhook_events.c.id)
        order = columns if oldest_first else tuple(c.desc() for c in columns)
        rows = self._tx.execute(statement.order_by(*order).limit(limit))
        return [_webhook_from_row(r) for r in rows]


# --- retention and monitoring ---------------------------------------------------------------


class SqlMaintenanceRepository:
    """Retention moves rows with ``DELETE … RETURNING`` and then writes what *this*
    statement deleted: two runs at once (or a rerun after a crash) can never fold or
    archive a row twice, because a row is deleted at most once."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def archive_generations(self, cutoff: datetime, batch_size: int) -> int:
        oldest = (
            sa.select(generations.c.id)
            .where(generations.c.created_at < cutoff)
            .order_by(generations.c.created_at, generations.c.id)
            .limit(batch_size)
        )
        moved = self._tx.execute(
            sa.delete(generations)
            .where(generations.c.id.in_(oldest.scalar_subquery()))
            .returning(*generations.c)
        ).all()
        if not moved:
            return 0
        rows = [dict(r._mapping) for r in moved]
        for row in rows:
            for column in _OUTPUT_COLUMN.values():
                if row[column] is None:
                    row[column] = sa.null()
        statement = _dialect_insert(self._tx, generations_archive).on_conflict_do_nothing(
            index_elements=[generations_archive.c.id]
        )
        for row in rows:
            self._tx.execute(statement.values(**row))
        return len(rows)

    def aggregate_usage_logs(self, cutoff: datetime, batch_size: int) -> tuple[int, int]:
        oldest = (
            sa.select(usage_logs.c.id)
            .where(usage_logs.c.created_at < cutoff)
            .order_by(usage_logs.c.created_at, usage_logs.c.id)
            .limit(batch_size)
        )
        folded = self._tx.execute(
            sa.delete(usage_logs)
            .where(usage_logs.c.id.in_(oldest.scalar_subquery()))
            .returning(
                usage_logs.c.user_id,
                usage_logs.c.event_type,
                usage_logs.c.created_at,
                usage_logs.c.platform_count,
                usage_logs.c.tokens_used,
                usage_logs.c.estimated_cost_usd,
            )
        ).all()
        sums: dict[tuple[date, uuid.UUID, str], list[Any]] = defaultdict(
            lambda: [0, 0, 0, Decimal("0")]
        )
        for user_id, event_type, created_at, platform_count, tokens, cost in folded:
            acc = sums[(created_at.date(), user_id, event_type)]
            acc[0] += 1
            acc[1] += platform_count
            acc[2] += tokens or 0
            acc[3] += Decimal(cost) if cost is not None else Decimal("0")
        for (day, user_id, event_type), (events, platforms, tokens, cost) in sums.items():
            statement = _dialect_insert(self._tx, usage_daily).values(
                day=day,
                user_id=user_id,
                event_type=event_type,
                events=events,
                platforms=platforms,
                tokens=tokens,
                cost_usd=cost,
            )
            statement = statement.on_conflict_do_update(
                index_elements=[usage_daily.c.day, usage_daily.c.user_id, usage_daily.c.event_type],
                set_={
                    "events": usage_daily.c.events + statement.excluded.events,
                    "platforms": usage_daily.c.platforms + statement.excluded.platforms,
                    "tokens": usage_daily.c.tokens + statement.excluded.tokens,
                    "cost_usd": usage_daily.c.cost_usd + statement.excluded.cost_usd,
                },
            )
            self._tx.execute(statement)
        return len(folded), len(sums)

    def purge_webhook_events(self, cutoff: datetime, batch_size: int) -> int:
        oldest = (
            sa.select(webhook_events.c.id)
            .where(webhook_events.c.processed == sa.true(), webhook_events.c.created_at < cutoff)
            .order_by(webhook_events.c.created_at, webhook_events.c.id)
            .limit(batch_size)
        )
        gone = self._tx.execute(
            sa.delete(webhook_events)
            .where(webhook_events.c.id.in_(oldest.scalar_subquery()))
            .returning(webhook_events.c.id)
        ).all()
        return len(gone)

    def tier_stats(self) -> list[TierStat]:
        rows = self._tx.execute(
            sa.select(
                users.c.subscription_tier,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(users.c.generations_count_current_month), 0),
            )
            .where(
                users.c.subscription_status == SubscriptionStatus.ACTIVE.value,
                users.c.deleted_at.is_(None),
            )
            .group_by(users.c.subscription_tier)
            .order_by(users.c.subscription_tier)
        )
        return [TierStat(Tier(tier), int(n), int(total)) for tier, n, total in rows]

    def daily_volume(self, since: datetime) -> list[DailyVolume]:
        if self._tx.dialect == "postgresql":
            day_sql = "(created_at AT TIME ZONE 'UTC')::date"
        else:
            day_sql = "date(created_at)"
        statement = sa.text(
            f"SELECT {day_sql} AS day, count(*) AS generations,"
            " count(DISTINCT user_id) AS active_users"
            " FROM generations WHERE created_at > :since"
            " GROUP BY day ORDER BY day DESC"
        ).bindparams(_utc_param("since"))
        rows = self._tx.execute(statement, [{"since": since}])
        return [
            DailyVolume(
                day if isinstance(day, date) else date.fromisoformat(day), int(n), int(active)
            )
            for day, n, active in rows
        ]

    def platform_popularity(self, since: datetime) -> list[PlatformPopularity]:
        if self._tx.dialect == "postgresql":
            source = "generations, unnest(generations.selected_platforms) AS p(platform)"
            platform = "p.platform"
        else:
            source = "generations, json_each(generations.selected_platforms) AS p"
            platform = "p.value"
        statement = sa.text(
            f"SELECT {platform} AS platform, count(*) AS usage_count FROM {source}"
            " WHERE generations.created_at > :since"
            f" GROUP BY {platform} ORDER BY usage_count DESC, platform"
        ).bindparams(_utc_param("since"))
        rows = self._tx.execute(statement, [{"since": since}])
        return [PlatformPopularity(Platform(p), int(n)) for p, n in rows]

    def latency(self, since: datetime) -> LatencyStats:
        ms = generations.c.generation_time_ms
        where = (
            generations.c.created_at > since,
            generations.c.status == GenerationStatus.COMPLETED.value,
            ms.is_not(None),
        )
        if self._tx.dialect != "postgresql":
            # No PERCENTILE_CONT in SQLite: the same interpolation, in Python.
            values = self._tx.execute(sa.select(ms).where(*where)).scalars()
            return latency_stats(values)
        row = self._tx.execute(
            sa.select(
                sa.func.count(ms),
                sa.func.avg(ms),
                sa.func.percentile_cont(0.5).within_group(ms),
                sa.func.percentile_cont(0.95).within_group(ms),
            ).where(*where)
        ).one()
        samples, avg, p50, p95 = row
        if not samples:
            return LatencyStats(0, None, None, None)
        return LatencyStats(int(samples), float(avg), float(p50), float(p95))
