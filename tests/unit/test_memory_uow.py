"""What only the in-memory unit of work has to prove: its undo log (a rollback restores
every table, and only what came after the last commit), its reuse, and that one lock
makes reservations atomic under threads. The repository rules themselves are the
contract's (tests/contract/repository.py), which runs on this store too."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import Generation, User, new_id

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def _user(clerk: str = "c1", email: str = "a@example.com", **kw: object) -> User:
    return User.create(clerk_user_id=clerk, email=email, now=NOW, **kw)  # type: ignore[arg-type]


class Boom(Exception):
    pass


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
