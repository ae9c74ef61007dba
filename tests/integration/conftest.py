"""Real databases for the integration tests.

SQLite: a file per test, copied from one migrated template (fast). PostgreSQL: the
server in ``REPURPOSEFLOW_TEST_DATABASE_URL`` (default: this machine's, trust auth),
started with pg_ctlcluster if it is down, else an embedded server from ``pgserver``.
Each session gets its own freshly created, uniquely named database and drops it at the
end, so concurrent runs cannot collide. PostgreSQL tests never skip: no server at all
is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine, upgrade_database
from repurposeflow.adapters.sql.tables import ALL_TABLES
from repurposeflow.domain.ports import UnitOfWork

DEFAULT_TEST_PG = "postgresql+psycopg://root@127.0.0.1:5432/test"
# Storms open 50+ connections at once: the pool must not be what serialises them.
POOL = {"pool_size": 5, "max_overflow": 70, "pool_timeout": 60}


def _answers(url: sa.URL) -> bool:
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def _start_local_cluster() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=False,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.URL]:
    """A URL to a PostgreSQL server we may create databases on (as a superuser)."""
    explicit = os.environ.get("REPURPOSEFLOW_TEST_DATABASE_URL")
    url = make_url(explicit or DEFAULT_TEST_PG)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    if _answers(url):
        yield url
        return
    if not explicit:
        _start_local_cluster()
        if _answers(url):
            yield url
            return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgserver"), cleanup_mode="stop")
    try:
        embedded = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        if not _answers(embedded):
            raise RuntimeError(f"no PostgreSQL answers at {url} nor in the embedded server")
        yield embedded
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def pg_database_factory(pg_server: sa.URL) -> Iterator[Callable[[], sa.URL]]:
    """Make fresh empty databases (named for this run); all dropped at session end."""
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    made: list[str] = []

    def create() -> sa.URL:
        name = f"rf_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_server.set(database=name)

    yield create
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_database_factory: Callable[[], sa.URL]) -> Iterator[sa.Engine]:
    """This session's migrated database, connected as its owner."""
    url = pg_database_factory()
    engine = make_engine(url.render_as_string(hide_password=False), **POOL)
    upgrade_database(engine)
    yield engine
    engine.dispose()


def truncate(engine: sa.Engine) -> None:
    """Empty every table (as the owner: TRUNCATE is not subject to row security)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(ALL_TABLES)} CASCADE")
        else:
            for table in reversed(ALL_TABLES):
                conn.exec_driver_sql(f"DELETE FROM {table}")


@pytest.fixture
def pg(pg_engine: sa.Engine) -> sa.Engine:
    truncate(pg_engine)
    return pg_engine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[sa.Engine]:
    path = tmp_path / "repurposeflow.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}", **POOL)
    yield engine
    engine.dispose()


class Store:
    """One store under test: ``uow()`` gives a fresh unit of work over it."""

    def __init__(self, kind: str, factory: Callable[[], UnitOfWork], engine: Any = None):
        self.kind = kind
        self.uow = factory
        self.engine = engine

    def __repr__(self) -> str:
        return f"Store({self.kind})"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test body against the reference store and both SQL dialects."""
    if request.param == "memory":
        memory = MemoryStore()
        return Store("memory", memory.uow)
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg")
    return Store(request.param, lambda: SqlUnitOfWork(engine), engine)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_engine(request: pytest.FixtureRequest) -> sa.Engine:
    """Each SQL dialect, empty and migrated."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg")
