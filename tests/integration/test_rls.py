"""Row-level security on PostgreSQL, exercised as the application role.

The adapter switches each transaction to ``repurposeflow_app`` (non-owner, not a
superuser, no BYPASSRLS) and sets the Clerk id with ``set_config(…, true)``. Person A
must see and change none of person B's rows through any repository method, and with no
person set nobody's rows, without an error.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa

from repurposeflow.adapters.sql import APP_ROLE, SqlUnitOfWork
from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    Tone,
    UsageEventType,
)
from repurposeflow.domain.errors import NotFound, NotPermitted
from repurposeflow.domain.model import UsageEvent, VoiceSettings
from repurposeflow.domain.stats import PlatformPopularity
from tests.integration.test_repository_contract import (
    make_event,
    make_generation,
    make_subscription,
    make_user,
)

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
OLD = NOW - timedelta(days=200)


def _event(user_id: uuid.UUID, gen_id: uuid.UUID, at: datetime) -> UsageEvent:
    return UsageEvent(
        id=uuid.uuid4(),
        user_id=user_id,
        generation_id=gen_id,
        event_type=UsageEventType.GENERATION_STARTED,
        platforms=(Platform.EMAIL,),
        created_at=at,
        tokens_used=5,
        estimated_cost_usd=Decimal("0.01"),
    )


@pytest.fixture
def two_people(pg: sa.Engine):
    """Users A and B with a row of every kind each (B's include old, pending ones)."""
    a = make_user(1, stripe_customer_id="cus_a")
    b = make_user(2, stripe_customer_id="cus_b")
    rows = {}
    with SqlUnitOfWork(pg) as uow:
        for person, n in ((a, 0), (b, 10)):
            uow.users.add(person)
            uow.users.reserve(person.id, NOW)
            done = make_generation(
                person, n, status=GenerationStatus.COMPLETED, generation_time_ms=100 + n
            )
            pending = make_generation(person, n + 1, created_at=OLD)
            uow.generations.add(done)
            uow.generations.add(pending)
            uow.usage.add(_event(person.id, done.id, NOW))
            uow.usage.add(_event(person.id, pending.id, OLD))
            sub = make_subscription(
                person,
                stripe_subscription_id=f"sub_{n}",
                stripe_customer_id=person.stripe_customer_id,
            )
            uow.subscriptions.upsert(sub)
            rows[person.clerk_user_id] = {"done": done, "pending": pending, "sub": sub}
        uow.webhooks.add_if_new(make_event(1, created_at=OLD, processed=True))
        uow.webhooks.add_if_new(make_event(2))
        uow.commit()
    return pg, a, b, rows


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, read as the owner with the app role out of the way."""
    with SqlUnitOfWork(engine) as uow:
        return {
            table: sorted(map(tuple, uow.execute(sa.text(f"SELECT * FROM {table}"))), key=str)
            for table in (
                "users",
                "generations",
                "usage_logs",
                "subscriptions",
                "webhook_events",
                "generations_archive",
                "usage_daily",
            )
        }


def test_the_uow_really_runs_as_the_unprivileged_application_role(two_people):
    pg, a, _, _ = two_people
    with SqlUnitOfWork(pg, acting_as=a.clerk_user_id) as uow:
        row = uow.execute(
            sa.text(
                "SELECT current_user, r.rolsuper, r.rolbypassrls,"
                " (SELECT tableowner FROM pg_tables WHERE tablename = 'users'),"
                " current_setting('app.current_user_id')"
                " FROM pg_roles r WHERE r.rolname = current_user"
            )
        ).one()
    assert row == (APP_ROLE, False, False, row[3], a.clerk_user_id)
    assert row[3] != APP_ROLE
    # set_config(..., true) ends with the transaction: a pooled connection is clean.
    with pg.connect() as conn:
        after = conn.execute(
            sa.text("SELECT current_user, current_setting('app.current_user_id', true)")
        ).one()
    assert after[0] != APP_ROLE
    assert after[1] in (None, "")


def test_person_a_cannot_read_person_b(two_people):
    pg, a, b, rows = two_people
    theirs = rows[b.clerk_user_id]
    mine = rows[a.clerk_user_id]
    with SqlUnitOfWork(pg, acting_as=a.clerk_user_id) as uow:
        assert uow.users.get(a.id) is not None  # the policy lets A see A
        assert uow.users.get(b.id) is None
        assert uow.users.get_by_clerk_id(b.clerk_user_id) is None
        assert uow.users.get_by_stripe_customer("cus_b") is None
        assert uow.generations.get(theirs["done"].id) is None
        assert uow.generations.get(mine["done"].id) == mine["done"]
        assert uow.generations.find_by_request_key(b.id, theirs["done"].request_key) is None
        assert uow.generations.list_for_user(b.id, limit=50) == []
        assert len(uow.generations.list_for_user(a.id, limit=50)) == 2
        assert uow.generations.stale_pending(NOW, 50) == [mine["pending"].id]
        assert uow.usage.list_for_user(b.id) == []
        assert len(uow.usage.list_for_user(a.id)) == 2
        assert uow.subscriptions.get_by_stripe_id(theirs["sub"].stripe_subscription_id) is None
        assert uow.subscriptions.list_for_user(b.id) == []
        assert uow.webhooks.get_by_event_id("evt_2") is None
        assert uow.webhooks.list_unprocessed() == []
        assert [(s.tier, s.user_count) for s in uow.maintenance.tier_stats()] == [(Tier.FREE, 1)]
        assert sum(d.generations for d in uow.maintenance.daily_volume(OLD)) == 1
        assert uow.maintenance.platform_popularity(OLD - timedelta(days=1)) == [
            PlatformPopularity(Platform.EMAIL, 2),
            PlatformPopularity(Platform.TWITTER, 2),
        ]
        assert uow.maintenance.latency(OLD).samples == 1


def test_person_a_cannot_change_person_b(two_people):
    pg, a, b, rows = two_people
    theirs = rows[b.clerk_user_id]
    before = _snapshot(pg)
    window = datetime(2026, 4, 1, tzinfo=UTC)
    with SqlUnitOfWork(pg, acting_as=a.clerk_user_id) as uow:
        uow.users.update_profile(b.id, email="stolen@example.com", full_name="Mallory")
        uow.users.set_voice(b.id, VoiceSettings(Tone.AUTHORITY))
        assert uow.users.reserve(b.id, NOW) is None
        assert uow.users.refund(b.id, window) is False
        with pytest.raises(KeyError):
            uow.generations.save(attrs.evolve(theirs["done"], core_message="defaced"))
        assert (
            uow.generations.settle_failed(theirs["pending"].id, error_message="x", now=NOW) is None
        )
        uow.commit()
    # What the app role may not do to anybody, B included, is refused outright (0002).
    refused = [
        lambda uow: uow.users.set_plan(
            b.id,
            tier=Tier.BUSINESS,
            status=SubscriptionStatus.ACTIVE,
            limit=999_999,
            stripe_customer_id=None,
            stripe_subscription_id=None,
            current_period_end=None,
        ),
        lambda uow: uow.users.soft_delete(b.id, NOW),
        lambda uow: uow.webhooks.mark_processed("evt_2", NOW),
        lambda uow: uow.webhooks.mark_failed("evt_2", "nope"),
        lambda uow: uow.maintenance.archive_generations(NOW, 100),
        lambda uow: uow.maintenance.aggregate_usage_logs(NOW, 100),
        lambda uow: uow.maintenance.purge_webhook_events(NOW, 100),
    ]
    for attempt in refused:
        with SqlUnitOfWork(pg, acting_as=a.clerk_user_id) as uow, pytest.raises(NotPermitted):
            attempt(uow)
    # Writing a row *as* B is refused outright (the WITH CHECK of the policies).
    attempts = [
        lambda uow: uow.generations.add(make_generation(b, 50)),
        lambda uow: uow.usage.add(_event(b.id, theirs["done"].id, NOW)),
        lambda uow: uow.users.add(make_user(3)),
    ]
    for attempt in attempts:
        with SqlUnitOfWork(pg, acting_as=a.clerk_user_id) as uow, pytest.raises(NotFound):
            attempt(uow)
            uow.commit()
    assert _snapshot(pg) == before


@pytest.mark.parametrize("nobody", ["", None])
def test_nobody_set_sees_zero_rows_without_error(two_people, nobody):
    pg, a, _, rows = two_people
    with pg.connect() as conn, conn.begin():
        conn.exec_driver_sql(f"SET LOCAL ROLE {APP_ROLE}")
        if nobody is not None:
            conn.execute(
                sa.text("SELECT set_config('app.current_user_id', :v, true)"), {"v": nobody}
            )
        counts = [
            conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("users", "generations", "usage_logs", "subscriptions", "webhook_events")
        ]
        assert counts == [0, 0, 0, 0, 0]
        updated = conn.exec_driver_sql("UPDATE users SET full_name = 'x' RETURNING id").all()
        assert updated == []
    with SqlUnitOfWork(pg, acting_as="") as uow:
        assert uow.users.get(a.id) is None
        assert uow.generations.get(rows[a.clerk_user_id]["done"].id) is None


def test_row_security_is_forced_and_policies_tolerate_a_missing_setting(two_people):
    """FORCE ROW LEVEL SECURITY: the table owner is not exempt (the seed's defect), and
    the policies read the setting with missing_ok, once per statement."""
    pg, *_ = two_people
    with pg.connect() as conn:
        forced = (
            conn.execute(
                sa.text(
                    "SELECT relname FROM pg_class WHERE relforcerowsecurity AND relrowsecurity"
                    " AND relname = ANY(:t) ORDER BY relname"
                ),
                {"t": ["users", "generations", "usage_logs", "subscriptions"]},
            )
            .scalars()
            .all()
        )
        assert forced == ["generations", "subscriptions", "usage_logs", "users"]
        policies = conn.execute(
            sa.text("SELECT qual FROM pg_policies WHERE policyname = 'users_own_select'")
        ).scalar()
        assert "NULLIF(current_setting('app.current_user_id'::text, true)" in policies
        assert "SELECT" in policies.upper()
