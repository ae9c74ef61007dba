"""In-memory unit of work over plain dicts.

A unit of work holds the store's lock from ``__enter__`` to ``__exit__``: transactions are
serial (like SQLite's ``BEGIN IMMEDIATE``), so a rollback can restore the rows it touched
without clobbering anybody else's work. Keep blocks short: never call an engine inside.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import attrs

from repurposeflow.adapters.memory import queries
from repurposeflow.domain.enums import GenerationStatus, Platform
from repurposeflow.domain.errors import (
    DuplicateUser,
    IdempotencyKeyReused,
    QuotaExhausted,
    RequestInFlight,
)
from repurposeflow.domain.model import (
    Generation,
    HistoryCursor,
    Subscription,
    UsageEvent,
    User,
    VoiceSettings,
    WebhookEvent,
)
from repurposeflow.domain.quota import Quota
from repurposeflow.domain.stats import (
    DailyVolume,
    LatencyStats,
    PlatformPopularity,
    TierStat,
    latency_stats,
)

_MISSING = object()


class MemoryStore:
    """The data: one dict per table. Share one store between units of work."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[uuid.UUID, User] = {}
        self.generations: dict[uuid.UUID, Generation] = {}
        self.generations_archive: dict[uuid.UUID, Generation] = {}
        self.usage_logs: dict[uuid.UUID, UsageEvent] = {}
        # (day, user_id, event_type) -> {"events": n, "platforms": n, "tokens": n, "cost": Decimal}
        self.usage_daily: dict[tuple[Any, uuid.UUID, str], dict[str, Any]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.webhook_events: dict[str, WebhookEvent] = {}

    def uow(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    __call__ = uow


class _Tx:
    """The undo log of one unit of work."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.undo: list[Callable[[], None]] = []

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        previous = table.get(key, _MISSING)
        self.undo.append(lambda: self._restore(table, key, previous))
        table[key] = value

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        previous = table.pop(key)
        self.undo.append(lambda: self._restore(table, key, previous))

    @staticmethod
    def _restore(table: dict[Any, Any], key: Any, previous: Any) -> None:
        if previous is _MISSING:
            table.pop(key, None)
        else:
            table[key] = previous


class MemoryUserRepository:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx
        self._rows = tx.store.users

    def _live(self) -> list[User]:
        return [u for u in self._rows.values() if u.deleted_at is None]

    def _check_unique(self, user: User) -> None:
        for other in self._live():
            if other.id == user.id:
                continue
            if other.clerk_user_id == user.clerk_user_id:
                raise DuplicateUser("Clerk id", user.clerk_user_id)
            if other.email.lower() == user.email.lower():
                raise DuplicateUser("email", user.email)
            if user.stripe_customer_id and other.stripe_customer_id == user.stripe_customer_id:
                raise DuplicateUser("Stripe customer", user.stripe_customer_id)

    def add(self, user: User) -> None:
        if user.id in self._rows:
            raise DuplicateUser("id", str(user.id))
        if user.deleted_at is None:
            self._check_unique(user)
        self._tx.put(self._rows, user.id, user)

    def add_if_absent(self, user: User) -> User:
        live = self.get_by_clerk_id(user.clerk_user_id)
        if live is not None:
            return live
        self.add(user)
        return user

    def get(self, user_id: uuid.UUID) -> User | None:
        return self._rows.get(user_id)

    def get_by_clerk_id(self, clerk_user_id: str) -> User | None:
        return next((u for u in self._live() if u.clerk_user_id == clerk_user_id), None)

    def get_by_stripe_customer(self, stripe_customer_id: str) -> User | None:
        return next((u for u in self._live() if u.stripe_customer_id == stripe_customer_id), None)

    def clerk_id_was_deleted(self, clerk_user_id: str) -> bool:
        return any(
            u.clerk_user_id == clerk_user_id and u.deleted_at is not None
            for u in self._rows.values()
        )

    def get_for_update(self, user_id: uuid.UUID) -> User | None:
        # The unit of work already holds the store's lock.
        return self._rows.get(user_id)

    def _update(self, user_id: uuid.UUID, **changes: Any) -> None:
        user = self._rows.get(user_id)
        if user is None:
            return
        updated = attrs.evolve(user, **changes)
        if updated.deleted_at is None:
            self._check_unique(updated)
        self._tx.put(self._rows, user_id, updated)

    def update_profile(self, user_id: uuid.UUID, *, email: str, full_name: str | None) -> None:
        self._update(user_id, email=email, full_name=full_name)

    def set_voice(self, user_id: uuid.UUID, voice: VoiceSettings) -> None:
        self._update(user_id, voice=voice)

    def set_plan(self, user_id: uuid.UUID, **plan: Any) -> None:
        self._update(
            user_id,
            subscription_tier=plan["tier"],
            subscription_status=plan["status"],
            generations_limit=plan["limit"],
            stripe_customer_id=plan["stripe_customer_id"],
            stripe_subscription_id=plan["stripe_subscription_id"],
            subscription_current_period_end=plan["current_period_end"],
        )

    def soft_delete(self, user_id: uuid.UUID, now: datetime) -> None:
        user = self._rows.get(user_id)
        if user is not None and user.deleted_at is None:
            self._update(user_id, deleted_at=now)

    def reserve(
        self, user_id: uuid.UUID, now: datetime, *, limit: int | None = None
    ) -> Quota | None:
        user = self._rows.get(user_id)
        if user is None or user.deleted_at is not None:
            return None
        quota = user.quota if limit is None else attrs.evolve(user.quota, limit=limit)
        try:
            quota = quota.reserve(now)
        except QuotaExhausted:
            return None
        stored = attrs.evolve(
            user,
            generations_count_current_month=quota.count,
            usage_reset_at=quota.reset_at,
            last_generation_at=now,
        )
        self._tx.put(self._rows, user_id, stored)
        return quota

    def refund(self, user_id: uuid.UUID, window: datetime) -> bool:
        user = self._rows.get(user_id)
        if user is None:
            return False
        before = user.quota
        after = before.refund(window)
        if after == before:
            return False
        self._tx.put(self._rows, user_id, user.with_quota(after))
        return True


class MemoryGenerationRepository:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx
        self._rows = tx.store.generations

    def add(self, generation: Generation) -> None:
        if generation.id in self._rows:
            raise ValueError(f"generation {generation.id} exists")
        if generation.status is GenerationStatus.PENDING:
            twin = self.find_pending(generation.user_id, generation.request_key)
            if twin is not None:
                raise RequestInFlight(twin.id)
        if generation.idempotency_key:
            prior = self.find_by_idempotency_key(generation.user_id, generation.idempotency_key)
            if prior is not None:
                raise IdempotencyKeyReused(prior.id)
        self._tx.put(self._rows, generation.id, generation)

    def get(self, generation_id: uuid.UUID) -> Generation | None:
        return self._rows.get(generation_id)

    # Units of work hold the store's lock: a read is already a locked read.
    get_for_update = get

    def find_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Generation | None:
        return next(
            (g for g in self._rows.values() if g.user_id == user_id and g.idempotency_key == key),
            None,
        )

    def find_pending(self, user_id: uuid.UUID, request_key: str) -> Generation | None:
        return next(
            (
                g
                for g in self._rows.values()
                if g.user_id == user_id
                and g.request_key == request_key
                and g.status is GenerationStatus.PENDING
            ),
            None,
        )

    def find_by_request_key(self, user_id: uuid.UUID, request_key: str) -> Generation | None:
        matches = [
            g
            for g in self._rows.values()
            if g.user_id == user_id
            and g.request_key == request_key
            and g.status is GenerationStatus.COMPLETED
        ]
        return max(matches, key=lambda g: (g.created_at, g.id), default=None)

    def save(self, generation: Generation) -> None:
        if generation.id not in self._rows:
            raise KeyError(generation.id)
        self._tx.put(self._rows, generation.id, generation)

    def settle_failed(
        self, generation_id: uuid.UUID, *, error_message: str, now: datetime
    ) -> datetime | None:
        gen = self._rows.get(generation_id)
        if gen is None or gen.status is not GenerationStatus.PENDING:
            return None
        charged = gen.charged_reset_at
        self._tx.put(
            self._rows,
            generation_id,
            attrs.evolve(
                gen,
                status=GenerationStatus.FAILED,
                error_message=error_message,
                charged_reset_at=None,
                completed_at=now,
            ),
        )
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
        rows = [
            g
            for g in self._rows.values()
            if g.user_id == user_id
            and (status is None or g.status is status)
            and (since is None or g.created_at > since)
            and (platform is None or platform in g.selected_platforms)
            and (before is None or (g.created_at, g.id) < (before.created_at, before.id))
        ]
        rows.sort(key=lambda g: (g.created_at, g.id), reverse=True)
        return rows[:limit]

    def stale_pending(self, older_than: datetime, limit: int) -> list[uuid.UUID]:
        rows = sorted(
            (
                g
                for g in self._rows.values()
                if g.status is GenerationStatus.PENDING and g.created_at < older_than
            ),
            key=lambda g: g.created_at,
        )
        return [g.id for g in rows[:limit]]


class MemoryUsageLogRepository:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx
        self._rows = tx.store.usage_logs

    def add(self, event: UsageEvent) -> None:
        self._tx.put(self._rows, event.id, event)

    def list_for_user(self, user_id: uuid.UUID, limit: int = 100) -> list[UsageEvent]:
        rows = [e for e in self._rows.values() if e.user_id == user_id]
        rows.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return rows[:limit]


class MemorySubscriptionRepository:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx
        self._rows = tx.store.subscriptions

    def get_by_stripe_id(self, stripe_subscription_id: str) -> Subscription | None:
        return self._rows.get(stripe_subscription_id)

    def upsert(self, subscription: Subscription) -> None:
        existing = self._rows.get(subscription.stripe_subscription_id)
        if existing is not None:
            subscription = attrs.evolve(
                subscription, id=existing.id, created_at=existing.created_at
            )
        self._tx.put(self._rows, subscription.stripe_subscription_id, subscription)

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]:
        rows = [s for s in self._rows.values() if s.user_id == user_id]
        return sorted(rows, key=lambda s: s.created_at, reverse=True)


class MemoryWebhookEventRepository:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx
        self._rows = tx.store.webhook_events

    def add_if_new(self, event: WebhookEvent) -> bool:
        if event.event_id in self._rows:
            return False
        self._tx.put(self._rows, event.event_id, event)
        return True

    def get_by_event_id(self, event_id: str) -> WebhookEvent | None:
        return self._rows.get(event_id)

    def mark_processed(self, event_id: str, now: datetime) -> None:
        event = self._rows.get(event_id)
        if event is not None:
            self._tx.put(
                self._rows,
                event_id,
                attrs.evolve(event, processed=True, processed_at=now, error_message=None),
            )

    def mark_failed(self, event_id: str, error: str) -> None:
        event = self._rows.get(event_id)
        if event is not None:
            self._tx.put(
                self._rows,
                event_id,
                attrs.evolve(event, error_message=error, retry_count=event.retry_count + 1),
            )

    def list_unprocessed(self, limit: int = 100) -> list[WebhookEvent]:
        rows = sorted(
            (e for e in self._rows.values() if not e.processed), key=lambda e: e.created_at
        )
        return rows[:limit]

    def list_events(
        self,
        *,
        limit: int = 100,
        since: datetime | None = None,
        unprocessed_only: bool = False,
        oldest_first: bool = False,
    ) -> list[WebhookEvent]:
        rows = [
            e
            for e in self._rows.values()
            if (since is None or e.created_at >= since) and not (unprocessed_only and e.processed)
        ]
        rows.sort(key=lambda e: (e.created_at, str(e.id)), reverse=not oldest_first)
        return rows[:limit]


class MemoryMaintenanceRepository:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx
        self._store = tx.store

    def archive_generations(self, cutoff: datetime, batch_size: int) -> int:
        old = sorted(
            (g for g in self._store.generations.values() if g.created_at < cutoff),
            key=lambda g: g.created_at,
        )[:batch_size]
        for gen in old:
            self._tx.put(self._store.generations_archive, gen.id, gen)
            self._tx.delete(self._store.generations, gen.id)
        return len(old)

    def aggregate_usage_logs(self, cutoff: datetime, batch_size: int) -> tuple[int, int]:
        old = sorted(
            (e for e in self._store.usage_logs.values() if e.created_at < cutoff),
            key=lambda e: e.created_at,
        )[:batch_size]
        sums: dict[tuple[Any, uuid.UUID, str], dict[str, Any]] = defaultdict(
            lambda: {"events": 0, "platforms": 0, "tokens": 0, "cost": Decimal("0")}
        )
        for event in old:
            row = sums[(event.created_at.date(), event.user_id, event.event_type.value)]
            row["events"] += 1
            row["platforms"] += event.platform_count
            row["tokens"] += event.tokens_used or 0
            row["cost"] += event.estimated_cost_usd or Decimal("0")
            self._tx.delete(self._store.usage_logs, event.id)
        for key, add in sums.items():
            current = self._store.usage_daily.get(
                key, {"events": 0, "platforms": 0, "tokens": 0, "cost": Decimal("0")}
            )
            self._tx.put(self._store.usage_daily, key, {k: current[k] + add[k] for k in current})
        return len(old), len(sums)

    def purge_webhook_events(self, cutoff: datetime, batch_size: int) -> int:
        old = sorted(
            (
                e
                for e in self._store.webhook_events.values()
                if e.processed and e.created_at < cutoff
            ),
            key=lambda e: e.created_at,
        )[:batch_size]
        for event in old:
            self._tx.delete(self._store.webhook_events, event.event_id)
        return len(old)

    def tier_stats(self) -> list[TierStat]:
        return queries.tier_stats(self._store.users.values())

    def daily_volume(self, since: datetime) -> list[DailyVolume]:
        return queries.daily_volume(self._store.generations.values(), since)

    def platform_popularity(self, since: datetime) -> list[PlatformPopularity]:
        return queries.platform_popularity(self._store.generations.values(), since)

    def latency(self, since: datetime) -> LatencyStats:
        return latency_stats(
            g.generation_time_ms
            for g in self._store.generations.values()
            if g.created_at > since
            and g.status is GenerationStatus.COMPLETED
            and g.generation_time_ms is not None
        )


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self._tx: _Tx | None = None
        self.commits = 0

    def __enter__(self) -> Self:
        self.store.lock.acquire()
        self._tx = tx = _Tx(self.store)
        self.users = MemoryUserRepository(tx)
        self.generations = MemoryGenerationRepository(tx)
        self.usage = MemoryUsageLogRepository(tx)
        self.subscriptions = MemorySubscriptionRepository(tx)
        self.webhooks = MemoryWebhookEventRepository(tx)
        self.maintenance = MemoryMaintenanceRepository(tx)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._tx = None
            self.store.lock.release()

    def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit outside a unit of work")
        self._tx.undo.clear()
        self.commits += 1

    def rollback(self) -> None:
        if self._tx is None:
            return
        for undo in reversed(self._tx.undo):
            undo()
        self._tx.undo.clear()
