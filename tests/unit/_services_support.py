"""Shared setup for the service tests: an in-memory store, a manual clock, an engine,
and helpers to look at what the store holds."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import attrs

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.memory import MemoryStore, MemoryUnitOfWork
from repurposeflow.domain.enums import UsageEventType
from repurposeflow.domain.model import Generation, User
from repurposeflow.domain.ports import ContentEngine
from repurposeflow.services.repurpose import RepurposeRequest, RepurposeResult, repurpose
from repurposeflow.services.users import ensure_user

# No digits or links: the scripted engine's canned outputs are grounded in it.
SOURCE = (
    "One long post can feed a whole week of content.\n\n"
    "Pull the core idea out first, then shape it for each platform you post on. "
    "Keep the facts from the source and cut everything else."
)
START = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


@attrs.define
class World:
    store: MemoryStore
    clock: ManualClock
    engine: Any

    def uow(self) -> MemoryUnitOfWork:
        return self.store.uow()

    def add_user(self, clerk: str = "user_1", email: str | None = None) -> User:
        return ensure_user(
            self.uow(), self.clock, clerk_user_id=clerk, email=email or f"{clerk}@example.com"
        )

    def run(
        self,
        clerk: str = "user_1",
        text: str = SOURCE,
        engine: ContentEngine | None = None,
        **kw: Any,
    ) -> RepurposeResult:
        return repurpose(
            self.uow(),
            engine or self.engine,
            self.clock,
            RepurposeRequest(clerk_user_id=clerk, text=text, **kw),
        )

    def user(self, clerk: str = "user_1") -> User:
        return next(
            u for u in self.store.users.values() if u.clerk_user_id == clerk and not u.deleted_at
        )

    def count(self, clerk: str = "user_1") -> int:
        return self.user(clerk).generations_count_current_month

    def generation(self, gen_id: uuid.UUID) -> Generation:
        return self.store.generations[gen_id]

    def events(self, gen_id: uuid.UUID | None = None) -> list[UsageEventType]:
        rows = sorted(self.store.usage_logs.values(), key=lambda e: e.created_at)
        return [e.event_type for e in rows if gen_id is None or e.generation_id == gen_id]

    def event_counts(self, gen_id: uuid.UUID | None = None) -> Counter[UsageEventType]:
        return Counter(self.events(gen_id))

    def snapshot(self) -> dict[str, dict[Any, Any]]:
        """Every table's rows (frozen values), to prove that nothing changed."""
        s = self.store
        return {
            "users": dict(s.users),
            "generations": dict(s.generations),
            "usage_logs": dict(s.usage_logs),
            "subscriptions": dict(s.subscriptions),
            "webhook_events": dict(s.webhook_events),
        }

    def exhaust(self, clerk: str = "user_1") -> None:
        """Use up the user's quota directly through the store."""
        with self.uow() as uow:
            user = self.user(clerk)
            while uow.users.reserve(user.id, self.clock.now()) is not None:
                pass
            uow.commit()


def make_world(engine: Any = None, start: datetime = START) -> World:
    return World(MemoryStore(), ManualClock(start), engine or ScriptedEngine())
