"""Monthly partitions: ``generations`` and ``usage_logs`` become range-partitioned by
month on ``created_at`` (PostgreSQL only; SQLite stays as it is and this revision does
nothing there).

Each table is rebuilt: the old one is renamed aside, a partitioned twin is made
``LIKE`` it (columns, defaults, NOT NULL and CHECK constraints), with one partition per
month that holds rows plus this month and the next three, and a DEFAULT partition; the
rows are copied, the old table dropped, and then everything that hung on it is made
again exactly as it was, read from the catalog before the rename: indexes, foreign
keys, triggers, row-level security (ENABLE and FORCE), policies, and table and column
grants. What partitioning forces to change (see ``adapters/sql/partitions.py``):

- primary keys ``(id, created_at)``;
- the unique indexes ``uq_generations_user_request_key_pending`` and
  ``uq_generations_user_idempotency_key`` become side tables with primary keys of the
  same names, kept by a trigger, plus a plain index for idempotency-key lookups;
- the foreign key ``usage_logs.generation_id -> generations.id`` is dropped.

Downgrade rebuilds plain tables the same way and restores the unique indexes and the
foreign key (a log naming a generation that is gone gets NULL, as ON DELETE SET NULL
would have done).

Revision ID: 0005_monthly_partitions
Revises: 0004_provider_usage
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

from repurposeflow.adapters.sql.partitions import (
    IDEMPOTENCY_KEY_CONSTRAINT,
    PENDING_KEY_CONSTRAINT,
    add_months,
    create_partition_sql,
    default_partition_name,
    month_start,
)

revision = "0005_monthly_partitions"
down_revision = "0004_provider_usage"
branch_labels = None
depends_on = None

# In this order: usage_logs is dropped first (its policy reads generations).
TABLES = ("generations", "usage_logs")
MONTHS_AHEAD = 3
SYSTEM_ROLE = "repurposeflow_system"
KEY_FUNCTION = "repurposeflow_generation_keys"
KEY_TRIGGERS = (
    "trg_generations_keys",
    "trg_generations_keys_update",
    "trg_generations_keys_truncate",
)
IDEMPOTENCY_INDEX = "ix_generations_user_idempotency_key"
USAGE_FK = "fk_usage_logs_generation_id_generations"


class Captured:
    """What hangs on a table, as SQL to make it again (read before any rename). A plain
    class: alembic loads this file outside ``sys.modules``, where dataclasses fail."""

    def __init__(self) -> None:
        self.indexes: list[tuple[str, bool, str]] = []  # name, unique, CREATE INDEX
        self.foreign_keys: list[tuple[str, str, str]] = []  # name, referred table, definition
        self.triggers: list[tuple[str, str]] = []  # name, CREATE TRIGGER
        self.policies: list[str] = []
        self.grants: list[str] = []
        self.rls: tuple[bool, bool] = (False, False)  # enabled, forced


def _rows(sql: str, **params: object) -> list[sa.Row]:
    return list(op.get_bind().execute(sa.text(sql), params))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _capture(table: str) -> Captured:
    captured = Captured()
    oid = "CAST(:t AS regclass)"
    for name, unique, sql in _rows(
        "SELECT c.relname, x.indisunique, pg_get_indexdef(x.indexrelid) FROM pg_index x"
        f" JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = {oid}"
        " AND NOT x.indisprimary ORDER BY c.relname",
        t=table,
    ):
        captured.indexes.append((name, unique, sql.replace(" ON ONLY ", " ON ")))
    for name, to, definition in _rows(
        "SELECT conname, confrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = {oid} AND contype = 'f' AND conparentid = 0 ORDER BY conname",
        t=table,
    ):
        captured.foreign_keys.append((name, to, definition))
    for name, definition in _rows(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        f" WHERE tgrelid = {oid} AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname",
        t=table,
    ):
        captured.triggers.append((name, definition))
    for name, permissive, roles, cmd, qual, check in _rows(
        "SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies"
        " WHERE schemaname = current_schema() AND tablename = :t ORDER BY policyname",
        t=table,
    ):
        to = ", ".join("PUBLIC" if r == "public" else _ident(r) for r in roles)
        sql = f"CREATE POLICY {_ident(name)} ON {table} AS {permissive} FOR {cmd} TO {to}"
        if qual is not None:
            sql += f" USING ({qual})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        captured.policies.append(sql)
    for role, privilege in _rows(
        "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type"
        f" FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee"
        f" WHERE c.oid = {oid} AND a.grantee <> c.relowner ORDER BY 1, 2",
        t=table,
    ):
        to = "PUBLIC" if role == "PUBLIC" else _ident(role)
        captured.grants.append(f"GRANT {privilege} ON {table} TO {to}")
    for column, role, privilege in _rows(
        "SELECT att.attname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type"
        " FROM pg_attribute att, aclexplode(att.attacl) a LEFT JOIN pg_roles r"
        f" ON r.oid = a.grantee WHERE att.attrelid = {oid} AND att.attnum > 0"
        " AND NOT att.attisdropped AND att.attacl IS NOT NULL ORDER BY 1, 2, 3",
        t=table,
    ):
        to = "PUBLIC" if role == "PUBLIC" else _ident(role)
        captured.grants.append(f"GRANT {privilege} ({_ident(column)}) ON {table} TO {to}")
    ((enabled, forced),) = _rows(
        f"SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = {oid}", t=table
    )
    captured.rls = (enabled, forced)
    return captured


def _columns(table: str) -> str:
    names = _rows(
        "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        t=table,
    )
    return ", ".join(_ident(n) for (n,) in names)


def _like(table: str, source: str, *, partitioned: bool) -> None:
    op.execute(
        f"CREATE TABLE {table} (LIKE {source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
        " INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)"
        + (" PARTITION BY RANGE (created_at)" if partitioned else "")
    )


def _restore(table: str, captured: Captured, *, skip_indexes: set[str]) -> None:
    for name, _unique, sql in captured.indexes:
        if name not in skip_indexes:
            op.execute(sql)
    for name, _to, definition in captured.foreign_keys:
        if name != USAGE_FK:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_ident(name)} {definition}")
    for name, definition in captured.triggers:
        if name not in KEY_TRIGGERS:
            op.execute(definition)
    enabled, forced = captured.rls
    if enabled:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    if forced:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for sql in captured.policies + captured.grants:
        op.execute(sql)


def _months(table: str, today: date) -> list[date]:
    held = {
        m
        for (m,) in _rows(
            f"SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date FROM {table}"
        )
    }
    first = month_start(today)
    return sorted(held | {add_months(first, n) for n in range(MONTHS_AHEAD + 1)})


# --- the key tables (PostgreSQL) --------------------------------------------------------

KEYS_FUNCTION_SQL = """
CREATE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM generation_pending_keys;
    DELETE FROM generation_idempotency_keys;
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    DELETE FROM generation_pending_keys WHERE generation_id = OLD.id;
    DELETE FROM generation_idempotency_keys WHERE generation_id = OLD.id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status = 'pending' AND (NEW.status <> 'pending' OR NEW.user_id <> OLD.user_id
        OR NEW.request_key <> OLD.request_key OR NEW.id <> OLD.id) THEN
      DELETE FROM generation_pending_keys WHERE generation_id = OLD.id;
    END IF;
    IF OLD.idempotency_key IS NOT NULL AND (NEW.idempotency_key IS DISTINCT FROM
        OLD.idempotency_key OR NEW.user_id <> OLD.user_id OR NEW.id <> OLD.id) THEN
      DELETE FROM generation_idempotency_keys WHERE generation_id = OLD.id;
    END IF;
  END IF;
  -- A twin in flight makes these wait for it, then fail with unique_violation on the
  -- primary key, named as the unique index it replaces.
  IF NEW.status = 'pending' AND (TG_OP = 'INSERT' OR OLD.status <> 'pending'
      OR NEW.user_id <> OLD.user_id OR NEW.request_key <> OLD.request_key
      OR NEW.id <> OLD.id) THEN
    INSERT INTO generation_pending_keys (user_id, request_key, generation_id)
    VALUES (NEW.user_id, NEW.request_key, NEW.id);
  END IF;
  IF NEW.idempotency_key IS NOT NULL AND (TG_OP = 'INSERT'
      OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
      OR NEW.user_id <> OLD.user_id OR NEW.id <> OLD.id) THEN
    INSERT INTO generation_idempotency_keys (user_id, idempotency_key, generation_id)
    VALUES (NEW.user_id, NEW.idempotency_key, NEW.id);
  END IF;
  RETURN NULL;
