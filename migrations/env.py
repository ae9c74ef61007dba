"""Alembic environment: one history for SQLite and PostgreSQL.

Run from code (``repurposeflow.adapters.sql.upgrade_database``), which hands over an
engine in ``config.attributes["engine"]``; without one, the URL comes from the alembic
config's ``sqlalchemy.url``, then ``REPURPOSEFLOW_DATABASE_URL``, then the default
SQLite file.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from repurposeflow.adapters.sql.engine import default_sqlite_url, make_engine
from repurposeflow.adapters.sql.partitions import drift_filter
from repurposeflow.adapters.sql.tables import metadata

config = context.config
target_metadata = metadata

# Two processes upgrading one PostgreSQL database at once take turns on this lock.
_MIGRATION_LOCK = 0x52504657  # "RPFW"


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("REPURPOSEFLOW_DATABASE_URL")
        or default_sqlite_url()
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    owned = engine is None
    if owned:
        engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            is_sqlite = connection.dialect.name == "sqlite"
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things: later migrations rebuild tables.
                render_as_batch=is_sqlite,
                compare_type=True,
                # PostgreSQL's partitions and key tables are not in the metadata.
                include_object=drift_filter(connection),
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                    )
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
