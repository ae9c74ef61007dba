"""Races the store must settle, on the memory, SQLite and PostgreSQL stores alike:
twins of one request in flight (one charge), many first uses of one new person (one
account, no failure), and regenerates of one generation at once (no lost platform)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.domain.enums import GenerationStatus, Platform
from repurposeflow.domain.errors import EngineError, RequestInFlight
from repurposeflow.domain.model import Generation
from repurposeflow.domain.ports import UnitOfWork
from repurposeflow.services.repurpose import (
    RepurposeRequest,
    RepurposeResult,
    regenerate,
    repurpose,
)
from repurposeflow.services.users import ensure_user
from tests.integration.conftest import Store

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
SOURCE = "Write once, publish everywhere. One long post becomes six short ones."
TWINS = 12


def _together(n: int, task: Callable[[int], Any]) -> list[Any]:
    """``task(i)`` in n threads released at once; each result or exception."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return task(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _count(store: Store, clerk: str) -> tuple[int, list[Generation]]:
    with store.uow() as uow:
        user = uow.users.get_by_clerk_id(clerk)
        assert user is not None
        return user.generations_count_current_month, uow.generations.list_for_user(
            user.id, limit=100
        )


def test_identical_requests_in_flight_are_charged_once(store: Store):
    clock = ManualClock(NOW)
    ensure_user(store.uow(), clock, clerk_user_id="twin", email="twin@example.com")
    # Slow enough that every twin arrives while the first is still pending.
    engine = ScriptedEngine(latency=0.3)

    def run(i: int) -> RepurposeResult:
        request = RepurposeRequest("twin", SOURCE, [Platform.TWITTER, Platform.EMAIL])
        return repurpose(store.uow(), engine, clock, request)

    outcomes = _together(TWINS, run)

    others = [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RequestInFlight)
    ]
    assert others == []
    made = [o for o in outcomes if isinstance(o, RepurposeResult) and not o.cached]
    assert len(made) == 1
    assert made[0].status is GenerationStatus.COMPLETED
    in_flight = [o for o in outcomes if isinstance(o, RequestInFlight)]
    assert {e.generation_id for e in in_flight} <= {made[0].generation.id}
    count, rows = _count(store, "twin")
    assert count == 1
    assert [g.id for g in rows] == [made[0].generation.id]
    # The twin refused while pending is not a lock-out: once done, a repeat is free.
    again = repurpose(store.uow(), engine, clock, RepurposeRequest("twin", SOURCE, ["x", "email"]))
    assert again.cached and _count(store, "twin")[0] == 1


def test_a_twin_is_refused_before_anything_is_charged(store: Store):
    """The refusal names the run in flight and rolls back the reservation made in the
    same unit of work: the count stays at the one charge."""
    clock = ManualClock(NOW)
    ensure_user(store.uow(), clock, clerk_user_id="solo", email="solo@example.com")
    started = threading.Event()
    release = threading.Event()

    class Paused(ScriptedEngine):
        def analyze(self, source, tone):  # type: ignore[no-untyped-def]
            started.set()
            release.wait(10)
            return super().analyze(source, tone)

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(
            repurpose, store.uow(), Paused(), clock, RepurposeRequest("solo", SOURCE)
        )
        assert started.wait(10)
        try:
            with pytest.raises(RequestInFlight) as refused:
                repurpose(store.uow(), Paused(), clock, RepurposeRequest("solo", SOURCE))
            with store.uow() as uow:
                twin = uow.generations.get(refused.value.generation_id)
                assert twin is not None and twin.status is GenerationStatus.PENDING
                assert uow.generations.find_pending(twin.user_id, twin.request_key) == twin
            assert _count(store, "solo")[0] == 1
        finally:
            release.set()
        assert first.result().status is GenerationStatus.COMPLETED
    assert _count(store, "solo")[0] == 1


@pytest.mark.parametrize("trial", range(4))
def test_many_first_uses_of_one_new_person_all_succeed(store: Store, trial: int):
    clock = ManualClock(NOW)
    clerk, email = f"newcomer_{trial}", f"newcomer{trial}@example.com"

    def first_use(i: int) -> Any:
        return ensure_user(store.uow(), clock, clerk_user_id=clerk, email=email)

    outcomes = _together(16, first_use)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert len({u.id for u in outcomes}) == 1
    with store.uow() as uow:
        assert uow.users.get_by_clerk_id(clerk).id == outcomes[0].id


