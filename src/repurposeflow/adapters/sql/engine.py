"""Engines from URLs, and turning driver failures into domain errors.

SQLite (the embedded default) is set up for several connections at once: WAL, a busy
timeout, foreign keys, and ``BEGIN IMMEDIATE`` for every transaction so two writers
queue on the lock instead of failing with "database is locked" half-way through.
PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from repurposeflow.domain.errors import InvalidInput, StoreUnavailable

HOME_ENV = "REPURPOSEFLOW_HOME"
DB_FILENAME = "repurposeflow.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 5


def default_sqlite_url() -> str:
    """``$REPURPOSEFLOW_HOME/repurposeflow.db`` if set, else a file under the user data
    dir. The directory is created so the first run just works."""
    home = os.environ.get(HOME_ENV)
    if home:
        directory = Path(home).expanduser()
    else:
        import platformdirs

        directory = Path(platformdirs.user_data_dir("repurposeflow", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(directory / DB_FILENAME).resolve()}"


_SUPPORTED = "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db"
# The drivers this package ships: pysqlite (the standard library) and psycopg 3.
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def _normalise_url(url: str) -> sa.URL:
    """The URL with our driver; InvalidInput for anything we cannot open."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise InvalidInput(f"The database URL {_shown(url)} is not a URL; {_SUPPORTED}.") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise InvalidInput(
            f"Unsupported database URL scheme {parsed.drivername!r}; {_SUPPORTED} "
            "(psycopg 3 is the PostgreSQL driver shipped)."
        )
    return parsed.set(drivername=driver)


def _shown(url: str) -> str:
    """A URL for a message: never its password, never all of a long one."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return repr(url if len(url) <= 80 else url[:77] + "...")


def check_url(url: str) -> None:
    """Raises InvalidInput unless ``make_engine`` can open ``url``."""
    _normalise_url(url)


def make_engine(url: str, **engine_options: Any) -> sa.Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://…``.

    ``engine_options`` go to ``sqlalchemy.create_engine`` (pool sizes and the like).
    """
    parsed = _normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed, connect_args={"check_same_thread": False}, **engine_options
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        connect_args = engine_options.pop("connect_args", {})
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        return sa.create_engine(
            parsed, pool_pre_ping=True, connect_args=connect_args, **engine_options
        )
    raise InvalidInput(f"Unsupported database URL {_shown(url)}; {_SUPPORTED}.")


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Take the write lock up front: a deferred transaction that reads and then
        # writes cannot wait for the lock (SQLite refuses, to avoid deadlock).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def describe(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def unavailable(engine: sa.Engine, exc: BaseException) -> StoreUnavailable:
    """A one-line, password-free StoreUnavailable for a driver failure."""
    cause = getattr(exc, "orig", None) or exc
    detail = " ".join(str(cause).split()) or type(cause).__name__
    if len(detail) > 300:
        detail = detail[:297] + "..."
    if engine.dialect.name == "sqlite":
        detail += _sqlite_hint(engine.url.database)
    return StoreUnavailable(f"{describe(engine)}: {detail}")


def _sqlite_hint(database: str | None) -> str:
    """SQLite says "unable to open database file" for a read-only folder or disk; say
    which (it writes a -wal and -shm file beside the database, so the folder counts)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return ""
    path = Path(database)
    if path.exists() and not os.access(path, os.W_OK):
        return f" ({path} is read-only)"
    if path.parent.exists() and not os.access(path.parent, os.W_OK):
        return f" ({path.parent} is read-only; SQLite writes its journal files there)"
    return ""


UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    sa.exc.DisconnectionError,
)
