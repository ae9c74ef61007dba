"""The SQL store: SQLAlchemy Core over SQLite (embedded default) and PostgreSQL.

Public API::

    engine = make_engine(url or default_sqlite_url())
    ensure_schema(engine)                      # or upgrade_database(engine)
    with SqlUnitOfWork(engine) as uow: ...      # trusted system access
    with SqlUnitOfWork(engine, acting_as="user_123") as uow: ...   # RLS on PostgreSQL

See ``uow`` for how system and per-user access work under row-level security.
"""

from repurposeflow.adapters.sql.engine import check_url, default_sqlite_url, make_engine
from repurposeflow.adapters.sql.migrate import (
    HEAD_REVISION,
    current_revision,
    downgrade_database,
    ensure_schema,
    head_revision,
    upgrade_database,
)
from repurposeflow.adapters.sql.uow import APP_ROLE, SYSTEM_ROLE, SqlUnitOfWork

__all__ = [
    "APP_ROLE",
    "HEAD_REVISION",
    "SYSTEM_ROLE",
    "SqlUnitOfWork",
    "check_url",
    "current_revision",
    "default_sqlite_url",
    "downgrade_database",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "upgrade_database",
]
