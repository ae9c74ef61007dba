"""Monthly range partitions of ``generations`` and ``usage_logs`` on PostgreSQL.

Migration 0005 turns both tables into ``PARTITION BY RANGE (created_at)`` parents with
one partition per calendar month (UTC) named ``<table>_yYYYYmMM`` and a
``<table>_default`` partition, so an insert never fails for want of a partition.
SQLite stays unpartitioned: every function here does nothing there.

What partitioning changes, and how the rest of the schema keeps its promises:

- The partition key must be part of every unique constraint, so the primary keys
  are ``(id, created_at)``. A generation's id is still unique in practice (the
  application makes a fresh UUID per row); a repeated insert of one generation hits
  the primary key of its own partition.
- The two unique rules on ``generations`` that do not hold ``created_at`` stay global
  through side tables kept by an AFTER row trigger (SECURITY DEFINER; the app role has
  no privilege on them): ``generation_pending_keys`` (one pending generation per user and
  request key, the one-charge-per-request-in-flight guarantee) and
  ``generation_idempotency_keys`` (one generation per user and Idempotency-Key). Their
  primary keys carry the names of the unique indexes they replace
  (``uq_generations_user_request_key_pending``, ``uq_generations_user_idempotency_key``),
  so a violation reads the same as before; a twin waits for an in-flight one exactly
  as on a unique index.
- ``usage_logs.generation_id`` has no foreign key on PostgreSQL any more: it would
  need the generation's ``created_at`` too, and it would pin every generations
  partition that a log still names (no drop, no detach). The application writes a
  usage log only for the generation it has just written, and the app role's policy
  still lets a person name only their own existing generation; an archived
  generation's id keeps naming it in ``generations_archive``.

Upkeep: :func:`ensure_partitions` (``repurposeflow db partitions ensure``, from cron)
creates the coming months, and moves rows that landed in the default partition into
a partition of their own; :func:`drop_partitions_before` (``db partitions drop``)
archives and drops, or detaches, whole old months. Both run as the tables' owner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa

PARTITIONED_TABLES = ("generations", "usage_logs")
# PostgreSQL-only tables that keep the global unique rules of a partitioned generations.
KEY_TABLES = ("generation_pending_keys", "generation_idempotency_keys")
PENDING_KEY_CONSTRAINT = "uq_generations_user_request_key_pending"
IDEMPOTENCY_KEY_CONSTRAINT = "uq_generations_user_idempotency_key"
# Metadata that PostgreSQL realises differently once partitioned (for the drift check).
REPLACED_INDEXES = (PENDING_KEY_CONSTRAINT, IDEMPOTENCY_KEY_CONSTRAINT)
POSTGRESQL_ONLY_INDEXES = ("ix_generations_user_idempotency_key",)
DROPPED_FOREIGN_KEYS = ("fk_usage_logs_generation_id_generations",)

# ensure and drop take turns (and with a second cron host).
_PARTITIONS_LOCK = 0x52504650  # "RPFP"
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def month_start(day: date | datetime) -> date:
    """The first day of ``day``'s month (a datetime is read in UTC)."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date() if day.tzinfo else day.date()
    return day.replace(day=1)


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def create_partition_sql(table: str, month: date) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``month``'s partition of ``table``."""
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(add_months(month, 1))})"
    )


@dataclass(frozen=True)
class Partition:
    name: str
    # None for the default partition.
    lower: datetime | None
    upper: datetime | None

    @property
    def is_default(self) -> bool:
        return self.lower is None


@dataclass
class PartitionReport:
    """What a run changed: partitions created (or dropped, or detached), and rows moved
    out of the default partition (or archived and folded) per partition."""

    created: list[str] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)


def is_partitioned(conn: sa.Connection, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        sa.text(
            "SELECT c.relkind FROM pg_class c WHERE c.relname = :t"
            " AND c.relnamespace = current_schema()::regnamespace"
        ),
        {"t": table},
    ).scalar()
    return kind == "p"


def partitions(conn: sa.Connection, table: str) -> list[Partition]:
    """``table``'s partitions, oldest first, the default one last."""
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = :t AND p.relnamespace = current_schema()::regnamespace"
        ),
        {"t": table},
    ).all()
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match is None:
            found.append(Partition(name, None, None))
            continue
        lower, upper = (datetime.fromisoformat(v).astimezone(UTC) for v in match.groups())
        found.append(Partition(name, lower, upper))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: p.lower or far)


