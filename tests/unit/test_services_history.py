"""History: newest first, a cursor that walks every page exactly once, clear errors."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repurposeflow.domain.enums import GenerationStatus, Platform, Tone
from repurposeflow.domain.errors import EngineError, GenerationNotFound, InvalidInput, UserNotFound
from repurposeflow.domain.model import Generation
from repurposeflow.services.history import MAX_PAGE, get_generation, list_history
from tests.unit._services_support import SOURCE, World, make_world


def _fill(world: World, n: int, *, tag: str = "v", clerk: str = "user_1") -> list[Generation]:
    """``n`` distinct generations through the service, one second apart."""
    made = []
    for i in range(n):
        made.append(world.run(clerk, text=f"{SOURCE} Variant {tag * (i + 1)}.").generation)
        world.clock.advance(timedelta(seconds=1))
    return made


def _insert(world: World, n: int, *, ties: bool, clerk: str = "user_1") -> list[Generation]:
    """``n`` rows straight into the store (fast); with ``ties`` three share a created_at."""
    user = world.user(clerk)
    made = []
    with world.uow() as uow:
        for i in range(n):
            gen = Generation(
                id=uuid.uuid4(),
                user_id=user.id,
                input_content=SOURCE,
                input_content_hash=f"h{i}",
                request_key=f"k{i}",
                selected_platforms=(Platform.EMAIL,),
                selected_tone=Tone.CONVERSATIONAL,
                created_at=world.clock.now(),
                status=GenerationStatus.COMPLETED,
            )
            uow.generations.add(gen)
            made.append(gen)
            if not ties or i % 3 == 2:
                world.clock.advance(timedelta(seconds=1))
        uow.commit()
    return made


def _walk(world: World, limit: int, clerk: str = "user_1", **kw: object) -> list[list[Generation]]:
    pages, cursor = [], None
    while True:
        page = list_history(world.uow(), clerk, limit=limit, cursor=cursor, **kw)  # type: ignore[arg-type]
        pages.append(list(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return pages


def _newest_first(gens: list[Generation]) -> list[uuid.UUID]:
    return [g.id for g in sorted(gens, key=lambda g: (g.created_at, g.id), reverse=True)]


@pytest.fixture
def world() -> World:
    w = make_world()
    w.add_user()
    w.add_user("user_2")
    return w


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 30), st.integers(1, 9), st.booleans())
def test_the_cursor_walks_every_generation_once_newest_first(
    n: int, limit: int, ties: bool
) -> None:
    world = make_world()
    world.add_user()
    world.add_user("user_2")
    mine = _insert(world, n, ties=ties)
    _insert(world, 3, ties=ties, clerk="user_2")  # someone else's history stays out
    pages = _walk(world, limit)
    flat = [g.id for page in pages for g in page]
    assert flat == _newest_first(mine)
    assert all(len(p) == limit for p in pages[:-1])
    assert len(pages[-1]) <= limit
    # no empty trailing page unless there is nothing at all
    assert pages[-1] or n == 0
    assert len(pages) == max(1, -(-n // limit))


def test_the_status_filter_and_recent_only(world: World) -> None:
    from repurposeflow.adapters.engines.scripted import ScriptedEngine

    ok = _fill(world, 3)
    failing = ScriptedEngine(faults={p: [EngineError("down")] for p in Platform})
    failed = world.run(text=SOURCE + " It failed.", engine=failing).generation
    by_status = list_history(world.uow(), "user_1", status="failed").items
    assert [g.id for g in by_status] == [failed.id]
    world.clock.advance(timedelta(days=31))
    newer = _fill(world, 2, tag="w")
    recent = list_history(world.uow(), "user_1", recent_only=True, clock=world.clock).items
    assert {g.id for g in recent} == {g.id for g in newer}
    assert all(g.status is GenerationStatus.COMPLETED for g in recent)
    assert len(list_history(world.uow(), "user_1", limit=100).items) == len(ok) + 1 + 2


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_page_size_bounds(world: World, limit: int) -> None:
    with pytest.raises(InvalidInput, match="1 to 100"):
        list_history(world.uow(), "user_1", limit=limit)


@pytest.mark.parametrize("limit", [1, MAX_PAGE])
def test_page_size_limits_are_inclusive(world: World, limit: int) -> None:
    _fill(world, 2)
    assert len(list_history(world.uow(), "user_1", limit=limit).items) == min(limit, 2)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        "é",
        _b64("2026-03-14T09:30:00+00:00"),
        _b64("2026-03-14T09:30:00|not-a-uuid"),
        _b64(f"2026-03-14T09:30:00|{uuid.uuid4()}"),  # naive timestamp
        _b64(f"yesterday|{uuid.uuid4()}"),
        _b64(f"2026-03-14T09:30:00+00:00|{uuid.uuid4()}|extra"),
        base64.urlsafe_b64encode(b"\xff\xfe|\x00").decode(),
    ],
)
def test_a_bad_cursor_is_invalid_input(world: World, cursor: str) -> None:
    with pytest.raises(InvalidInput, match="not a history cursor"):
        list_history(world.uow(), "user_1", cursor=cursor)


def test_history_of_an_unknown_user(world: World) -> None:
    with pytest.raises(UserNotFound):
        list_history(world.uow(), "ghost")


def test_get_generation_only_returns_your_own(world: World) -> None:
    (gen,) = _fill(world, 1)
    assert get_generation(world.uow(), "user_1", str(gen.id)).id == gen.id
    assert get_generation(world.uow(), "user_1", f"  {gen.id} ").id == gen.id
    with pytest.raises(GenerationNotFound):
        get_generation(world.uow(), "user_2", gen.id)
    with pytest.raises(GenerationNotFound):
        get_generation(world.uow(), "user_1", uuid.uuid4())
    with pytest.raises(InvalidInput, match="not a generation id"):
        get_generation(world.uow(), "user_1", "42")