END $$
"""


def _create_key_tables(schema: str) -> None:
    op.execute(
        "CREATE TABLE generation_pending_keys (user_id uuid NOT NULL,"
        " request_key varchar(64) NOT NULL, generation_id uuid NOT NULL,"
        f" CONSTRAINT {PENDING_KEY_CONSTRAINT} PRIMARY KEY (user_id, request_key))"
    )
    op.execute(
        "CREATE TABLE generation_idempotency_keys (user_id uuid NOT NULL,"
        " idempotency_key varchar(255) NOT NULL, generation_id uuid NOT NULL,"
        f" CONSTRAINT {IDEMPOTENCY_KEY_CONSTRAINT} PRIMARY KEY (user_id, idempotency_key))"
    )
    for key_table in ("generation_pending_keys", "generation_idempotency_keys"):
        op.execute(
            f"CREATE UNIQUE INDEX ix_{key_table}_generation_id ON {key_table} (generation_id)"
        )
        # Reached through the trigger only: no privilege for the app role (or PUBLIC).
        op.execute(f"REVOKE ALL ON {key_table} FROM PUBLIC")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {key_table} TO {SYSTEM_ROLE}")
    op.execute(
        "INSERT INTO generation_pending_keys (user_id, request_key, generation_id)"
        " SELECT user_id, request_key, id FROM generations WHERE status = 'pending'"
    )
    op.execute(
        "INSERT INTO generation_idempotency_keys (user_id, idempotency_key, generation_id)"
        " SELECT user_id, idempotency_key, id FROM generations WHERE idempotency_key IS NOT NULL"
    )
    op.execute(KEYS_FUNCTION_SQL.format(function=KEY_FUNCTION, schema=schema))
    op.execute(f"REVOKE ALL ON FUNCTION {KEY_FUNCTION}() FROM PUBLIC")
    # AFTER: row-level security has judged the row first, so a person cannot learn
    # from a key clash that somebody else has a request in flight.
    op.execute(
        "CREATE TRIGGER trg_generations_keys AFTER INSERT OR DELETE ON generations"
        f" FOR EACH ROW EXECUTE FUNCTION {KEY_FUNCTION}()"
    )
    op.execute(
        "CREATE TRIGGER trg_generations_keys_update AFTER UPDATE ON generations FOR EACH ROW"
        " WHEN (OLD.status IS DISTINCT FROM NEW.status"
        " OR OLD.request_key IS DISTINCT FROM NEW.request_key"
        " OR OLD.user_id IS DISTINCT FROM NEW.user_id"
        " OR OLD.idempotency_key IS DISTINCT FROM NEW.idempotency_key"
        f" OR OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {KEY_FUNCTION}()"
    )
    op.execute(
        "CREATE TRIGGER trg_generations_keys_truncate AFTER TRUNCATE ON generations"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {KEY_FUNCTION}()"
    )


def _drop_key_tables() -> None:
    for trigger in KEY_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON generations")
    op.execute(f"DROP FUNCTION IF EXISTS {KEY_FUNCTION}()")
    op.execute("DROP TABLE IF EXISTS generation_pending_keys, generation_idempotency_keys")


# --- upgrade and downgrade -----------------------------------------------------------------


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    today = datetime.now(UTC).date()
    captured = {t: _capture(t) for t in TABLES}
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
        # FORCE binds the owner too: unless it is a superuser it would read no rows.
        op.execute(f"ALTER TABLE {table}_unpartitioned NO FORCE ROW LEVEL SECURITY")
    for table in TABLES:
        old = f"{table}_unpartitioned"
        _like(table, old, partitioned=True)
        for month in _months(old, today):
            op.execute(create_partition_sql(table, month))
        op.execute(f"CREATE TABLE {default_partition_name(table)} PARTITION OF {table} DEFAULT")
        columns = _columns(old)
        op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {old}")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}_unpartitioned")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, created_at)")
    # Before row-level security comes back: the owner fills the key tables.
    _create_key_tables(schema)
    for table in TABLES:
        unique = {name for name, is_unique, _ in captured[table].indexes if is_unique}
        _restore(table, captured[table], skip_indexes=unique)
    op.execute(
        f"CREATE INDEX {IDEMPOTENCY_INDEX} ON generations (user_id, idempotency_key)"
        " WHERE idempotency_key IS NOT NULL"
    )
    for table in TABLES:
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _drop_key_tables()
    op.execute(f"DROP INDEX IF EXISTS {IDEMPOTENCY_INDEX}")
    captured = {t: _capture(t) for t in TABLES}
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_partitioned")
        op.execute(f"ALTER TABLE {table}_partitioned NO FORCE ROW LEVEL SECURITY")
    for table in TABLES:
        old = f"{table}_partitioned"
        _like(table, old, partitioned=False)
        names = _columns(old)
        if table == "usage_logs":
            # What ON DELETE SET NULL would have done to logs of generations gone since.
            picked = ", ".join(
                "g.id" if n == '"generation_id"' else f"u.{n}" for n in names.split(", ")
            )
            op.execute(
                f"INSERT INTO {table} ({names}) SELECT {picked} FROM {old} u"
                " LEFT JOIN generations g ON g.id = u.generation_id"
            )
        else:
            op.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {old}")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}_partitioned")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
    pending = sa.text("status = 'pending'")
    op.create_index(
        PENDING_KEY_CONSTRAINT,
        "generations",
        ["user_id", "request_key"],
        unique=True,
        postgresql_where=pending,
    )
    op.create_index(
        IDEMPOTENCY_KEY_CONSTRAINT,
        "generations",
        ["user_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.execute(
        f"ALTER TABLE usage_logs ADD CONSTRAINT {USAGE_FK} FOREIGN KEY (generation_id)"
        " REFERENCES generations (id) ON DELETE SET NULL"
    )
    for table in TABLES:
        _restore(table, captured[table], skip_indexes=set())
        op.execute(f"ANALYZE {table}")
