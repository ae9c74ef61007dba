"""Unreachable databases become StoreUnavailable; engine set-up; the history query
pages by keyset and, on PostgreSQL, walks the partial index."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.sql import (
    SqlUnitOfWork,
    current_revision,
    default_sqlite_url,
    ensure_schema,
    make_engine,
)
from repurposeflow.domain.enums import GenerationStatus
from repurposeflow.domain.errors import InvalidInput, StoreUnavailable
from repurposeflow.services.history import list_history
from tests.integration.test_repository_contract import make_generation, make_user


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_postgres_down_is_store_unavailable_with_a_readable_line():
    engine = make_engine(f"postgresql://someone:s3cret@127.0.0.1:{_closed_port()}/nowhere")
    with pytest.raises(StoreUnavailable) as caught, SqlUnitOfWork(engine) as uow:
        uow.users.get_by_clerk_id("user_1")
    message = caught.value.message
    assert message.startswith("The database is unavailable: postgresql+psycopg://someone:***@")
    assert "s3cret" not in message
    assert "\n" not in message
    with pytest.raises(StoreUnavailable):
        ensure_schema(engine)
    with pytest.raises(StoreUnavailable):
        current_revision(engine)


def test_sqlite_file_that_cannot_be_opened_is_store_unavailable(tmp_path: Path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    engine = make_engine(f"sqlite:///{blocker / 'repurposeflow.db'}")
    with pytest.raises(StoreUnavailable) as caught, SqlUnitOfWork(engine) as uow:
        uow.users.get_by_clerk_id("user_1")
    assert "unable to open database file" in caught.value.message
    with pytest.raises(StoreUnavailable):
        ensure_schema(engine)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/db",
        "postgresql+psycopg2://root:secret@localhost/db",
        "postgresql+asyncpg://localhost/db",
        "garbage",
        "",
        "://",
    ],
)
def test_unsupported_url_is_refused_as_input(url: str):
    with pytest.raises(InvalidInput) as caught:
        make_engine(url)
    assert "secret" not in caught.value.message
    assert "sqlite:///" in caught.value.message


def test_default_sqlite_url_honours_repurposeflow_home(tmp_path: Path, monkeypatch):
    home = tmp_path / "rf-home"
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(home))
    url = default_sqlite_url()
    assert url == f"sqlite:///{home.resolve() / 'repurposeflow.db'}"
    assert home.is_dir()
    monkeypatch.delenv("REPURPOSEFLOW_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_sqlite_url().startswith(f"sqlite:///{tmp_path / 'xdg'}")


def test_sqlite_engine_is_set_up_for_many_connections(sqlite_engine: sa.Engine):
    with sqlite_engine.connect() as conn:
        pragmas = {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "busy_timeout", "foreign_keys")
        }
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30_000, "foreign_keys": 1}


NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def test_recent_history_pages_through_the_service(store):
    user = make_user()
    statuses = [GenerationStatus.COMPLETED, GenerationStatus.COMPLETED, GenerationStatus.FAILED]
    with store.uow() as uow:
        uow.users.add(user)
        for i in range(130):
            created = NOW - timedelta(hours=6 * i)
            uow.generations.add(
                make_generation(user, i, created_at=created, status=statuses[i % 3])
            )
        uow.commit()
    clock = ManualClock(NOW + timedelta(seconds=1))
    seen, cursor = [], None
    while True:
        page = list_history(
            store.uow(), "user_1", limit=50, cursor=cursor, recent_only=True, clock=clock
        )
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    cutoff = clock.now() - timedelta(days=30)
    assert len(seen) == sum(
        1 for i in range(130) if i % 3 != 2 and NOW - timedelta(hours=6 * i) > cutoff
    )
    assert all(g.status is GenerationStatus.COMPLETED and g.created_at > cutoff for g in seen)
    assert [g.created_at for g in seen] == sorted((g.created_at for g in seen), reverse=True)
    assert len({g.id for g in seen}) == len(seen)


@pytest.mark.postgres
def test_recent_history_query_uses_the_partial_index(pg: sa.Engine):
    """The seed's hot query (last 50 completed in 30 days) must be an index scan that
    needs no sort, on a realistically skewed table."""
    people = [make_user(n) for n in range(40)]
    with SqlUnitOfWork(pg) as uow:
        for person in people:
            uow.users.add(person)
        uow.commit()
    statuses = [GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.PARTIAL]
    rows = []
    for n, person in enumerate(people):
        for i in range(200):
            gen = make_generation(
                person,
                i,
                created_at=NOW - timedelta(hours=4 * i, minutes=n),
                status=statuses[i % 3],
            )
            rows.append(gen)
    from repurposeflow.adapters.sql.repositories import _generation_values
    from repurposeflow.adapters.sql.tables import generations

    with SqlUnitOfWork(pg) as uow:
        uow.execute(sa.insert(generations), [_generation_values(g) for g in rows])
        uow.commit()
    with pg.connect() as conn:
        conn.exec_driver_sql("ANALYZE generations")
        conn.commit()

    heavy = people[0]  # a prolific user: 3,000 completed in the window
    rows = [
        make_generation(
            heavy,
            i,
            created_at=NOW - timedelta(minutes=10 * i),
            status=GenerationStatus.COMPLETED,
        )
        for i in range(3000)
    ]
    with SqlUnitOfWork(pg) as uow:
        uow.execute(sa.insert(generations), [_generation_values(g) for g in rows])
        uow.commit()
    with pg.connect() as conn:
        conn.exec_driver_sql("ANALYZE generations")
        conn.commit()

    def plan_for(person) -> str:
        with SqlUnitOfWork(pg) as uow:
            captured: list[sa.Select] = []
            original = uow.execute

            def spy(statement, params=None):
                if isinstance(statement, sa.Select):
                    captured.append(statement)
                return original(statement, params)

            uow.execute = spy
            page = uow.generations.list_for_user(
                person.id,
                limit=50,
                status=GenerationStatus.COMPLETED,
                since=NOW - timedelta(days=30),
            )
            uow.execute = original
            assert len(page) == 50
            compiled = captured[-1].compile(
                dialect=pg.dialect, compile_kwargs={"literal_binds": True}
            )
            return "\n".join(r[0] for r in uow.execute(sa.text(f"EXPLAIN {compiled}")))

    partial = partial_index_family(pg)
    typical = plan_for(people[7])
    assert index_scans(typical) and set(index_scans(typical)) <= partial, typical
    assert seq_scanned_rows(pg, typical) == 0, typical
    plan = plan_for(heavy)
    # For a heavy user the index order is the answer's order: read 50 entries, no sort
    # (a Merge Append of the partitions' index scans keeps that order).
    assert index_scans(plan, kind="Index Scan") and set(index_scans(plan)) <= partial, plan
    assert not SORT_NODE.search(plan), plan
    assert seq_scanned_rows(pg, plan) == 0, plan


# A Sort node of its own (not a Merge Append's "Sort Key").
SORT_NODE = re.compile(r"^\s*(->\s+)?(Incremental )?Sort\s+\(", re.MULTILINE)


def index_scans(plan: str, kind: str = "") -> list[str]:
    """The indexes a plan reads (Index, Index Only, Bitmap Index Scans), or those of
    ``kind`` only."""
    pattern = r"((?:Index|Index Only|Bitmap Index) Scan)(?: Backward)? (?:using|on) (\S+)"
    return [name for scan, name in re.findall(pattern, plan) if not kind or scan == kind]


def seq_scanned_rows(engine: sa.Engine, plan: str) -> int:
    """The rows in the relations a plan reads whole: 0 when it reads none, or only
    empty ones (a month of the future, partitioned; free to scan, so planners do)."""
    scanned = re.findall(r"Seq Scan on (\S+)", plan)
    with engine.connect() as conn:  # as the tests' superuser: partitions have no grants
        return sum(
            conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in scanned
        )


def partial_index_family(engine: sa.Engine) -> set[str]:
    """``ix_generations_user_completed_recent`` and, on a partitioned table (0005), the
    indexes of every partition attached to it (named by PostgreSQL per partition)."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "WITH RECURSIVE family(oid) AS ("
                    " SELECT CAST('ix_generations_user_completed_recent' AS regclass)::oid"
                    " UNION SELECT i.inhrelid FROM pg_inherits i JOIN family f"
                    " ON i.inhparent = f.oid)"
                    " SELECT c.relname FROM family JOIN pg_class c ON c.oid = family.oid"
                )
            ).scalars()
        )


def test_sqlite_lock_held_too_long_is_store_unavailable(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    ensure_schema(make_engine(url))
    holder = make_engine(url)
    impatient = make_engine(url)

    @sa.event.listens_for(impatient, "connect")
    def _short_timeout(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 50")

    with SqlUnitOfWork(holder) as writer:
        writer.users.get_by_clerk_id("anyone")  # BEGIN IMMEDIATE: holds the write lock
        with pytest.raises(StoreUnavailable, match="locked"), SqlUnitOfWork(impatient) as uow:
            uow.users.get_by_clerk_id("anyone")
    holder.dispose()
    impatient.dispose()
