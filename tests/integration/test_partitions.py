"""Monthly partitions on PostgreSQL (migration 0005, ``adapters/sql/partitions.py``):
the migration moves existing rows into their months and rebuilds everything that hung
on the tables exactly as it was (and back on downgrade); ``ensure`` is idempotent and
creates the coming months; rows land in their month; whole months leave by archive and
drop, or detach; the global unique rules still hold across partitions; the history
query reads the partitions' own copies of the partial index.

Each test gets a database of its own: partition layouts differ from test to test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine, upgrade_database
from repurposeflow.adapters.sql.migrate import downgrade_database
from repurposeflow.adapters.sql.partitions import (
    IDEMPOTENCY_KEY_CONSTRAINT,
    KEY_TABLES,
    PENDING_KEY_CONSTRAINT,
    add_months,
    drop_partitions_before,
    ensure_partitions,
    is_partitioned,
    month_start,
    partition_name,
    partitions,
)
from repurposeflow.domain.enums import GenerationStatus, UsageEventType
from repurposeflow.domain.errors import IdempotencyKeyReused, RequestInFlight
from repurposeflow.domain.model import UsageEvent
from repurposeflow.entrypoints.cli import main
from repurposeflow.services import maintenance
from repurposeflow.services.repurpose import RepurposeRequest, repurpose
from repurposeflow.services.users import ensure_user
from tests.contract.repository import make_generation, make_user
from tests.integration.test_store_errors_and_history import (
    SORT_NODE,
    index_scans,
    partial_index_family,
    seq_scanned_rows,
)

pytestmark = pytest.mark.postgres

TABLES = ("generations", "usage_logs")
KEY_TRIGGERS = {
    "trg_generations_keys",
    "trg_generations_keys_update",
    "trg_generations_keys_truncate",
}


@pytest.fixture
def empty_pg(pg_database_factory: Callable[[], sa.URL]) -> Iterator[sa.Engine]:
    engine = make_engine(pg_database_factory().render_as_string(hide_password=False))
    yield engine
    engine.dispose()


@pytest.fixture
def fresh(empty_pg: sa.Engine) -> sa.Engine:
    upgrade_database(empty_pg)
    return empty_pg


def _where(engine: sa.Engine, table: str) -> dict[uuid.UUID, str]:
    """Row id -> the partition (or table) that holds it."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT id, tableoid::regclass::text FROM {table}"))
        return dict(rows.all())


