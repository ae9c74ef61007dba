"""The embedded SQLite store on a full disk and on a read-only one: a clear one-line
error, nothing half written, ``PRAGMA integrity_check`` ok, and work resumes once
there is room again.

The disk is a small tmpfs mounted for the test when this process may mount (root in
a container, as on CI); elsewhere the full disk is SQLite's own ``max_page_count``
(the same SQLITE_FULL error) and the read-only file is a plain ``chmod``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from repurposeflow.adapters.clock import ManualClock, SystemClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine, upgrade_database
from repurposeflow.domain.errors import StoreUnavailable
from repurposeflow.services import maintenance, users
from repurposeflow.services.repurpose import RepurposeRequest, repurpose


def _mount(directory: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
    )
    return done.returncode == 0


def _remount(directory: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(directory)], check=True)


@pytest.fixture
def small_disk() -> Iterator[tuple[Path, bool]]:
    """(a directory, whether it is a real small filesystem of its own)."""
    directory = Path(tempfile.mkdtemp(prefix="rf-drill-disk-"))
    mounted = _mount(directory, "2m")
    try:
        yield directory, mounted
    finally:
        if mounted:
            with contextlib.suppress(subprocess.CalledProcessError):
                _remount(directory, "rw")
            subprocess.run(["umount", "-l", str(directory)], check=False)
        for path in directory.glob("*"):
            path.chmod(0o644)
        directory.chmod(0o755)
        for path in directory.glob("*"):
            path.unlink()
        directory.rmdir()


def _integrity(path: Path, *, read_only_media: bool = False) -> str:
    # On read-only media SQLite cannot open a WAL database read-only unless told the
    # file cannot change (immutable); elsewhere the WAL must be read with it.
    mode = "immutable=1" if read_only_media else "mode=ro"
    conn = sqlite3.connect(f"file:{path}?{mode}", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _counts(path: Path) -> tuple[int, int]:
    """(the user's count, generations still charged: delivered or still pending)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        count = conn.execute("SELECT generations_count_current_month FROM users").fetchone()[0]
        charged = conn.execute(
            "SELECT count(*) FROM generations WHERE status IN ('completed', 'partial', 'pending')"
        ).fetchone()[0]
        return int(count), int(charged)
    finally:
        conn.close()


def _pending(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(
            conn.execute("SELECT count(*) FROM generations WHERE status = 'pending'").fetchone()[0]
        )
    finally:
        conn.close()


def _generate(engine: sa.Engine, n: int) -> None:
    repurpose(
        SqlUnitOfWork(engine),
        ScriptedEngine(),
        SystemClock(),
        RepurposeRequest(
            "disk", f"Disk drill post {n}: one long post feeds a week of content. " * 40
        ),
    )


def test_full_disk_is_a_clear_error_and_corrupts_nothing(small_disk: tuple[Path, bool]):
    directory, mounted = small_disk
    path = directory / "repurposeflow.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    users.ensure_user(SqlUnitOfWork(engine), SystemClock(), clerk_user_id="disk", email="d@x.io")
    users.change_tier(SqlUnitOfWork(engine), "disk", "business")
    if not mounted:
        with engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

        @event.listens_for(engine, "connect")
        def _cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 8}")

        engine.dispose()

    failure: StoreUnavailable | None = None
    for n in range(10_000):
        try:
            _generate(engine, n)
        except StoreUnavailable as exc:
            failure = exc
            break
    assert failure is not None, "the disk never filled up"
    message = str(failure)
    assert "full" in message.lower(), message
    assert "\n" not in message
    engine.dispose()

    assert _integrity(path) == "ok"
    # The run that hit the full disk was not charged, or its charge stands with its row
    # still pending (the refund could not be written either) until the sweeper.
    count, charged = _counts(path)
    assert count == charged

    # Room again: the same file takes new work, and the sweeper settles a stuck run.
    if mounted:
        subprocess.run(["mount", "-o", "remount,size=8m", str(directory)], check=True)
    else:
        engine = make_engine(f"sqlite:///{path}")  # a fresh engine: no page cap
    _generate(engine, 99_999)
    later = ManualClock(SystemClock().now() + maintenance.STALE_AFTER + timedelta(seconds=1))
    maintenance.sweep_stale_pending(SqlUnitOfWork(engine), later)
    engine.dispose()
    assert _integrity(path) == "ok"
    assert _pending(path) == 0
    count, charged = _counts(path)
    assert count == charged


def test_read_only_database_is_a_clear_error_and_changes_nothing(
    small_disk: tuple[Path, bool],
):
    directory, mounted = small_disk
    if not mounted and os.geteuid() == 0:
        pytest.skip("root ignores file modes and this process may not mount a filesystem")
    path = directory / "repurposeflow.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    users.ensure_user(SqlUnitOfWork(engine), SystemClock(), clerk_user_id="disk", email="d@x.io")
    _generate(engine, 1)
    engine.dispose()
    before = path.read_bytes()

    if mounted:
        _remount(directory, "ro")
    else:
        path.chmod(0o444)
        directory.chmod(0o555)

    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(StoreUnavailable) as caught:
        _generate(engine, 2)
    engine.dispose()
    message = str(caught.value)
    assert "\n" not in message
    assert "read-only" in message, message
    assert path.read_bytes() == before

    # The CLI says so in one line: exit 2 when it sees the folder is not writable before
    # opening the file (a setting to fix), 5 when the database itself refuses.
    cli = subprocess.run(
        [sys.executable, "-m", "repurposeflow.entrypoints.cli", "usage"],
        env={**os.environ, "REPURPOSEFLOW_DATABASE_URL": f"sqlite:///{path}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode in (2, 5), (cli.returncode, cli.stdout, cli.stderr)
    assert "read-only" in cli.stderr or "write" in cli.stderr, cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr
    assert _integrity(path, read_only_media=mounted) == "ok"
