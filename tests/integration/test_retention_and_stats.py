"""Retention (archive, fold, purge) and the seed's monitoring queries on real databases,
held to the in-memory reference store's answers."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.adapters.sql import SqlUnitOfWork
from repurposeflow.adapters.sql.tables import generations_archive, usage_daily
from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    UsageEventType,
)
from repurposeflow.domain.model import UsageEvent
from repurposeflow.domain.stats import RetentionReport
from repurposeflow.services import maintenance
from tests.integration.test_repository_contract import make_event, make_generation, make_user

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PLATFORM_SETS = [
    (Platform.TWITTER,),
    (Platform.TWITTER, Platform.LINKEDIN),
    (Platform.TIKTOK, Platform.EMAIL, Platform.THREADS),
    tuple(Platform),
]
STATUSES = list(GenerationStatus)


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts)))


def populate(uow, *, days: int = 200) -> list[UsageEvent]:
    """Deterministic history: users on every plan (one deleted), generations and usage
    logs every few hours for ``days`` days, webhook events old and new."""
    people = []
    plans = [
        (Tier.FREE, SubscriptionStatus.ACTIVE),
        (Tier.PRO, SubscriptionStatus.ACTIVE),
        (Tier.PRO, SubscriptionStatus.PAST_DUE),
        (Tier.BUSINESS, SubscriptionStatus.ACTIVE),
        (Tier.FREE, SubscriptionStatus.ACTIVE),
    ]
    for n, (tier, status) in enumerate(plans):
        user = make_user(n, id=_id("user", n), subscription_tier=tier, subscription_status=status)
        uow.users.add(user)
        for _ in range(n + 1):
            uow.users.reserve(user.id, NOW)
        people.append(user)
    uow.users.soft_delete(people[-1].id, NOW)
    events = []
    for i in range(days * 2):
        at = NOW - timedelta(hours=12 * i + (i % 5))
        owner = people[i % 4]
        gen = make_generation(
            owner,
            i,
            id=_id("gen", i),
            created_at=at,
            status=STATUSES[i % 4],
            selected_platforms=PLATFORM_SETS[i % 4],
            generation_time_ms=None if i % 7 == 0 else 500 + (i * 37) % 4000,
        )
        uow.generations.add(gen)
        for k, kind in enumerate(
            (UsageEventType.GENERATION_STARTED, UsageEventType.GENERATION_COMPLETED)
        ):
            event = UsageEvent(
                id=_id("log", i, k),
                user_id=owner.id,
                generation_id=gen.id,
                event_type=kind,
                platforms=gen.selected_platforms,
                created_at=at + timedelta(seconds=k),
                tokens_used=None if i % 6 == 0 else 100 + i,
                estimated_cost_usd=None if i % 6 == 0 else Decimal("0.000123") * (i % 9 + 1),
            )
            uow.usage.add(event)
            events.append(event)
    for n in range(40):
        uow.webhooks.add_if_new(
            make_event(n, id=_id("evt", n), created_at=NOW - timedelta(days=n * 2))
        )
        if n % 3:
            uow.webhooks.mark_processed(f"evt_{n}", NOW)
    return events


def _fresh_sql(engine):
    return lambda: SqlUnitOfWork(engine)


def test_monitoring_answers_match_the_reference_store(sql_engine):
    memory = MemoryStore()
    clock = ManualClock(NOW)
    for factory in (memory.uow, _fresh_sql(sql_engine)):
        with factory() as uow:
            populate(uow)
            uow.commit()
    expected = maintenance.stats(memory.uow(), clock)
    got = maintenance.stats(SqlUnitOfWork(sql_engine), clock)
    assert got.tiers == expected.tiers
    assert [t.tier for t in got.tiers] == [Tier.BUSINESS, Tier.FREE, Tier.PRO]
    assert got.daily_volume == expected.daily_volume
    assert len(got.daily_volume) >= 29
    assert got.platform_popularity == expected.platform_popularity
    assert got.latency.samples == expected.latency.samples > 0
    for field in ("avg_ms", "median_ms", "p95_ms"):
        assert getattr(got.latency, field) == pytest.approx(getattr(expected.latency, field))
    # and an empty window is not an error
    with SqlUnitOfWork(sql_engine) as uow:
        assert uow.maintenance.latency(NOW + timedelta(days=1)).samples == 0
        assert uow.maintenance.daily_volume(NOW + timedelta(days=1)) == []
        assert uow.maintenance.platform_popularity(NOW + timedelta(days=1)) == []


def _daily_sums(store) -> dict[tuple, tuple]:
    if store.kind == "memory":
        raw = store.memory.usage_daily
        return {
            (day, uid, kind): (v["events"], v["platforms"], v["tokens"], v["cost"])
            for (day, uid, kind), v in raw.items()
        }
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL ROLE repurposeflow_system")
        rows = conn.execute(sa.select(usage_daily)).all()
    return {
        (r.day, r.user_id, r.event_type): (r.events, r.platforms, r.tokens, Decimal(r.cost_usd))
        for r in rows
    }


def _expected_sums(events: list[UsageEvent], cutoff: datetime) -> dict[tuple, tuple]:
    sums: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, Decimal("0")])
    for e in events:
        if e.created_at < cutoff:
            acc = sums[(e.created_at.date(), e.user_id, e.event_type.value)]
            acc[0] += 1
            acc[1] += e.platform_count
            acc[2] += e.tokens_used or 0
            acc[3] += e.estimated_cost_usd or Decimal("0")
    return {k: tuple(v) for k, v in sums.items()}


@pytest.fixture
def retention_store(store):
    if store.kind == "memory":
        # keep a handle on the dicts to read the aggregate table
        memory = MemoryStore()
        store.uow = memory.uow
        store.memory = memory
    return store


def test_retention_twice_gives_the_same_result(retention_store):
    store = retention_store
    clock = ManualClock(NOW)
    with store.uow() as uow:
        events = populate(uow)
        uow.commit()
    cutoff = NOW - maintenance.USAGE_LOGS_RAW_FOR
    old_logs = sum(1 for e in events if e.created_at < cutoff)

    first = maintenance.run_retention(store.uow(), clock, batch_size=37)
    second = maintenance.run_retention(store.uow(), clock, batch_size=37)

    assert first.generations_archived == sum(
        1 for i in range(400) if NOW - timedelta(hours=12 * i + (i % 5)) < cutoff
    )
    assert first.usage_logs_aggregated == old_logs > 0
    assert first.webhook_events_deleted == sum(
        1 for n in range(40) if n % 3 and NOW - timedelta(days=n * 2) < NOW - timedelta(days=30)
    )
    assert second == RetentionReport(0, 0, 0, 0)
    assert _daily_sums(store) == _expected_sums(events, cutoff)
    with store.uow() as uow:
        everyone = [_id("user", n) for n in range(5)]
        remaining = [g for u in everyone for g in uow.generations.list_for_user(u, limit=10_000)]
        assert remaining and all(g.created_at >= cutoff for g in remaining)
        logs = [e for u in everyone for e in uow.usage.list_for_user(u, limit=10_000)]
        assert len(logs) == len(events) - old_logs
        assert all(e.created_at >= cutoff for e in logs)
        unprocessed = uow.webhooks.list_unprocessed(limit=1000)
        assert len(unprocessed) == sum(1 for n in range(40) if n % 3 == 0)
    if store.kind != "memory":
        with store.engine.connect() as conn:
            if store.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL ROLE repurposeflow_system")
            archived = conn.execute(sa.select(sa.func.count()).select_from(generations_archive))
            assert archived.scalar() == first.generations_archived


def test_retention_runs_alongside_traffic_without_double_counting(sql_engine):
    """Two retention runs at once while writers keep adding (old-dated) usage logs:
    every raw log is folded exactly once."""
    clock = ManualClock(NOW)
    with SqlUnitOfWork(sql_engine) as uow:
        events = populate(uow, days=120)
        uow.commit()
    user = make_user(0, id=_id("user", 0))
    extra: list[UsageEvent] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        for i in range(30):
            event = UsageEvent(
                id=uuid.uuid4(),
                user_id=user.id,
                event_type=UsageEventType.GENERATION_CACHED,
                platforms=(Platform.EMAIL,),
                created_at=NOW - timedelta(days=100, minutes=w * 100 + i),
                tokens_used=1,
                estimated_cost_usd=Decimal("0.000001"),
            )
            with SqlUnitOfWork(sql_engine) as uow:
                uow.usage.add(event)
                uow.commit()
            with lock:
                extra.append(event)

    errors: list[BaseException] = []

    def guarded(fn, *args) -> None:
        try:
            fn(*args)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(writer, w)) for w in range(2)] + [
        threading.Thread(
            target=guarded,
            args=(
                lambda: maintenance.run_retention(SqlUnitOfWork(sql_engine), clock, batch_size=25),
            ),
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    maintenance.run_retention(SqlUnitOfWork(sql_engine), clock, batch_size=25)

    cutoff = NOW - maintenance.USAGE_LOGS_RAW_FOR
    wrapped = type("S", (), {"kind": "sql", "engine": sql_engine})()
    assert _daily_sums(wrapped) == _expected_sums(events + extra, cutoff)
