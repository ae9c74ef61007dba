"""The quota contract as a hypothesis state machine, reusable against any store.

``quota_machine(fresh_uow)`` builds a ``RuleBasedStateMachine`` whose every example
starts from ``fresh_uow()`` (a unit of work over an empty store). Rules drive the real
services (users, repurpose with a scripted engine, sweep, tier changes) through
completions, partial and failed runs, crashed workers, tier changes, clock jumps across
month boundaries and soft deletes; a plain-dict model runs beside the store, and after
every step the invariants of DESIGN.md are checked against what the store holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    UsageEventType,
)
from repurposeflow.domain.errors import QuotaExhausted, UserNotFound
from repurposeflow.domain.ports import UnitOfWork
from repurposeflow.domain.quota import effective_tier, is_month_start, limit_for, next_reset
from repurposeflow.services import maintenance, users
from repurposeflow.services.repurpose import RepurposeRequest, regenerate, repurpose

PLATFORMS = (Platform.TWITTER, Platform.EMAIL)
STALE = timedelta(minutes=20)

START_TIMES = st.sampled_from(
    [
        datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC),  # a second before a new year
        datetime(2028, 2, 28, 23, 0, tzinfo=UTC),  # leap year: Feb 29 follows
        datetime(2026, 4, 30, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 7, 1, 0, 0, tzinfo=UTC),  # exactly a month start
    ]
) | st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)

JUMPS = st.sampled_from(
    [
        timedelta(seconds=1),
        timedelta(hours=5),
        timedelta(days=1),
        timedelta(days=13),
        timedelta(days=31),
        timedelta(days=95),  # away for three months: one reset, not three
    ]
)


class WorkerDied(BaseException):
    """A worker killed mid-generation: escapes the pipeline's error handling, like a
    process dying, and leaves the generation pending and charged."""


def _engine(outcome: str) -> ScriptedEngine:
    if outcome == "failed":
        return ScriptedEngine(faults={p: [RuntimeError("provider down")] for p in PLATFORMS})
    if outcome == "partial":
        return ScriptedEngine(faults={Platform.EMAIL: [RuntimeError("provider down")]})
    if outcome == "crash":
        return ScriptedEngine(faults={"analyze": [WorkerDied()]})
    return ScriptedEngine()


def quota_machine(fresh_uow: Callable[[], UnitOfWork]) -> type[RuleBasedStateMachine]:
    class QuotaMachine(RuleBasedStateMachine):
        users = Bundle("users")

        def __init__(self) -> None:
            super().__init__()
            self.uow = fresh_uow()
            self.clock = ManualClock()
            self.names = itertools.count()
            # clerk id -> stored quota fields, as the rules say they must be
            self.model: dict[str, dict[str, Any]] = {}
            # generation id -> {"user": clerk id, "status": str}
            self.generations: dict[Any, dict[str, Any]] = {}
            self.completed_texts: dict[str, list[str]] = {}

        # --- rules ------------------------------------------------------------

        @initialize(start=START_TIMES)
        def start_clock(self, start: datetime) -> None:
            self.clock.set(start)

        @rule(target=users)
        def add_user(self) -> str:
            n = next(self.names)
            clerk = f"user_{n}"
            user = users.ensure_user(
                self.uow, self.clock, clerk_user_id=clerk, email=f"person{n}@example.com"
            )
            self.model[clerk] = {
                "count": 0,
                "limit": limit_for(Tier.FREE),
                "reset_at": next_reset(self.clock.now()),
                "deleted": False,
                "id": user.id,
            }
            assert user.usage_reset_at == self.model[clerk]["reset_at"]
            return clerk

        def _text(self) -> str:
            return f"Post number {next(self.names)} about writing once and posting everywhere."

        def _expect_reservation(self, clerk: str) -> bool:
            """Apply the rules to the model; True if a reservation must be admitted."""
            m = self.model[clerk]
            if m["deleted"]:
                return False
            now = self.clock.now()
            if now >= m["reset_at"]:
                # A new window is folded into the reservation: stored only when admitted.
                rolled_count, rolled_reset = 0, next_reset(now)
            else:
                rolled_count, rolled_reset = m["count"], m["reset_at"]
            if rolled_count >= m["limit"]:
                return False
            m["count"], m["reset_at"] = rolled_count + 1, rolled_reset
            return True

        @rule(user=users, outcome=st.sampled_from(["completed", "partial", "failed"]))
        def generate(self, user: str, outcome: str) -> None:
            admitted = self._expect_reservation(user)
            request = RepurposeRequest(user, self._text(), platforms=PLATFORMS)
            try:
                result = repurpose(
                    self.uow, _engine(outcome), self.clock, request, max_concurrency=1
                )
            except QuotaExhausted as exc:
                assert not admitted, "refused although the quota had room"
                assert not self.model[user]["deleted"]
                assert exc.used >= exc.limit
                return
            except UserNotFound:
                assert self.model[user]["deleted"]
                return
            assert admitted, "admitted beyond the limit (or for a deleted user)"
            gen = result.generation
            assert gen.status.value == outcome
            if outcome == "failed":
                self.model[user]["count"] -= 1  # refunded in the window it was charged in
            else:
                self.completed_texts.setdefault(user, []).append(request.text)
            self.generations[gen.id] = {"user": user, "status": outcome}

        @precondition(lambda self: any(self.completed_texts.values()))
        @rule(data=st.data())
        def repeat_request(self, data: st.DataObject) -> None:
            clerk = data.draw(
                st.sampled_from(sorted(u for u, t in self.completed_texts.items() if t))
            )
            text = data.draw(st.sampled_from(self.completed_texts[clerk]))
            if self.model[clerk]["deleted"]:
                return
            before = dict(self.model[clerk])
            try:
                result = repurpose(
                    self.uow, ScriptedEngine(), self.clock, RepurposeRequest(clerk, text, PLATFORMS)
                )
            except QuotaExhausted:
                # The first run was partial (never cached) and the quota has no room now.
                assert not self._expect_reservation(clerk)
                self.model[clerk] = before
                return
            # A completed or partial first run: completed -> served from cache for free.
            if result.cached:
                assert result.generation.status is GenerationStatus.COMPLETED
                assert self.model[clerk] == before
            else:
                # the earlier one was partial: this is a new charged request
                self.model[clerk] = before
                admitted = self._expect_reservation(clerk)
                assert admitted
                self.completed_texts[clerk].remove(text)
                self.generations[result.generation.id] = {"user": clerk, "status": "completed"}

        @rule(user=users)
        def crash(self, user: str) -> None:
            admitted = self._expect_reservation(user)
            request = RepurposeRequest(user, self._text(), platforms=PLATFORMS)
            try:
                repurpose(self.uow, _engine("crash"), self.clock, request, max_concurrency=1)
            except WorkerDied:
                assert admitted
                return
            except (QuotaExhausted, UserNotFound):
                assert not admitted
                return
            raise AssertionError("the crashing engine did not crash")

        @rule()
        def sweep(self) -> None:
            self.clock.advance(STALE)
            with self.uow:
                pending = [
                    g
                    for m in self.model.values()
                    for g in self.uow.generations.list_for_user(
                        m["id"], limit=10_000, status=GenerationStatus.PENDING
                    )
                ]
            for gen in pending:
                owner = next(c for c, m in self.model.items() if m["id"] == gen.user_id)
                m = self.model[owner]
                if gen.charged_reset_at == m["reset_at"] and m["count"] > 0:
                    m["count"] -= 1
                self.generations[gen.id] = {"user": owner, "status": "failed"}
            swept = maintenance.sweep_stale_pending(self.uow, self.clock, older_than=STALE / 2)
            assert swept == len(pending)
            assert maintenance.sweep_stale_pending(self.uow, self.clock) == 0

        @precondition(lambda self: any(g["status"] == "partial" for g in self.generations.values()))
        @rule(data=st.data())
        def retry_partial(self, data: st.DataObject) -> None:
            gen_id = data.draw(
                # In the order they were made: ids are random, so sorting by id would pick
                # another generation when hypothesis replays the example.
                st.sampled_from(
                    [k for k, g in self.generations.items() if g["status"] == "partial"]
                )
            )
            clerk = self.generations[gen_id]["user"]
            if self.model[clerk]["deleted"]:
                return
            before = dict(self.model[clerk])
            updated = regenerate(
                self.uow, ScriptedEngine(), self.clock, clerk_user_id=clerk, generation_id=gen_id
            )
            assert updated.status is GenerationStatus.COMPLETED
            assert self.model[clerk] == before  # no new charge
            self.generations[gen_id]["status"] = "completed"

        @rule(
            user=users,
            tier=st.sampled_from(list(Tier)),
            status=st.sampled_from(list(SubscriptionStatus)),
        )
        def change_tier(self, user: str, tier: Tier, status: SubscriptionStatus) -> None:
            if self.model[user]["deleted"]:
                return
            users.change_tier(self.uow, user, tier, status)
            self.model[user]["limit"] = limit_for(effective_tier(tier, status))

        @rule(user=users)
        def squeeze_to_one(self, user: str) -> None:
            """Drop a user to a tiny limit directly, to reach exhaustion fast (a store-level
            plan change, as a downgrade does)."""
            m = self.model[user]
            if m["deleted"]:
                return
            with self.uow:
                current = self.uow.users.get(m["id"])
                assert current is not None
                self.uow.users.set_plan(
                    m["id"],
                    tier=current.subscription_tier,
                    status=current.subscription_status,
                    limit=2,
                    stripe_customer_id=current.stripe_customer_id,
                    stripe_subscription_id=current.stripe_subscription_id,
                    current_period_end=current.subscription_current_period_end,
                )
                self.uow.commit()
            m["limit"] = 2

        @rule(delta=JUMPS)
        def jump(self, delta: timedelta) -> None:
            self.clock.advance(delta)

        @rule(
            offset=st.sampled_from([timedelta(microseconds=-1), timedelta(0), timedelta(seconds=1)])
        )
        def jump_to_month_boundary(self, offset: timedelta) -> None:
            target = next_reset(self.clock.now()) + offset
            if target > self.clock.now():
                self.clock.set(target)

        @rule(user=consumes(users))
        def delete(self, user: str) -> None:
            users.delete_user(self.uow, self.clock, user)
            self.model[user]["deleted"] = True

        # --- invariants -------------------------------------------------------

        @invariant()
        def store_matches_model(self) -> None:
            with self.uow:
                for clerk, m in self.model.items():
                    stored = self.uow.users.get(m["id"])
                    assert stored is not None
                    assert stored.generations_count_current_month == m["count"], clerk
                    assert stored.generations_limit == m["limit"], clerk
                    assert stored.usage_reset_at == m["reset_at"], clerk
                    assert stored.is_deleted == m["deleted"]

        @invariant()
        def quota_rules_hold(self) -> None:
            with self.uow:
                for m in self.model.values():
                    user = self.uow.users.get(m["id"])
                    assert user is not None
                    assert user.generations_count_current_month >= 0
                    assert is_month_start(user.usage_reset_at)
                    if user.last_generation_at is not None:
                        # reset_at is the month start after the reservation that opened the window
                        assert user.usage_reset_at > user.last_generation_at
                    gens = self.uow.generations.list_for_user(user.id, limit=10_000)
                    charged_now = [g for g in gens if g.charged_reset_at == user.usage_reset_at]
                    assert len(charged_now) == user.generations_count_current_month
                    for g in gens:
                        if g.status is GenerationStatus.FAILED:
                            assert g.charged_reset_at is None
                    refunds = [
                        e.generation_id
                        for e in self.uow.usage.list_for_user(user.id, limit=100_000)
                        if e.event_type is UsageEventType.GENERATION_REFUNDED
                    ]
                    assert len(refunds) == len(set(refunds)), "a generation was refunded twice"

    return QuotaMachine