def _rows(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
        return [dict(r._mapping) for r in result]


def _catalog(engine: sa.Engine, table: str) -> dict[str, Any]:
    """Everything migration 0005 promises to keep: policies, table and column grants,
    row-level security, triggers, secondary indexes, foreign keys, CHECKs."""
    oid = "CAST(:t AS regclass)"
    queries = {
        "policies": "SELECT policyname, permissive, roles::text, cmd, qual, with_check"
        " FROM pg_policies WHERE tablename = :t",
        "grants": "SELECT r.rolname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a"
        f" JOIN pg_roles r ON r.oid = a.grantee WHERE c.oid = {oid} AND a.grantee <> c.relowner",
        "column_grants": "SELECT att.attname, r.rolname, a.privilege_type FROM pg_attribute att,"
        " aclexplode(att.attacl) a JOIN pg_roles r ON r.oid = a.grantee"
        f" WHERE att.attrelid = {oid} AND att.attacl IS NOT NULL",
        "rls": f"SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = {oid}",
        "triggers": "SELECT tgname, tgtype, tgfoid::regproc::text FROM pg_trigger"
        f" WHERE tgrelid = {oid} AND NOT tgisinternal",
        "indexes": "SELECT c.relname, x.indisunique,"
        " replace(pg_get_indexdef(x.indexrelid), ' ON ONLY ', ' ON ') FROM pg_index x"
        f" JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = {oid} AND NOT x.indisprimary",
        "foreign_keys": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = {oid} AND contype = 'f'",
        "checks": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = {oid} AND contype = 'c'",
        "primary_key": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = {oid} AND contype = 'p'",
    }
    with engine.connect() as conn:
        return {
            key: sorted(tuple(r) for r in conn.execute(sa.text(sql), {"t": table}))
            for key, sql in queries.items()
        }


def _drop(snapshot: list[tuple], *names: str) -> list[tuple]:
    return [row for row in snapshot if row[0] not in names]


# --- the migration ------------------------------------------------------------------------


def test_upgrade_moves_rows_into_their_months_keeps_everything_and_downgrade_restores(
    empty_pg: sa.Engine,
):
    engine = empty_pg
    upgrade_database(engine, "0004_provider_usage")
    ada, bob = make_user(1), make_user(2)
    months = [datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)]
    gens = [
        make_generation(ada, 0, created_at=months[0], status=GenerationStatus.COMPLETED),
        make_generation(ada, 1, created_at=months[1], idempotency_key="key-1"),  # pending
        make_generation(bob, 2, created_at=months[1], status=GenerationStatus.FAILED),
    ]
    with SqlUnitOfWork(engine) as uow:
        for person in (ada, bob):
            uow.users.add(person)
        for gen in gens:
            uow.generations.add(gen)
            uow.usage.add(
                UsageEvent(
                    id=uuid.uuid4(),
                    user_id=gen.user_id,
                    generation_id=gen.id,
                    event_type=UsageEventType.GENERATION_STARTED,
                    platforms=gen.selected_platforms,
                    created_at=gen.created_at,
                    tokens_used=10,
                    estimated_cost_usd=Decimal("0.000100"),
                )
            )
        uow.commit()
    before = {t: _catalog(engine, t) for t in TABLES}
    rows = {t: _rows(engine, t) for t in TABLES}
    assert len(rows["usage_logs"]) == 3

    upgrade_database(engine)
    with engine.connect() as conn:
        assert all(is_partitioned(conn, t) for t in TABLES)
        layout = {t: [p.name for p in partitions(conn, t)] for t in TABLES}
    this_month = month_start(datetime.now(UTC))
    for table in TABLES:
        expected = [partition_name(table, month_start(m)) for m in months] + [
            partition_name(table, add_months(this_month, n)) for n in range(4)
        ]
        assert layout[table] == [*expected, f"{table}_default"]
        # Every row in its own month, none lost, none changed.
        where = _where(engine, table)
        for row in rows[table]:
            assert where[row["id"]] == partition_name(table, month_start(row["created_at"]))
        assert _rows(engine, table) == rows[table]

    after = {t: _catalog(engine, t) for t in TABLES}
    for table in TABLES:
        for key in ("policies", "grants", "column_grants", "rls", "checks"):
            assert after[table][key] == before[table][key], (table, key)
        assert after[table]["primary_key"] == [(f"pk_{table}", "PRIMARY KEY (id, created_at)")]
    assert (
        _drop(after["generations"]["triggers"], *KEY_TRIGGERS) == before["generations"]["triggers"]
    )
    assert after["usage_logs"]["triggers"] == before["usage_logs"]["triggers"]
    assert _drop(after["generations"]["indexes"], "ix_generations_user_idempotency_key") == _drop(
        before["generations"]["indexes"], PENDING_KEY_CONSTRAINT, IDEMPOTENCY_KEY_CONSTRAINT
    )
    assert after["usage_logs"]["indexes"] == before["usage_logs"]["indexes"]
    assert after["generations"]["foreign_keys"] == before["generations"]["foreign_keys"]
    assert after["usage_logs"]["foreign_keys"] == _drop(
        before["usage_logs"]["foreign_keys"], "fk_usage_logs_generation_id_generations"
    )

    # The global rules came along with the rows: ada's pending request and her key.
    with SqlUnitOfWork(engine) as uow:
        with pytest.raises(RequestInFlight) as refused:
            uow.generations.add(attrs.evolve(gens[1], id=uuid.uuid4(), idempotency_key=None))
        assert refused.value.generation_id == gens[1].id
        with pytest.raises(IdempotencyKeyReused):
            uow.generations.add(make_generation(ada, 7, idempotency_key="key-1"))
        # A generation that goes away (archived) leaves its usage log naming it.
        uow.execute(
            sa.delete(sa.table("generations", sa.column("id"))).where(sa.column("id") == gens[2].id)
        )
        uow.commit()

    downgrade_database(engine, "0004_provider_usage")
    with engine.connect() as conn:
        assert not any(is_partitioned(conn, t) for t in TABLES)
        assert not any(sa.inspect(conn).has_table(t) for t in KEY_TABLES)
    assert {t: _catalog(engine, t) for t in TABLES} == before
    assert _rows(engine, "generations") == [r for r in rows["generations"] if r["id"] != gens[2].id]
    # What ON DELETE SET NULL would have done to the log of the generation gone.
    logs = _rows(engine, "usage_logs")
    assert [r["generation_id"] is None for r in logs] == [
        r["generation_id"] == gens[2].id for r in rows["usage_logs"]
    ]

    upgrade_database(engine)  # and up again
    with engine.connect() as conn:
        assert all(is_partitioned(conn, t) for t in TABLES)


