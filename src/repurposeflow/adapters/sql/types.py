"""Column types that serve SQLite and PostgreSQL from one metadata.

PostgreSQL gets its native types (JSONB, TEXT[], INET, timestamptz); SQLite gets JSON
text, a JSON array, a string, and UTC timestamps stored without an offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# A list of strings: TEXT[] on PostgreSQL (unnest, <@), a JSON array on SQLite (json_each).
TextList = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
IPAddress = sa.String(45).with_variant(postgresql.INET(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both dialects.

    SQLite has no time zones: values are stored as naive UTC text in one fixed format,
    so string comparison in SQL is time comparison. A naive datetime is a bug upstream
    and is refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
