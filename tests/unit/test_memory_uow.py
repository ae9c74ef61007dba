"""The in-memory unit of work: commit keeps, everything else rolls back; the reservation
is atomic under threads; the store's uniqueness and refund rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.enums import GenerationStatus, Platform, Tone
from repurposeflow.domain.errors import DuplicateUser
from repurposeflow.domain.model import Generation, User, new_id

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def _user(clerk: str = "c1", email: str = "a@example.com", **kw: object) -> User:
    return User.create(clerk_user_id=clerk, email=email, now=NOW, **kw)  # type: ignore[arg-type]


class Boom(Exception):
    pass


def test_commit_keeps_the_changes() -> None:
    store = MemoryStore()
    user = _user()
    with store.uow() as uow:
        uow.users.add(user)
        uow.commit()
    assert store.users == {user.id: user}


def test_leaving_without_commit_rolls_back() -> None:
    store = MemoryStore()
    with store.uow() as uow:
        uow.users.add(_user())
        assert len(store.users) == 1  # visible inside
    assert store.users == {}


def test_an_exception_rolls_back_every_table() -> None:
    store = MemoryStore()
    user = _user()
    with store.uow() as uow:
        uow.users.add(user)
        uow.commit()
    with pytest.raises(Boom), store.uow() as uow:
        uow.users.reserve(user.id, NOW)
        uow.users.update_profile(user.id, email="b@example.com", full_name="B")
        gen = Generation(
            id=new_id(),
            user_id=user.id,
            input_content="x",
            input_content_hash="h",
            request_key="k",
            selected_platforms=(Platform.EMAIL,),
            selected_tone=Tone.CONVERSATIONAL,
            created_at=NOW,
        )
        uow.generations.add(gen)
        raise Boom
    assert store.users == {user.id: user}
    assert store.generations == {}


def test_rollback_undoes_only_what_came_after_the_last_commit() -> None:
    store = MemoryStore()
    user = _user()
    with store.uow() as uow:
        uow.users.add(user)
        uow.commit()
        uow.users.reserve(user.id, NOW)
        uow.commit()
        uow.users.reserve(user.id, NOW)
        uow.users.reserve(user.id, NOW)
        uow.rollback()
        assert store.users[user.id].generations_count_current_month == 1
        uow.users.reserve(user.id, NOW)
    assert store.users[user.id].generations_count_current_month == 1


def test_commit_outside_a_unit_of_work_is_an_error() -> None:
    uow = MemoryStore().uow()
    with pytest.raises(RuntimeError):
        uow.commit()


def test_a_unit_of_work_can_be_reused() -> None:
    store = MemoryStore()
    uow = store.uow()
    with uow:
        uow.users.add(_user())
        uow.commit()
    with uow:
        uow.users.add(_user("c2", "b@example.com"))
    assert len(store.users) == 1


def test_duplicates_are_refused_among_live_users_only() -> None:
    store = MemoryStore()
    first = _user()
    with store.uow() as uow:
        uow.users.add(first)
        uow.commit()
    for dup in (_user("c1", "other@example.com"), _user("c2", "A@EXAMPLE.COM")):
        with pytest.raises(DuplicateUser), store.uow() as uow:
            uow.users.add(dup)
    with store.uow() as uow:
        uow.users.soft_delete(first.id, NOW)
        uow.users.add(_user("c1", "a@example.com"))
        uow.commit()
    assert len(store.users) == 2


def test_reservations_are_atomic_under_threads() -> None:
    store = MemoryStore()
    user = _user()
    with store.uow() as uow:
        uow.users.add(user)
        uow.commit()
    wins: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(24)

    def reserve() -> None:
        barrier.wait()
        with store.uow() as uow:
            got = uow.users.reserve(user.id, NOW) is not None
            uow.commit()
        with lock:
            wins.append(got)

    threads = [threading.Thread(target=reserve) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 10
    assert store.users[user.id].generations_count_current_month == 10


def test_reserve_rolls_the_window_from_now() -> None:
    store = MemoryStore()
    user = _user()
    with store.uow() as uow:
        uow.users.add(user)
        for _ in range(10):
            uow.users.reserve(user.id, NOW)
        assert uow.users.reserve(user.id, NOW) is None
        later = datetime(2026, 7, 9, tzinfo=UTC)
        quota = uow.users.reserve(user.id, later)
        uow.commit()
    assert quota is not None
    assert (quota.count, quota.reset_at) == (1, datetime(2026, 8, 1, tzinfo=UTC))
    assert store.users[user.id].last_generation_at == later


def test_refund_is_per_window_and_never_below_zero() -> None:
    store = MemoryStore()
    user = _user()
    with store.uow() as uow:
        uow.users.add(user)
        quota = uow.users.reserve(user.id, NOW)
        assert quota is not None
        assert uow.users.refund(user.id, quota.reset_at) is True
        assert uow.users.refund(user.id, quota.reset_at) is False  # already at zero
        uow.users.reserve(user.id, NOW)
        assert uow.users.refund(user.id, quota.reset_at - timedelta(days=31)) is False
        uow.commit()
    assert store.users[user.id].generations_count_current_month == 1


def test_settle_failed_only_settles_a_pending_generation_once() -> None:
    store = MemoryStore()
    user = _user()
    window = datetime(2026, 4, 1, tzinfo=UTC)
    gen = Generation(
        id=new_id(),
        user_id=user.id,
        input_content="x",
        input_content_hash="h",
        request_key="k",
        selected_platforms=(Platform.EMAIL,),
        selected_tone=Tone.CONVERSATIONAL,
        created_at=NOW,
        charged_reset_at=window,
    )
    with store.uow() as uow:
        uow.users.add(user)
        uow.generations.add(gen)
        assert uow.generations.settle_failed(gen.id, error_message="e", now=NOW) == window
        assert uow.generations.settle_failed(gen.id, error_message="e", now=NOW) is None
        uow.commit()
    settled = store.generations[gen.id]
    assert settled.status is GenerationStatus.FAILED and settled.charged_reset_at is None


def test_find_by_request_key_returns_completed_generations_only() -> None:
    store = MemoryStore()
    user = _user()
    rows = [
        Generation(
            id=new_id(),
            user_id=user.id,
            input_content="x",
            input_content_hash="h",
            request_key="k",
            selected_platforms=(Platform.EMAIL,),
            selected_tone=Tone.CONVERSATIONAL,
            created_at=NOW + timedelta(seconds=i),
            status=status,
        )
        for i, status in enumerate(
            [
                GenerationStatus.COMPLETED,
                GenerationStatus.PARTIAL,
                GenerationStatus.FAILED,
                GenerationStatus.PENDING,
            ]
        )
    ]
    with store.uow() as uow:
        uow.users.add(user)
        for row in rows:
            uow.generations.add(row)
        assert uow.generations.find_by_request_key(user.id, "k") == rows[0]
        assert uow.generations.find_by_request_key(user.id, "other") is None
        assert uow.generations.find_by_request_key(new_id(), "k") is None