class _PauseAfterLockedRead:
    """A unit of work whose locked read waits (briefly) for the other regenerates to
    read too: without the row lock both read the same old row and the later write
    drops the earlier one's platform; with it, the others are still waiting on the
    lock, the barrier times out and each reads the row after the previous write."""

    def __init__(self, inner: UnitOfWork, barrier: threading.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier

    def __enter__(self) -> Any:
        uow = self._inner.__enter__()
        original = uow.generations.get_for_update
        barrier = self._barrier

        def paused(generation_id: Any) -> Any:
            row = original(generation_id)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=0.5)
            return row

        uow.generations.get_for_update = paused
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:  # the services use the object they were given
        return getattr(self._inner, name)


PLATFORMS = [Platform.TWITTER, Platform.THREADS, Platform.LINKEDIN, Platform.EMAIL]


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_regenerates_lose_nothing(store: Store, trial: int):
    clock = ManualClock(NOW)
    ensure_user(store.uow(), clock, clerk_user_id="regen", email="regen@example.com")
    # Every platform but the first fails, so three regenerates have work to merge.
    broken = ScriptedEngine(faults={p: [EngineError("down")] for p in PLATFORMS[1:]})
    first = repurpose(
        store.uow(), broken, clock, RepurposeRequest("regen", f"{SOURCE} Trial {trial}.", PLATFORMS)
    )
    assert first.status is GenerationStatus.PARTIAL
    gen_id = first.generation.id
    barrier = threading.Barrier(len(PLATFORMS) - 1)

    def one(i: int) -> Generation:
        return regenerate(
            _PauseAfterLockedRead(store.uow(), barrier),  # type: ignore[arg-type]
            ScriptedEngine(),
            clock,
            clerk_user_id="regen",
            generation_id=gen_id,
            platforms=[PLATFORMS[1 + i]],
        )

    outcomes = _together(len(PLATFORMS) - 1, one)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    with store.uow() as uow:
        final = uow.generations.get(gen_id)
    assert final is not None
    assert set(final.outputs) == set(PLATFORMS)
    assert final.platform_errors == {}
    assert final.status is GenerationStatus.COMPLETED


@pytest.mark.parametrize(
    ("clerk", "email"),
    [("u" * 10_000, "long@example.com"), ("user_ok", "e" * 295 + "@example.com")],
)
def test_over_long_identifiers_get_one_clear_error_on_every_store(store: Store, clerk, email):
    from repurposeflow.domain.errors import InvalidInput
    from repurposeflow.services.users import get_user

    clock = ManualClock(NOW)
    with pytest.raises(InvalidInput, match="the limit is 255") as info:
        ensure_user(store.uow(), clock, clerk_user_id=clerk, email=email)
    assert "SELECT" not in info.value.message and "INSERT" not in info.value.message
    with pytest.raises(InvalidInput):
        get_user(store.uow(), "u" * 10_000)
    with store.uow() as uow:
        assert uow.users.get_by_clerk_id("user_ok") is None


def test_a_limit_override_counts_against_it_and_stores_nothing_of_it(store: Store):
    """``reserve(limit=…)``: the local plan setting, on every store alike."""
    clock = ManualClock(NOW)
    user = ensure_user(store.uow(), clock, clerk_user_id="local", email="me@example.com")
    with store.uow() as uow:
        for _ in range(10):
            assert uow.users.reserve(user.id, NOW) is not None
        assert uow.users.reserve(user.id, NOW) is None  # free: 10
        quota = uow.users.reserve(user.id, NOW, limit=500)
        assert quota is not None and (quota.count, quota.limit) == (11, 500)
        uow.commit()
    with store.uow() as uow:
        stored = uow.users.get(user.id)
        assert stored is not None
        assert (stored.generations_count_current_month, stored.generations_limit) == (11, 10)
        assert stored.subscription_tier.value == "free"
