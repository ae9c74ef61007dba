"""What the application role may not do to its *own* rows (migration 0002), as SQL run
as ``repurposeflow_app`` with the person set: row-level security limits rows, column
privileges, policies and a trigger limit what a person may write about themselves.

Every forbidden statement fails with SQLSTATE 42501; what a person may do still works,
and the library's quota paths (reserve, refund through SECURITY DEFINER functions) work
end to end as the app role.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import attrs
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import APP_ROLE, SYSTEM_ROLE, SqlUnitOfWork, upgrade_database
from repurposeflow.domain.enums import GenerationStatus, Platform
from repurposeflow.domain.errors import EngineError, NotPermitted
from repurposeflow.domain.model import User
from repurposeflow.domain.quota import Quota
from repurposeflow.services.repurpose import RepurposeRequest, repurpose
from repurposeflow.services.users import change_tier, ensure_user
from tests.contract.repository import make_generation, make_user

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture
def people(pg: sa.Engine) -> tuple[sa.Engine, User, User, dict[str, uuid.UUID]]:
    """A (free, 3 used) and B, with a completed (charged), a failed and a pending
    generation each."""
    a = attrs.evolve(make_user(1), generations_count_current_month=0)
    b = make_user(2)
    ids: dict[str, uuid.UUID] = {}
    with SqlUnitOfWork(pg) as uow:
        for person, n in ((a, 0), (b, 10)):
            uow.users.add(person)
            for _ in range(3):
                quota = uow.users.reserve(person.id, NOW)
            assert quota is not None
            done = make_generation(
                person, n, status=GenerationStatus.COMPLETED, charged_reset_at=quota.reset_at
            )
            failed = make_generation(
                person, n + 1, status=GenerationStatus.FAILED, charged_reset_at=None
            )
            pending = make_generation(person, n + 2, charged_reset_at=quota.reset_at)
            for gen in (done, failed, pending):
                uow.generations.add(gen)
            ids.update(
                {
                    f"{person.clerk_user_id}:{k}": g.id
                    for k, g in (("done", done), ("failed", failed), ("pending", pending))
                }
            )
        uow.commit()
    return pg, a, b, ids


def _as_app(engine: sa.Engine, clerk_user_id: str, sql: str, **params: object) -> list[tuple]:
    with engine.connect() as conn, conn.begin():
        conn.execute(
            sa.text(
                "SELECT set_config('role', :r, true), set_config('app.current_user_id', :u, true)"
            ),
            {"r": APP_ROLE, "u": clerk_user_id},
        )
        result = conn.execute(sa.text(sql), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def _refused(engine: sa.Engine, clerk_user_id: str, sql: str, **params: object) -> None:
    with pytest.raises(sa.exc.DBAPIError) as info:
        _as_app(engine, clerk_user_id, sql, **params)
    assert info.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE, info.value.orig


def _user_row(engine: sa.Engine, user_id: uuid.UUID) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "SELECT subscription_tier, generations_limit, generations_count_current_month,"
                    " usage_reset_at, subscription_status, stripe_customer_id, deleted_at"
                    " FROM users WHERE id = :id"
                ),
                {"id": user_id},
            ).one()
        )


@pytest.mark.parametrize(
    "assignment",
    [
        "subscription_tier = 'business'",
        "generations_limit = 999999",
        "generations_count_current_month = 0",
        "usage_reset_at = '2099-01-01'",
        "subscription_status = 'active'",
        "stripe_customer_id = 'cus_mine'",
        "stripe_subscription_id = 'sub_mine'",
        "subscription_current_period_end = '2099-01-01'",
        "last_generation_at = now()",
        "deleted_at = now()",
        "subscription_tier = 'business', generations_limit = 999999,"
        " generations_count_current_month = 0, usage_reset_at = '2099-01-01'",
    ],
)
def test_a_person_cannot_change_their_own_plan_or_quota(people, assignment):
    pg, a, _, _ = people
    before = _user_row(pg, a.id)
    _refused(pg, a.clerk_user_id, f"UPDATE users SET {assignment} WHERE id = :id", id=a.id)
    assert _user_row(pg, a.id) == before


def test_a_person_may_change_profile_and_preferences(people):
    pg, a, _, _ = people
    changed = _as_app(
        pg,
        a.clerk_user_id,
        "UPDATE users SET full_name = 'Ada', email = 'ada@example.com',"
        " default_tone = 'educational', banned_phrases = '[\"synergy\"]',"
        " sample_posts = '[]', instagram_hashtag_cap = 3 WHERE id = :id RETURNING id",
        id=a.id,
    )
    assert changed == [(a.id,)]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, stripe_customer_id,"
        " stripe_price_id, tier, status, current_period_start, current_period_end,"
        " amount_cents, interval) VALUES (gen_random_uuid(), :me, 'sub_self', 'cus_self',"
        " 'price_x', 'business', 'active', now(), now() + interval '1 year', 0, 'year')",
        "UPDATE subscriptions SET tier = 'business' WHERE user_id = :me",
        "INSERT INTO webhook_events (id, source, event_type, event_id, payload) VALUES"
        " (gen_random_uuid(), 'stripe', 'customer.subscription.created', 'evt_self', '{}')",
        "UPDATE webhook_events SET processed = true",
        "INSERT INTO usage_daily (day, user_id, event_type, events, platforms, tokens,"
        " cost_usd) VALUES (current_date, :me, 'generation_started', 1, 1, 0, 0)",
        "INSERT INTO generations_archive (id, user_id)"
        " SELECT id, user_id FROM generations WHERE false",
        "DELETE FROM generations WHERE user_id = :me",
        "DELETE FROM usage_logs WHERE user_id = :me",
        "DELETE FROM users WHERE id = :me",
        "UPDATE usage_logs SET tokens_used = 0 WHERE user_id = :me",
        # A new account of one's own must start free and empty.
        "INSERT INTO users (id, clerk_user_id, email, usage_reset_at, subscription_tier,"
        " generations_limit) VALUES (gen_random_uuid(), 'user_0001', 'x@example.com',"
        " '2026-04-01', 'business', 999999)",
    ],
)
def test_billing_tables_and_history_are_not_the_app_roles_to_write(people, statement):
    pg, a, _, _ = people
    _refused(pg, a.clerk_user_id, statement, me=a.id)


def test_a_usage_log_may_name_only_ones_own_generation(people):
    """The WITH CHECK also closes the existence probe through the foreign key."""
    pg, a, b, ids = people
    insert = (
        "INSERT INTO usage_logs (id, user_id, generation_id, event_type, platform_count)"
        " VALUES (gen_random_uuid(), :me, :gen, 'generation_started', 1)"
    )
    _refused(pg, a.clerk_user_id, insert, me=a.id, gen=ids[f"{b.clerk_user_id}:done"])
    _refused(pg, a.clerk_user_id, insert, me=a.id, gen=uuid.uuid4())  # no such row: same answer
    _as_app(pg, a.clerk_user_id, insert, me=a.id, gen=ids[f"{a.clerk_user_id}:done"])


@pytest.mark.parametrize(
    ("which", "assignment"),
    [
        ("done", "charged_reset_at = NULL, status = 'failed'"),
        ("done", "status = 'failed'"),
        ("done", "charged_reset_at = NULL"),
        ("failed", "status = 'pending'"),
        ("failed", "charged_reset_at = '2026-04-01'"),
        ("pending", "charged_reset_at = '2099-01-01'"),
    ],
)
def test_a_person_cannot_forge_a_refund_through_their_generations(people, which, assignment):
    pg, a, _, ids = people
    gen = ids[f"{a.clerk_user_id}:{which}"]
    _refused(pg, a.clerk_user_id, f"UPDATE generations SET {assignment} WHERE id = :g", g=gen)


def test_reserve_and_refund_functions_have_fixed_semantics(people):
    pg, a, b, _ = people
    reserve = "SELECT * FROM repurposeflow_reserve(:u, :now)"
    refund = "SELECT repurposeflow_refund(:u, :w)"
    # Somebody else's quota: nothing happens.
    assert _as_app(pg, a.clerk_user_id, reserve, u=b.id, now=NOW) == []
    assert _as_app(pg, a.clerk_user_id, refund, u=b.id, w=APRIL) == [(False,)]
    # A clock from the future cannot roll the window early (the database's is the ceiling).
    far = datetime(2099, 6, 15, tzinfo=UTC)
    ((count, limit, reset_at),) = _as_app(pg, a.clerk_user_id, reserve, u=a.id, now=far)
    assert reset_at < datetime(2099, 1, 1, tzinfo=UTC)
    assert (count, limit) == ((1, 10) if reset_at != APRIL else (4, 10))
    # Refunds never take the count below the generations still charged in the window.
    window = _user_row(pg, a.id)[3]
    refunded = [_as_app(pg, a.clerk_user_id, refund, u=a.id, w=window)[0][0] for _ in range(10)]
    with pg.connect() as conn:
        charged = conn.execute(
            sa.text(
                "SELECT count(*) FROM generations WHERE user_id = :u AND charged_reset_at = :w"
            ),
            {"u": a.id, "w": window},
        ).scalar()
    assert _user_row(pg, a.id)[2] == charged
    assert refunded.count(True) == count - charged


def test_change_tier_acting_as_a_user_is_refused(people):
    pg, a, _, _ = people
    before = _user_row(pg, a.id)
    with pytest.raises(NotPermitted):
        change_tier(SqlUnitOfWork(pg, acting_as=a.clerk_user_id), a.clerk_user_id, "business")
    assert _user_row(pg, a.id) == before
    # The trusted path still can.
    assert change_tier(SqlUnitOfWork(pg), a.clerk_user_id, "business").generations_limit > 10


def test_the_pipeline_works_as_the_app_role(pg: sa.Engine):
    """Sign-up, a charged run and a refunded one, all as the person: the quota moves
    only through the SECURITY DEFINER functions and still comes out exact."""
    clock = ManualClock(NOW)
    me = "user_app_pipeline"
    uow = SqlUnitOfWork(pg, acting_as=me)
    user = ensure_user(uow, clock, clerk_user_id=me, email="pipe@example.com")
    done = repurpose(
        uow, ScriptedEngine(), clock, RepurposeRequest(me, "One post, many places.", ["email"])
    )
    assert done.generation.status is GenerationStatus.COMPLETED
    broken = ScriptedEngine(faults={"analyze": [EngineError("down")]})
    failed = repurpose(
        uow, broken, clock, RepurposeRequest(me, "Another post entirely.", [Platform.EMAIL])
    )
    assert failed.generation.status is GenerationStatus.FAILED
    with SqlUnitOfWork(pg) as system:
        assert system.users.get(user.id).quota == Quota(1, 10, APRIL)
        kinds = sorted(e.event_type.value for e in system.usage.list_for_user(user.id))
    assert kinds.count("generation_refunded") == 1


# --- logins -----------------------------------------------------------------------------


@pytest.fixture
def login_factory(pg_server: sa.URL) -> Iterator[Callable[..., sa.URL]]:
    """LOGIN roles made for a test (roles are cluster-wide: dropped afterwards)."""
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    made: list[str] = []

    def make(*member_of: str) -> str:
        name = f"rf_web_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
            for role in member_of:
                conn.exec_driver_sql(f"GRANT {role} TO {name}")
        made.append(name)
        return name

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
    admin.dispose()


def _connect_as(url: sa.URL, login: str) -> psycopg.Connection:
    return psycopg.connect(
        host=url.host, port=url.port, dbname=url.database, user=login, autocommit=True
    )


def test_a_web_login_cannot_become_the_system_role(pg: sa.Engine, login_factory):
    login = login_factory(APP_ROLE)
    with _connect_as(pg.url, login) as conn:
        conn.execute(f"SET ROLE {APP_ROLE}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SET ROLE {SYSTEM_ROLE}")
        conn.execute("RESET ROLE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT set_config('role', %s, false)", (SYSTEM_ROLE,))


def test_the_migration_takes_the_system_role_away_from_web_logins(
    pg_database_factory, login_factory
):
    url = pg_database_factory()
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        upgrade_database(engine, "0001_initial")
        careless = login_factory(APP_ROLE, SYSTEM_ROLE)  # a web login granted both by mistake
        upgrade_database(engine)
        with engine.connect() as conn:
            member = conn.execute(
                sa.text("SELECT pg_has_role(:login, :role, 'MEMBER')"),
                {"login": careless, "role": SYSTEM_ROLE},
            ).scalar()
            still_app = conn.execute(
                sa.text("SELECT pg_has_role(:login, :role, 'MEMBER')"),
                {"login": careless, "role": APP_ROLE},
            ).scalar()
        assert (member, still_app) == (False, True)
    finally:
        engine.dispose()


def test_the_app_role_reservation_agrees_with_the_library_statement(pg: sa.Engine):
    """The SECURITY DEFINER reservation and the system path roll and count alike."""
    for who, acting in (("sys", None), ("app", "user_agree")):
        user = User.create(
            clerk_user_id=f"user_{who}" if acting is None else acting,
            email=f"{who}@example.com",
            now=NOW - timedelta(days=40),
        )
        with SqlUnitOfWork(pg) as uow:
            uow.users.add(attrs.evolve(user, usage_reset_at=datetime(2026, 2, 1, tzinfo=UTC)))
            uow.commit()
        quotas = []
        for _ in range(2):
            with SqlUnitOfWork(pg, acting_as=acting) as uow:
                quotas.append(uow.users.reserve(user.id, NOW))
                uow.commit()
        assert quotas == [Quota(1, 10, APRIL), Quota(2, 10, APRIL)]


# --- two logins: the people's and the trusted path's --------------------------------------


def _web_app(web: sa.Engine, trusted: sa.Engine, billing: object) -> object:
    from tests.http.conftest import make_app

    return make_app(
        lambda: SqlUnitOfWork(trusted),
        lambda clerk_user_id: SqlUnitOfWork(web, acting_as=clerk_user_id),
        clock=ManualClock(NOW),
        billing=billing,  # type: ignore[arg-type]
    )


def test_a_web_login_limited_to_the_app_role_needs_the_system_url_for_the_trusted_path(
    pg: sa.Engine, login_factory
):
    """The README's setup: the web process logs in as a member of repurposeflow_app only.
    Account deletion and webhooks are the trusted path: with only that login they cannot
    work (503), with REPURPOSEFLOW_SYSTEM_DATABASE_URL they do."""
    from fastapi.testclient import TestClient

    from repurposeflow.adapters.billing import FakeBillingGateway
    from repurposeflow.bootstrap import build_stores, load_settings
    from repurposeflow.entrypoints.http import create_app
    from tests.http.conftest import auth, http_settings
    from tests.http.test_billing_routes import upgrade_event

    login = login_factory(APP_ROLE)
    web_url = pg.url.set(username=login, password=None)
    web = sa.create_engine(web_url, poolclass=NullPool)
    gateway = FakeBillingGateway()
    try:
        # Only the people's login: the trusted path is refused by the database.
        only_web = _web_app(web, web, gateway)
        with TestClient(create_app(only_web, http_settings())) as client:  # type: ignore[arg-type]
            assert client.get("/v1/me", headers=auth("alone")).status_code == 200
            body = upgrade_event(gateway, "alone")
            hook = client.post(
                "/webhooks/stripe", content=body, headers={"Stripe-Signature": gateway.sign(body)}
            )
            assert hook.status_code == 503
            assert client.delete("/v1/me", headers=auth("alone")).status_code == 503
        # Both logins, as bootstrap wires them from the two settings.
        owner_url = pg.url.render_as_string(hide_password=False)
        settings = load_settings(
            env={},
            database_url=web_url.render_as_string(hide_password=False),
            system_database_url=owner_url,
        )
        stores = build_stores(
            settings.database_url, system_database_url=settings.system_database_url
        )
        assert stores.readiness()[0]
        app = _web_app(web, pg, gateway)
        app.uow_factory = stores.system  # type: ignore[attr-defined]
        app.user_uow_factory = stores.per_user  # type: ignore[attr-defined]
        with TestClient(create_app(app, http_settings())) as client:  # type: ignore[arg-type]
            assert client.get("/v1/me", headers=auth("ada")).status_code == 200
            body = upgrade_event(gateway, "ada")
            hook = client.post(
                "/webhooks/stripe", content=body, headers={"Stripe-Signature": gateway.sign(body)}
            )
            assert hook.status_code == 200, hook.text
            assert client.get("/v1/me", headers=auth("ada")).json()["tier"] == "pro"
            assert client.delete("/v1/me", headers=auth("ada")).status_code == 204
        with SqlUnitOfWork(pg) as uow:
            assert uow.users.get_by_clerk_id("ada") is None
    finally:
        web.dispose()


def test_a_system_url_on_sqlite_is_refused():
    from repurposeflow.bootstrap import load_settings
    from repurposeflow.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="system_database_url"):
        load_settings(env={}, database_url="sqlite:///x.db", system_database_url="sqlite:///y.db")
