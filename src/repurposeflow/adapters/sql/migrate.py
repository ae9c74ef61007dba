"""Alembic, driven from code (no alembic.ini): upgrade, downgrade, current revision,
and ``ensure_schema`` for every CLI start.

The migration scripts ship inside the wheel as ``repurposeflow/_migrations``; in a
checkout they are ``<repo>/migrations``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

import repurposeflow
from repurposeflow.adapters.sql.engine import UNAVAILABLE_ERRORS, make_engine, unavailable
from repurposeflow.domain.errors import InvalidInput

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions; a test keeps it equal to alembic's head,
# so ensure_schema can decide "nothing to do" without loading alembic at all.
HEAD_REVISION = "0005_monthly_partitions"


def script_location() -> Path:
    packaged = Path(repurposeflow.__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(repurposeflow.__file__).resolve().parents[2] / "migrations"


def alembic_config(engine: sa.Engine | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    # env.py uses this engine when given (tests, ensure_schema) instead of a URL.
    config.attributes["engine"] = engine
    return config


def _engine(engine_or_url: sa.Engine | str) -> tuple[sa.Engine, bool]:
    if isinstance(engine_or_url, sa.Engine):
        return engine_or_url, False
    return make_engine(engine_or_url), True


def _migrate(engine_or_url: sa.Engine | str, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.util.exc import CommandError

    engine, owned = _engine(engine_or_url)
    try:
        getattr(command, direction)(alembic_config(engine), revision)
    except UNAVAILABLE_ERRORS as exc:
        raise unavailable(engine, exc) from exc
    except CommandError as exc:
        # An unknown or ambiguous revision name: the person's input, not a fault.
        raise InvalidInput(
            f"Cannot {direction} to {revision!r}: {exc}. Known revisions: "
            f"{', '.join(_revisions())}, head, base."
        ) from None
    finally:
        if owned:
            engine.dispose()


def _revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def upgrade_database(engine_or_url: sa.Engine | str, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    _migrate(engine_or_url, "upgrade", revision)


def downgrade_database(engine_or_url: sa.Engine | str, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (``base``: drop everything)."""
    _migrate(engine_or_url, "downgrade", revision)


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except UNAVAILABLE_ERRORS as exc:
        raise unavailable(engine, exc) from exc


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def ensure_schema(engine: sa.Engine) -> None:
    """Upgrade to head unless already there: one small query when current."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade_database(engine)
