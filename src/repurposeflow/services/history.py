"""A person's past generations: newest first, keyset (cursor) pagination."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta

import attrs

from repurposeflow.domain.enums import GenerationStatus, Platform
from repurposeflow.domain.errors import GenerationNotFound, InvalidInput
from repurposeflow.domain.model import Generation, HistoryCursor
from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.services.users import require_user

MAX_PAGE = 100
RECENT_WINDOW = timedelta(days=30)


@attrs.frozen
class HistoryPage:
    items: tuple[Generation, ...]
    next_cursor: str | None


def encode_cursor(gen: Generation) -> str:
    raw = f"{gen.created_at.isoformat()}|{gen.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> HistoryCursor:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = base64.urlsafe_b64decode(padded).decode().split("|")
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:
            raise ValueError
        return HistoryCursor(created_at=moment, id=uuid.UUID(ident))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(f"{cursor!r} is not a history cursor from this service.") from None


def list_history(
    uow: UnitOfWork,
    clerk_user_id: str,
    *,
    limit: int = 20,
    cursor: str | None = None,
    status: str | GenerationStatus | None = None,
    recent_only: bool = False,
    clock: Clock | None = None,
    platform: str | Platform | None = None,
    since: datetime | None = None,
) -> HistoryPage:
    """A page of history. ``recent_only`` is the seed's hot query: completed generations
    of the last 30 days (it needs ``clock``)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"A history page holds 1 to {MAX_PAGE} generations.")
    before = decode_cursor(cursor) if cursor else None
    wanted = GenerationStatus.parse(status) if status is not None else None
    made_for = Platform.parse(platform) if platform is not None else None
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since needs a time zone.")
    if recent_only:
        if clock is None:
            raise ValueError("recent_only needs a clock")
        wanted = GenerationStatus.COMPLETED
        recent = clock.now() - RECENT_WINDOW
        since = recent if since is None else max(since, recent)
    with uow:
        user = require_user(uow, clerk_user_id)
        rows = uow.generations.list_for_user(
            user.id,
            limit=limit + 1,
            before=before,
            status=wanted,
            since=since,
            platform=made_for,
        )
    page = tuple(rows[:limit])
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return HistoryPage(page, next_cursor)


def get_generation(
    uow: UnitOfWork, clerk_user_id: str, generation_id: uuid.UUID | str
) -> Generation:
    if isinstance(generation_id, str):
        try:
            generation_id = uuid.UUID(generation_id.strip())
        except ValueError:
            raise InvalidInput(f"{generation_id!r} is not a generation id.") from None
    with uow:
        user = require_user(uow, clerk_user_id)
        gen = uow.generations.get(generation_id)
    if gen is None or gen.user_id != user.id:
        raise GenerationNotFound(generation_id)
    return gen
