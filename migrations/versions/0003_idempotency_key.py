"""Idempotency keys: a client's ``Idempotency-Key`` is stored with the generation it
started, unique per user, so the same key with the same request returns that
generation and the same key with another request is refused (HTTP 409).

Revision ID: 0003_idempotency_key
Revises: 0002_app_role_hardening
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_idempotency_key"
down_revision = "0002_app_role_hardening"
branch_labels = None
depends_on = None

INDEX = "uq_generations_user_idempotency_key"


def upgrade() -> None:
    for table in ("generations", "generations_archive"):
        op.add_column(table, sa.Column("idempotency_key", sa.String(255)))
    keyed = sa.text("idempotency_key IS NOT NULL")
    op.create_index(
        INDEX,
        "generations",
        ["user_id", "idempotency_key"],
        unique=True,
        sqlite_where=keyed,
        postgresql_where=keyed,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="generations")
    with op.batch_alter_table("generations_archive") as batch:
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("idempotency_key")