def _columns(conn: sa.Connection, table: str) -> str:
    names = conn.execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"t": table},
    ).scalars()
    return ", ".join(f'"{n}"' for n in names)


def _lock(conn: sa.Connection) -> None:
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PARTITIONS_LOCK})


def _months_in(conn: sa.Connection, relation: str) -> set[date]:
    rows = conn.execute(
        sa.text(
            f"SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date"
            f" FROM {relation}"
        )
    ).scalars()
    return set(rows)


def ensure_partitions(
    conn: sa.Connection,
    months_ahead: int = 3,
    *,
    today: date | datetime | None = None,
    tables: Iterable[str] = PARTITIONED_TABLES,
) -> PartitionReport:
    """Create the partitions of this month and the next ``months_ahead`` (and of any
    month with rows sitting in the default partition, which move into it). Idempotent;
    runs in the caller's transaction. Nothing on SQLite or an unpartitioned table."""
    if months_ahead < 0:
        raise ValueError("months_ahead must not be negative")
    report = PartitionReport()
    if conn.dialect.name != "postgresql":
        return report
    first = month_start(today if today is not None else datetime.now(UTC))
    _lock(conn)
    for table in tables:
        if not is_partitioned(conn, table):
            continue
        existing = partitions(conn, table)
        default = next((p for p in existing if p.is_default), None)
        wanted = {add_months(first, n) for n in range(months_ahead + 1)}
        if default is not None:
            wanted |= _months_in(conn, default.name)
        for month in sorted(wanted):
            at = datetime(month.year, month.month, 1, tzinfo=UTC)
            if any(p.lower is not None and p.lower <= at < p.upper for p in existing if p.upper):
                continue
            moved = _create_partition(conn, table, month, default)
            report.created.append(partition_name(table, month))
            if moved:
                report.moved[partition_name(table, month)] = moved
    return report


