"""The PostgreSQL server the benchmarks use, and throwaway databases on it.

``REPURPOSEFLOW_BENCH_DATABASE_URL`` (a superuser on a server we may create databases
on) or, as the tests, ``REPURPOSEFLOW_TEST_DATABASE_URL``, else this machine's
``postgresql://root@127.0.0.1:5432/test``. Each benchmark makes its own database and
drops it afterwards, so nothing it loads outlives the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def server_url() -> sa.URL:
    raw = (
        os.environ.get("REPURPOSEFLOW_BENCH_DATABASE_URL")
        or os.environ.get("REPURPOSEFLOW_TEST_DATABASE_URL")
        or DEFAULT_URL
    )
    url = make_url(raw)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    return url


def available() -> str | None:
    """None if the server answers, else why not."""
    engine = sa.create_engine(server_url(), poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except sa.exc.OperationalError as exc:
        return " ".join(str(exc.orig).split())[:200]
    finally:
        engine.dispose()


@contextmanager
def throwaway_database(
    prefix: str = "rf_bench", *, template: str | None = None
) -> Iterator[sa.URL]:
    """A new database (a file-level copy of ``template`` if given; nobody may be
    connected to the template meanwhile), dropped on the way out."""
    server = server_url()
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def libpq_url(url: sa.URL) -> str:
    """The URL as libpq tools (pgbench, psql) and psycopg.connect take it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_tool(name: str) -> str | None:
    """A PostgreSQL client program from PATH or the server's bin directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None