# --- ensure and rows in their months -----------------------------------------------------------


def _add(engine: sa.Engine, *gens: Any, user: Any = None) -> None:
    with SqlUnitOfWork(engine) as uow:
        if user is not None:
            uow.users.add(user)
        for gen in gens:
            uow.generations.add(gen)
        uow.commit()


def _ensure(engine: sa.Engine, months_ahead: int = 3, **kwargs: Any) -> Any:
    with engine.begin() as conn:
        return ensure_partitions(conn, months_ahead, **kwargs)


def test_ensure_is_idempotent_and_rows_land_in_their_month(fresh: sa.Engine):
    today = date(2031, 1, 15)
    report = _ensure(fresh, today=today)
    assert report.created == [
        partition_name(t, date(2031, m, 1)) for t in TABLES for m in (1, 2, 3, 4)
    ]
    assert report.moved == {}
    assert _ensure(fresh, today=today).created == []
    assert _ensure(fresh, 1, today=datetime(2031, 2, 28, 23, tzinfo=UTC)).created == []

    ada = make_user(1)
    feb = make_generation(ada, 0, created_at=datetime(2031, 2, 10, tzinfo=UTC))
    edge = make_generation(ada, 1, created_at=datetime(2031, 4, 30, 23, 59, 59, tzinfo=UTC))
    later = make_generation(ada, 2, created_at=datetime(2035, 6, 1, tzinfo=UTC))
    _add(fresh, feb, edge, later, user=ada)
    with SqlUnitOfWork(fresh) as uow:
        uow.usage.add(
            UsageEvent(
                id=uuid.uuid4(),
                user_id=ada.id,
                generation_id=later.id,
                event_type=UsageEventType.GENERATION_STARTED,
                platforms=later.selected_platforms,
                created_at=later.created_at,
            )
        )
        uow.commit()
    where = _where(fresh, "generations")
    assert where[feb.id] == "generations_y2031m02"
    assert where[edge.id] == "generations_y2031m04"
    assert where[later.id] == "generations_default"  # an insert never fails

    # A month with rows in the default partition gets its partition, and they move.
    report = _ensure(fresh, today=today)
    assert report.created == ["generations_y2035m06", "usage_logs_y2035m06"]
    assert report.moved == {"generations_y2035m06": 1, "usage_logs_y2035m06": 1}
    assert _where(fresh, "generations")[later.id] == "generations_y2035m06"
    assert set(_where(fresh, "usage_logs").values()) == {"usage_logs_y2035m06"}
    with fresh.connect() as conn:
        for table in TABLES:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}_default")).scalar() == 0
    # The moved pending generation still holds its request key, and lets it go.
    with SqlUnitOfWork(fresh) as uow:
        with pytest.raises(RequestInFlight):
            uow.generations.add(attrs.evolve(later, id=uuid.uuid4()))
        assert uow.generations.get(later.id) == later
        uow.generations.settle_failed(later.id, error_message="x", now=later.created_at)
        uow.generations.add(attrs.evolve(later, id=uuid.uuid4()))
        uow.commit()
    assert _ensure(fresh, today=today).created == []


def test_one_pending_generation_per_request_across_months(fresh: sa.Engine):
    """The key tables hold the rule for the whole table, not per partition, including
    a generation that moves to another month (an UPDATE across partitions)."""
    _ensure(fresh, today=date(2031, 1, 1))
    ada = make_user(1)
    jan = make_generation(ada, 0, created_at=datetime(2031, 1, 31, tzinfo=UTC))
    _add(fresh, jan, user=ada)
    march_twin = attrs.evolve(jan, id=uuid.uuid4(), created_at=datetime(2031, 3, 2, tzinfo=UTC))
    with SqlUnitOfWork(fresh) as uow:
        with pytest.raises(RequestInFlight):
            uow.generations.add(march_twin)
        # Moving the pending one to February keeps it the one in flight.
        moved = attrs.evolve(jan, created_at=datetime(2031, 2, 1, tzinfo=UTC))
        uow.generations.save(moved)
        with pytest.raises(RequestInFlight):
            uow.generations.add(march_twin)
        uow.commit()
    assert _where(fresh, "generations")[jan.id] == "generations_y2031m02"
    with fresh.connect() as conn:
        conn.exec_driver_sql("SET ROLE repurposeflow_system")
        keys = conn.exec_driver_sql("SELECT generation_id FROM generation_pending_keys").all()
    assert keys == [(jan.id,)]
    with SqlUnitOfWork(fresh) as uow:
        uow.generations.save(attrs.evolve(moved, status=GenerationStatus.COMPLETED))
        uow.generations.add(march_twin)
        # A duplicate id is still "exists", whatever the partition's key is called.
        with pytest.raises(ValueError, match="exists"):
            uow.generations.add(attrs.evolve(march_twin, status=GenerationStatus.COMPLETED))
        uow.commit()