def _create_partition(
    conn: sa.Connection, table: str, month: date, default: Partition | None
) -> int:
    """Create one month's partition; rows of that month already in the default
    partition move into it (the default is detached meanwhile, so the move fires no
    row trigger: the generations keep their key rows). The rows moved."""
    name = partition_name(table, month)
    lower, upper = _bound(month), _bound(add_months(month, 1))
    in_range = f"created_at >= {lower} AND created_at < {upper}"
    waiting = (
        default is not None
        and conn.execute(
            sa.text(f"SELECT EXISTS (SELECT 1 FROM {default.name} WHERE {in_range})")
        ).scalar()
    )
    if not waiting or default is None:
        conn.execute(sa.text(create_partition_sql(table, month)))
        return 0
    columns = _columns(conn, table)
    conn.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    conn.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {default.name}"))
    conn.execute(
        sa.text(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
    )
    moved = conn.execute(
        sa.text(
            f"WITH moved AS (DELETE FROM {default.name} WHERE {in_range} RETURNING {columns})"
            f" INSERT INTO {name} ({columns}) SELECT {columns} FROM moved"
        )
    ).rowcount
    conn.execute(
        sa.text(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
        )
    )
    conn.execute(sa.text(f"ALTER TABLE {table} ATTACH PARTITION {default.name} DEFAULT"))
    return int(moved)


def drop_partitions_before(
    conn: sa.Connection,
    before: date | datetime,
    *,
    detach: bool = False,
    tables: Iterable[str] = PARTITIONED_TABLES,
) -> PartitionReport:
    """Retention by whole months: every monthly partition that ends on or before the
    start of ``before``'s month leaves its table.

    Dropped (the default), a generations month is first copied into
    ``generations_archive`` and a usage_logs month folded into ``usage_daily``, as the
    row-by-row retention would; detached (``detach=True``), the month stays as a table of
    its own, named as its partition was, for the operator to dump and drop. Either way
    the generations' key rows go. Nothing on SQLite; the default partition is never
    touched (rows there are retention's, row by row)."""
    report = PartitionReport()
    if conn.dialect.name != "postgresql":
        return report
    cutoff = datetime.combine(month_start(before), datetime.min.time(), tzinfo=UTC)
    _lock(conn)
    for table in tables:
        if not is_partitioned(conn, table):
            continue
        for part in partitions(conn, table):
            if part.lower is None or part.upper is None or part.upper > cutoff:
                continue  # the default partition, or a month not yet over
            in_range = (
                f"created_at >= '{part.lower.isoformat()}'"
                f" AND created_at < '{part.upper.isoformat()}'"
            )
            rows = _retire(conn, table, part.name, in_range, keep=detach)
            if detach:
                conn.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {part.name}"))
                report.detached.append(part.name)
            else:
                conn.execute(sa.text(f"DROP TABLE {part.name}"))
                report.dropped.append(part.name)
            report.moved[part.name] = rows
    return report


def _retire(conn: sa.Connection, table: str, name: str, in_range: str, *, keep: bool) -> int:
    """Archive (generations) or fold (usage_logs) one month unless ``keep``; drop the
    month's generation key rows. Runs as the system role (the archive and daily tables
    are under FORCE ROW LEVEL SECURITY, which binds their owner too). The rows."""
    conn.execute(sa.text("SELECT set_config('role', 'repurposeflow_system', true)"))
    try:
        rows = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {in_range}")).scalar_one()
        if table == "generations":
            for key_table in KEY_TABLES:
                conn.execute(
                    sa.text(
                        f"DELETE FROM {key_table} WHERE generation_id IN"
                        f" (SELECT id FROM generations WHERE {in_range})"
                    )
                )
            if not keep:
                columns = _columns(conn, table)
                conn.execute(
                    sa.text(
                        f"INSERT INTO generations_archive ({columns}) SELECT {columns}"
                        f" FROM generations WHERE {in_range} ON CONFLICT (id) DO NOTHING"
                    )
                )
        elif table == "usage_logs" and not keep:
            conn.execute(
                sa.text(
                    "INSERT INTO usage_daily AS d"
                    " (day, user_id, event_type, events, platforms, tokens, cost_usd)"
                    " SELECT (created_at AT TIME ZONE 'UTC')::date, user_id, event_type,"
                    " count(*), sum(platform_count), coalesce(sum(tokens_used), 0),"
                    " coalesce(sum(estimated_cost_usd), 0)"
                    f" FROM usage_logs WHERE {in_range} GROUP BY 1, 2, 3"
                    " ON CONFLICT (day, user_id, event_type) DO UPDATE SET"
                    " events = d.events + EXCLUDED.events,"
                    " platforms = d.platforms + EXCLUDED.platforms,"
                    " tokens = d.tokens + EXCLUDED.tokens,"
                    " cost_usd = d.cost_usd + EXCLUDED.cost_usd"
                )
            )
    finally:
        conn.execute(sa.text("SELECT set_config('role', 'none', true)"))
    return int(rows)


# --- the drift check ------------------------------------------------------------------------

IncludeObject = Callable[[object, str | None, str, bool, object | None], bool]


def drift_filter(conn: sa.Connection) -> IncludeObject:
    """An alembic ``include_object`` that leaves out what PostgreSQL realises
    differently once partitioned: the partitions and key tables themselves, the two
    unique indexes the key tables replace, the index that serves idempotency lookups
    instead, and the dropped foreign key. Everything else is compared as usual. The
    catalog is read on the first call (a comparison), never when merely configured."""
    skipped: dict[str, set[str]] = {}
    loaded: list[bool] = []

    def _load() -> dict[str, set[str]]:
        if loaded:
            return skipped
        loaded.append(True)
        if not is_partitioned(conn, "generations"):
            return skipped
        children = conn.execute(
            sa.text(
                "SELECT relname FROM pg_class WHERE relispartition"
                " AND relnamespace = current_schema()::regnamespace"
            )
        ).scalars()
        skipped["table"] = set(children) | set(KEY_TABLES)
        skipped["index"] = set(REPLACED_INDEXES) | set(POSTGRESQL_ONLY_INDEXES)
        skipped["unique_constraint"] = skipped["index"]
        skipped["foreign_key_constraint"] = set(DROPPED_FOREIGN_KEYS)
        return skipped

    def include(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
    ) -> bool:
        return name not in _load().get(type_, ())

    return include
