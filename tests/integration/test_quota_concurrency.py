"""Reservation storms on real databases: many threads, each on its own connection,
released at once against one user's last few units. The quota must admit exactly what
is left, never more, and nobody may see an error but "quota exhausted"."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork
from repurposeflow.domain.enums import GenerationStatus, Platform
from repurposeflow.domain.errors import QuotaExhausted
from repurposeflow.domain.model import User
from repurposeflow.domain.quota import Quota
from repurposeflow.services.repurpose import RepurposeRequest, repurpose
from tests.contract.quota_machine import WorkerDied

STORM = 60
MARCH = datetime(2026, 3, 20, 12, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)


def _user_with(engine: sa.Engine, *, used: int, now: datetime) -> User:
    user = attrs.evolve(
        User.create(clerk_user_id="stormy", email="stormy@example.com", now=now),
        generations_count_current_month=used,
    )
    with SqlUnitOfWork(engine) as uow:
        uow.users.add(user)
        uow.commit()
    return user


def _storm(n: int, task: Callable[[int], Any]) -> list[Any]:
    """Run ``task(i)`` in n threads released together; each result or exception."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return task(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_storm_through_the_service_admits_exactly_what_is_left(sql_engine: sa.Engine):
    user = _user_with(sql_engine, used=7, now=MARCH)  # free: 3 of 10 left
    clock = ManualClock(MARCH)

    def generate(i: int) -> Any:
        request = RepurposeRequest(
            "stormy", f"Storm request number {i} about writing once.", [Platform.TWITTER]
        )
        return repurpose(SqlUnitOfWork(sql_engine), ScriptedEngine(), clock, request)

    outcomes = _storm(STORM, generate)

    unexpected = [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, QuotaExhausted)
    ]
    assert unexpected == []
    admitted = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(admitted) == 3
    assert all(r.generation.status is GenerationStatus.COMPLETED for r in admitted)
    refused = [o for o in outcomes if isinstance(o, QuotaExhausted)]
    assert len(refused) == STORM - 3
    assert all((e.used, e.limit) == (10, 10) for e in refused)
    with SqlUnitOfWork(sql_engine) as uow:
        stored = uow.users.get(user.id)
        assert stored.quota == Quota(10, 10, APRIL)
        assert len(uow.generations.list_for_user(user.id, limit=100)) == 3


def test_storm_of_bare_reservations(sql_engine: sa.Engine):
    user = _user_with(sql_engine, used=7, now=MARCH)

    def reserve(i: int) -> Quota | None:
        with SqlUnitOfWork(sql_engine) as uow:
            quota = uow.users.reserve(user.id, MARCH)
            uow.commit()
            return quota

    outcomes = _storm(STORM, reserve)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    admitted = sorted(o.count for o in outcomes if o is not None)
    assert admitted == [8, 9, 10]  # each unit handed out once
    with SqlUnitOfWork(sql_engine) as uow:
        assert uow.users.get(user.id).quota == Quota(10, 10, APRIL)


def test_storm_across_the_month_boundary(sql_engine: sa.Engine):
    """Half the requests carry a clock just before April, half just after: a new window
    starts once, mid-storm. March may take only its last 3 units; April exactly its 10."""
    user = _user_with(sql_engine, used=7, now=MARCH)
    before = APRIL - timedelta(microseconds=1)

    def reserve(i: int) -> tuple[datetime, Quota | None]:
        now = before if i % 2 else APRIL + timedelta(milliseconds=i)
        with SqlUnitOfWork(sql_engine) as uow:
            quota = uow.users.reserve(user.id, now)
            uow.commit()
            return now, quota

    outcomes = _storm(STORM, reserve)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    granted = [q for _, q in outcomes if q is not None]
    march = sorted(q.count for q in granted if q.reset_at == APRIL)
    april = sorted(q.count for q in granted if q.reset_at == MAY)
    assert len(march) <= 3
    assert march == list(range(8, 8 + len(march)))
    assert april == list(range(1, 11))  # the new window fills exactly to its limit
    assert {q.reset_at for q in granted} <= {APRIL, MAY}
    with SqlUnitOfWork(sql_engine) as uow:
        assert uow.users.get(user.id).quota == Quota(10, 10, MAY)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_settle_refunds_once(kind: str, request: pytest.FixtureRequest):
    """A sweeper and the worker both try to fail the same generation: one refund."""
    from repurposeflow.services.charging import fail_and_refund

    engine = request.getfixturevalue("sqlite_engine" if kind == "sqlite" else "pg")
    clock = ManualClock(MARCH)
    _user_with(engine, used=0, now=MARCH)
    # A worker process that dies mid-run (not Ctrl-C, which refunds at once).
    crash = ScriptedEngine(faults={"analyze": [WorkerDied()]})
    with pytest.raises(WorkerDied):
        repurpose(
            SqlUnitOfWork(engine),
            crash,
            clock,
            RepurposeRequest("stormy", "A post about writing once everywhere.", [Platform.EMAIL]),
        )
    with SqlUnitOfWork(engine) as uow:
        user = uow.users.get_by_clerk_id("stormy")
        (gen,) = uow.generations.list_for_user(user.id, limit=5)
        assert user.generations_count_current_month == 1

    settled = _storm(
        20, lambda i: fail_and_refund(SqlUnitOfWork(engine), clock, gen.id, "died").failed_now
    )

    assert sorted(settled) == [False] * 19 + [True]
    with SqlUnitOfWork(engine) as uow:
        assert uow.users.get(user.id).generations_count_current_month == 0
        refunds = [
            e for e in uow.usage.list_for_user(user.id) if e.event_type.value.endswith("refunded")
        ]
        assert len(refunds) == 1
