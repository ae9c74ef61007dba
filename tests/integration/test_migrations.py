"""Alembic on both dialects: one head, up/down/up from empty, no drift between the
migrated schema and ``tables.metadata``, and CHECK constraints that refuse bad values."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from repurposeflow.adapters.sql import (
    HEAD_REVISION,
    current_revision,
    downgrade_database,
    ensure_schema,
    make_engine,
    migrate,
    upgrade_database,
)
from repurposeflow.adapters.sql.migrate import alembic_config, script_location
from repurposeflow.adapters.sql.partitions import drift_filter
from repurposeflow.adapters.sql.tables import ALL_TABLES, metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    else:
        factory: Callable[[], sa.URL] = request.getfixturevalue("pg_database_factory")
        engine = make_engine(factory().render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _drift(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (lower(email)); alembic says so.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        # PostgreSQL's partitions and key tables (0005) are not in the metadata.
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": drift_filter(conn)}
        )
        return compare_metadata(context, metadata)


def test_one_head_and_the_adapter_knows_it():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]
    assert script_location() == Path(__file__).resolve().parents[2] / "migrations"


def test_up_down_up_without_drift(empty_engine: sa.Engine):
    assert current_revision(empty_engine) is None
    upgrade_database(empty_engine)
    assert current_revision(empty_engine) == HEAD_REVISION
    assert set(ALL_TABLES) <= _tables(empty_engine)
    assert _drift(empty_engine) == []

    downgrade_database(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert _tables(empty_engine) <= {"alembic_version"}

    upgrade_database(empty_engine, "head")
    assert current_revision(empty_engine) == HEAD_REVISION
    assert _drift(empty_engine) == []


def test_drift_detection_is_real(empty_engine: sa.Engine):
    """The no-drift assertion above can fail: a missing index shows up."""
    upgrade_database(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_usage_logs_created_at")
    assert any("ix_usage_logs_created_at" in str(d) for d in _drift(empty_engine))


def test_ensure_schema_migrates_once_then_is_a_cheap_no_op(
    empty_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
):
    ensure_schema(empty_engine)
    assert current_revision(empty_engine) == HEAD_REVISION

    # Cheap means alembic is not even loaded: the one small query decides.
    def no_alembic(*args: object, **kwargs: object) -> None:
        raise AssertionError("ensure_schema ran alembic on a current database")

    monkeypatch.setattr(migrate, "upgrade_database", no_alembic)
    monkeypatch.setattr(migrate, "alembic_config", no_alembic)
    ensure_schema(empty_engine)
    assert current_revision(empty_engine) == HEAD_REVISION


def test_upgrade_by_url_string(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()


USER_ID = uuid.UUID(int=1)


def _insert_user(conn: sa.Connection, **overrides: object) -> None:
    values = {
        "id": USER_ID.hex if conn.dialect.name == "sqlite" else str(USER_ID),
        "clerk": "user_1",
        "email": "a@example.com",
        "tier": "free",
        "status": "active",
        "tone": "conversational",
        "reset": "2026-04-01 00:00:00",
        **overrides,
    }
    conn.execute(
        sa.text(
            "INSERT INTO users (id, clerk_user_id, email, subscription_tier, subscription_status,"
            " default_tone, usage_reset_at) VALUES (:id, :clerk, :email, :tier, :status, :tone,"
            " :reset)"
        ),
        values,
    )


@pytest.mark.parametrize(
    "overrides",
    [{"tier": "platinum"}, {"status": "zombie"}, {"tone": "sarcastic"}],
    ids=["tier", "status", "tone"],
)
def test_check_constraints_refuse_unknown_user_enums(sql_engine: sa.Engine, overrides):
    with sql_engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        _insert_user(conn, **overrides)


GENERATION_SQL = (
    "INSERT INTO generations (id, user_id, input_content, input_content_hash, request_key,"
    " selected_platforms, selected_tone, status) VALUES (:id, :uid, 'x', 'h', 'k',"
    " {platforms}, :tone, :status)"
)


@pytest.mark.parametrize(
    "bad",
    [{"status": "exploded"}, {"tone": "shouty"}, {"platforms": ["tiktok", "myspace"]}],
    ids=["status", "tone", "platform"],
)
def test_check_constraints_refuse_unknown_generation_enums(sql_engine: sa.Engine, bad):
    is_pg = sql_engine.dialect.name == "postgresql"
    with sql_engine.connect() as conn:
        if is_pg:
            conn.exec_driver_sql("SET LOCAL ROLE repurposeflow_system")
        _insert_user(conn)
        uid = USER_ID.hex if not is_pg else str(USER_ID)
        params = {"id": uuid.uuid4().hex, "uid": uid, "tone": "educational", "status": "pending"}
        params.update({k: v for k, v in bad.items() if k != "platforms"})
        platforms = bad.get("platforms", ["tiktok"])
        sql = GENERATION_SQL.format(
            platforms="CAST(:platforms AS text[])" if is_pg else ":platforms"
        )
        params["platforms"] = platforms if is_pg else json.dumps(platforms)
        good = dict(params, id=uuid.uuid4().hex, status="pending", tone="educational")
        good["platforms"] = ["tiktok"] if is_pg else '["tiktok"]'
        conn.execute(sa.text(sql), good)  # the same insert with good values passes
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text(sql), params)


def test_check_constraints_refuse_unknown_usage_and_webhook_enums(sql_engine: sa.Engine):
    with sql_engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.text(
                "INSERT INTO webhook_events (id, source, event_type, event_id, payload)"
                " VALUES (:id, 'paypal', 't', 'evt', '{}')"
            ),
            {"id": uuid.uuid4().hex},
        )
    with sql_engine.connect() as conn:
        _insert_user(conn)
        uid = USER_ID.hex if sql_engine.dialect.name == "sqlite" else str(USER_ID)
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(
                sa.text(
                    "INSERT INTO usage_logs (id, user_id, event_type, platform_count)"
                    " VALUES (:id, :uid, 'generation_teleported', 1)"
                ),
                {"id": uuid.uuid4().hex, "uid": uid},
            )
