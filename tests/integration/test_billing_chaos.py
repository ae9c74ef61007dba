"""Chaos delivery of a Stripe history (1,066 events over 50 customers): shuffled, with
30% duplicates, one at a time (on the reference store) and from 8 threads at once (on
SQLite and PostgreSQL). Every user's plan and every subscription row must equal what
in-order delivery gives, and every event must be stored exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from repurposeflow.adapters.billing import FakeBillingGateway
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine
from repurposeflow.domain.ports import UnitOfWork
from repurposeflow.domain.webhooks import WebhookOutcome
from repurposeflow.services.users import ensure_user
from repurposeflow.services.webhooks import WebhookInbox
from tests.billing_history import History, deliveries, make_history
from tests.integration.conftest import POOL

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CUSTOMERS = 50
STEPS = 13  # 1,066 events


@pytest.fixture(scope="module")
def history() -> History:
    history = make_history(seed=11, customers=CUSTOMERS, steps=STEPS)
    assert len(history.events) >= 1000
    return history


def _setup(
    uow: Callable[[], UnitOfWork], history: History
) -> tuple[WebhookInbox, FakeBillingGateway]:
    clock = ManualClock(NOW)
    for clerk in history.customers:
        ensure_user(uow(), clock, clerk_user_id=clerk, email=f"{clerk}@example.com")
    gateway = history.gateway()
    return WebhookInbox(uow, clock, billing=gateway), gateway


def _deliver(
    inbox: WebhookInbox, gateway: FakeBillingGateway, bodies: list[bytes], threads: int
) -> Counter[str]:
    def one(raw: bytes) -> str:
        receipt = inbox.receive("stripe", raw, {"Stripe-Signature": gateway.sign(raw)})
        assert receipt.outcome is not WebhookOutcome.FAILED, receipt.error
        return receipt.outcome.value

    if threads == 1:
        return Counter(one(raw) for raw in bodies)
    with ThreadPoolExecutor(threads) as pool:
        return Counter(pool.map(one, bodies))


def _state(uow: Callable[[], UnitOfWork], history: History) -> dict[str, Any]:
    """Every customer's plan and subscription rows, without store-made ids and times."""
    state: dict[str, Any] = {}
    with uow() as tx:
        for clerk in history.customers:
            user = tx.users.get_by_clerk_id(clerk)
            assert user is not None
            subs = sorted(
                (
                    s.stripe_subscription_id,
                    s.stripe_customer_id,
                    s.stripe_price_id,
                    s.tier.value,
                    s.status.value,
                    s.current_period_start,
                    s.current_period_end,
                    s.cancel_at_period_end,
                    s.canceled_at,
                    s.amount_cents,
                    s.currency,
                    s.interval,
                    s.trial_start,
                    s.trial_end,
                    s.last_event_created,
                )
                for s in tx.subscriptions.list_for_user(user.id)
            )
            state[clerk] = (
                user.subscription_tier.value,
                user.subscription_status.value,
                user.generations_limit,
                user.generations_count_current_month,
                user.stripe_customer_id,
                user.stripe_subscription_id,
                user.subscription_current_period_end,
                subs,
            )
    return state


def _stored(uow: Callable[[], UnitOfWork]) -> Counter[str]:
    with uow() as tx:
        events = tx.webhooks.list_events(limit=100_000)
    assert all(e.processed and e.error_message is None for e in events)
    return Counter(e.event_id for e in events)


@pytest.fixture(scope="module")
def in_order(history: History) -> dict[str, Any]:
    """The reference: every event once, in Stripe's order, on the in-memory store."""
    store = MemoryStore()
    inbox, gateway = _setup(store.uow, history)
    outcomes = _deliver(inbox, gateway, history.bodies(), threads=1)
    assert outcomes["failed"] == 0 and outcomes["duplicate"] == 0
    state = _state(store.uow, history)
    # In order, each subscription ends as Stripe holds it.
    for sub_id, obj in history.final.items():
        row = store.subscriptions[sub_id]
        assert (row.status.value, row.stripe_price_id) == (
            obj["status"],
            obj["items"]["data"][0]["price"]["id"],
        )
    assert {row[1] for row in state.values()} >= {"active", "canceled"}
    return state


def _check(
    uow: Callable[[], UnitOfWork],
    history: History,
    in_order: dict[str, Any],
    outcomes: Counter[str],
    bodies: list[bytes],
) -> None:
    assert outcomes["duplicate"] == len(bodies) - len(history.events)
    assert outcomes["processed"] + outcomes["ignored"] == len(history.events)
    stored = _stored(uow)
    assert len(stored) == len(history.events) and set(stored.values()) == {1}
    assert _state(uow, history) == in_order


def test_shuffled_with_duplicates_on_the_memory_store(history, in_order):
    store = MemoryStore()
    inbox, gateway = _setup(store.uow, history)
    bodies = deliveries(history, seed=5)
    outcomes = _deliver(inbox, gateway, bodies, threads=1)
    _check(store.uow, history, in_order, outcomes, bodies)
    assert gateway.fetches  # ties and invoices went to "Stripe"


@pytest.fixture
def chaos_engine(sql_engine: sa.Engine) -> Iterator[sa.Engine]:
    """The test database; on PostgreSQL without waiting for the WAL flush at each commit
    (durability only: locking and visibility, what this test is about, are unchanged)."""
    if sql_engine.dialect.name != "postgresql":
        yield sql_engine
        return
    engine = make_engine(
        sql_engine.url.render_as_string(hide_password=False),
        connect_args={"options": "-c synchronous_commit=off"},
        **POOL,
    )
    yield engine
    engine.dispose()


def test_shuffled_with_duplicates_from_8_threads_on_sql(chaos_engine: sa.Engine, history, in_order):
    def uow() -> UnitOfWork:
        return SqlUnitOfWork(chaos_engine)

    inbox, gateway = _setup(uow, history)
    bodies = deliveries(history, seed=7)
    outcomes = _deliver(inbox, gateway, bodies, threads=8)
    _check(uow, history, in_order, outcomes, bodies)