def test_the_app_role_cannot_reach_the_partitions_or_key_tables(fresh: sa.Engine):
    """Privileges are granted on the partitioned tables only: a person reads and writes
    through them (and their policies), never a partition or a key table directly."""
    _ensure(fresh, today=date(2031, 1, 1))
    with fresh.connect() as conn:
        for relation in ("generations_y2031m01", "usage_logs_default", *KEY_TABLES):
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL ROLE repurposeflow_app")
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.exec_driver_sql(f"SELECT 1 FROM {relation}")


# --- retention by whole months -------------------------------------------------------------


def test_drop_archives_and_folds_whole_months_and_detach_keeps_them(fresh: sa.Engine):
    _ensure(fresh, 2, today=date(2031, 1, 1))
    ada = make_user(1)
    jan = [
        make_generation(ada, n, created_at=datetime(2031, 1, 10 + n, tzinfo=UTC), status=s)
        for n, s in enumerate([GenerationStatus.COMPLETED, GenerationStatus.PENDING])
    ]
    feb = make_generation(ada, 5, created_at=datetime(2031, 2, 3, tzinfo=UTC))
    _add(fresh, *jan, feb, user=ada)
    with SqlUnitOfWork(fresh) as uow:
        for gen in [*jan, feb]:
            for k in range(2):
                uow.usage.add(
                    UsageEvent(
                        id=uuid.uuid4(),
                        user_id=ada.id,
                        generation_id=gen.id,
                        event_type=UsageEventType.GENERATION_STARTED,
                        platforms=gen.selected_platforms,
                        created_at=gen.created_at + timedelta(seconds=k),
                        tokens_used=100,
                        estimated_cost_usd=Decimal("0.5"),
                    )
                )
        uow.commit()

    with fresh.begin() as conn:
        report = drop_partitions_before(conn, date(2031, 2, 15))
    # (The months the migration made for "now" are empty and older: they go too.)
    assert [n for n in report.dropped if "2031" in n] == [
        "generations_y2031m01",
        "usage_logs_y2031m01",
    ]
    assert {n: k for n, k in report.moved.items() if k} == {
        "generations_y2031m01": 2,
        "usage_logs_y2031m01": 4,
    }
    with SqlUnitOfWork(fresh) as uow:
        assert [g.id for g in uow.generations.list_for_user(ada.id, limit=10)] == [feb.id]
        # The month's pending request key went with it.
        uow.generations.add(attrs.evolve(jan[1], id=uuid.uuid4()))
        archived = uow.execute(sa.text("SELECT id FROM generations_archive")).scalars().all()
        daily = uow.execute(
            sa.text("SELECT day, events, platforms, tokens, cost_usd FROM usage_daily ORDER BY day")
        ).all()
        uow.commit()
    assert sorted(archived) == sorted(g.id for g in jan)
    assert daily == [
        (date(2031, 1, 10), 2, 4, 200, Decimal("1.000000")),
        (date(2031, 1, 11), 2, 4, 200, Decimal("1.000000")),
    ]
    with fresh.begin() as conn:
        assert drop_partitions_before(conn, date(2031, 2, 1)).dropped == []  # idempotent
        report = drop_partitions_before(conn, date(2031, 3, 1), detach=True)
    assert report.detached == ["generations_y2031m02", "usage_logs_y2031m02"]
    with fresh.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM generations_y2031m02").scalars().all() == [
            feb.id
        ]
        assert [p.name for p in partitions(conn, "generations")] == [
            "generations_y2031m03",
            "generations_default",
        ]


# --- the history query and integrity without the foreign key ---------------------------------


