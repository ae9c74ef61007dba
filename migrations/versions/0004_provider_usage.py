"""Provider usage: tokens written to a provider's prompt cache are billed at their own
price, so they get their own column; and a generation's cost may be unknown (a model
missing from the price table), stored as NULL rather than a 0 that reads as free.

Revision ID: 0004_provider_usage
Revises: 0003_idempotency_key
Create Date: 2026-12-04
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0004_provider_usage"
down_revision = "0003_idempotency_key"
branch_labels = None
depends_on = None

TABLES = ("generations", "generations_archive")


def upgrade() -> None:
    for table in TABLES:
        with _quiet_reflection(), op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("cache_write_tokens", sa.Integer(), nullable=False, server_default="0")
            )
            batch.alter_column(
                "estimated_cost_usd",
                existing_type=sa.Numeric(10, 6),
                existing_server_default="0",
                nullable=True,
            )


def downgrade() -> None:
    for table in TABLES:
        op.execute(
            sa.text(f"UPDATE {table} SET estimated_cost_usd = 0 WHERE estimated_cost_usd IS NULL")
        )
        with _quiet_reflection(), op.batch_alter_table(table) as batch:
            batch.alter_column(
                "estimated_cost_usd",
                existing_type=sa.Numeric(10, 6),
                existing_server_default="0",
                nullable=False,
            )
            batch.drop_column("cache_write_tokens")


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    """SQLite rebuilds the table to drop a NOT NULL; reflecting its foreign key to
    ``users`` warns about an expression index there that is never touched, and that
    warning would land in a person's terminal on their first run after upgrading."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
        yield