def test_history_reads_the_partial_index_of_each_month_it_needs(fresh: sa.Engine):
    now = datetime(2031, 3, 20, 12, tzinfo=UTC)
    _ensure(fresh, 4, today=date(2030, 12, 1))  # December to April
    people = [make_user(n) for n in range(20)]
    statuses = [GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.PARTIAL]
    with SqlUnitOfWork(fresh) as uow:
        for person in people:
            uow.users.add(person)
        for n, person in enumerate(people):
            for i in range(120 if n else 1500):
                gen = make_generation(
                    person,
                    i,
                    created_at=now - timedelta(hours=(18 if n else 1) * i, minutes=n),
                    status=statuses[i % 3] if n else GenerationStatus.COMPLETED,
                )
                uow.generations.add(gen)
        uow.commit()
    with fresh.connect() as conn:
        conn.exec_driver_sql("ANALYZE generations")
        conn.commit()
    family = partial_index_family(fresh)
    assert len(family) > 1  # the parent's index and one per partition

    def plan(person: Any) -> str:
        with SqlUnitOfWork(fresh) as uow:
            captured: list[sa.Select] = []
            original = uow.execute

            def spy(statement: Any, params: Any = None) -> Any:
                if isinstance(statement, sa.Select):
                    captured.append(statement)
                return original(statement, params)

            uow.execute = spy  # type: ignore[method-assign]
            page = uow.generations.list_for_user(
                person.id,
                limit=50,
                status=GenerationStatus.COMPLETED,
                since=now - timedelta(days=30),
            )
            uow.execute = original  # type: ignore[method-assign]
            assert page
            sql = captured[-1].compile(
                dialect=fresh.dialect, compile_kwargs={"literal_binds": True}
            )
            return "\n".join(r[0] for r in uow.execute(sa.text(f"EXPLAIN {sql}")))

    for person in (people[0], people[7]):
        text = plan(person)
        assert index_scans(text) and set(index_scans(text)) <= family, text
        # (An empty month, April here, may be "scanned" for free.)
        assert seq_scanned_rows(fresh, text) == 0, text
        # Months before the 30 days are pruned; only February to April are read.
        assert "generations_y2030m12" not in text and "generations_y2031m01" not in text, text
        assert "generations_y2031m02" in text and "generations_y2031m03" in text, text
    # The heavy user's page is the partitions' index order merged: no sort.
    assert not SORT_NODE.search(plan(people[0]))


def test_usage_logs_name_generations_without_a_foreign_key(fresh: sa.Engine):
    """No foreign key from usage_logs to a partitioned generations: the pipeline writes
    logs only for the generations it writes, and archiving keeps the name meaningful."""
    clock = ManualClock(datetime(2031, 1, 10, tzinfo=UTC))
    uow = SqlUnitOfWork(fresh)
    ensure_user(uow, clock, clerk_user_id="user_fk", email="fk@example.com")
    for n in range(3):
        repurpose(
            uow,
            ScriptedEngine(),
            clock,
            RepurposeRequest("user_fk", f"Post number {n} about one idea.", ["email"]),
        )

    def orphans() -> int:
        with fresh.connect() as conn:
            conn.exec_driver_sql("SET ROLE repurposeflow_system")
            return conn.exec_driver_sql(
                "SELECT count(*) FROM usage_logs u WHERE u.generation_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.id = u.generation_id)"
                " AND NOT EXISTS (SELECT 1 FROM generations_archive a WHERE a.id = u.generation_id)"
            ).scalar()

    assert orphans() == 0
    clock.advance(timedelta(days=91))
    report = maintenance.run_retention(uow, clock)
    assert report.generations_archived == 3
    assert orphans() == 0


# --- the command line -----------------------------------------------------------------------


def test_cli_ensures_and_drops_partitions(
    empty_pg: sa.Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(
        "REPURPOSEFLOW_DATABASE_URL", empty_pg.url.render_as_string(hide_password=False)
    )
    assert main(["db", "partitions", "ensure", "--months-ahead", "5"]) == 0
    out = capsys.readouterr().out
    last = add_months(month_start(datetime.now(UTC)), 5)
    assert f"created {partition_name('generations', last)}" in out
    assert main(["db", "partitions", "ensure", "--months-ahead", "5"]) == 0
    assert "present" in capsys.readouterr().out
    assert main(["db", "partitions", "drop", "--before", "2020-01"]) == 0
    assert "No monthly partition" in capsys.readouterr().out
    assert main(["db", "partitions", "drop", "--before", "2999-01"]) != 0
    assert "only months that have ended" in capsys.readouterr().err
    assert main(["db", "partitions", "drop", "--before", "soon"]) != 0
