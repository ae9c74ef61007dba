"""SIGKILL a process in the middle of generations on PostgreSQL, then sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from repurposeflow.adapters.clock import ManualClock, SystemClock
from repurposeflow.adapters.sql import SqlUnitOfWork
from repurposeflow.services import maintenance, users
from tests.reliability.conftest import FULL

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def _statuses(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM generations GROUP BY status"))
        return {status: n for status, n in rows}


def test_killed_worker_leaves_nothing_pending_and_refunds_once(pg: sa.Engine):
    threads = 8 if FULL else 3
    clock = SystemClock()
    users.ensure_user(SqlUnitOfWork(pg), clock, clerk_user_id="drill", email="d@example.com")
    users.change_tier(SqlUnitOfWork(pg), "drill", "pro")
    url = pg.url.render_as_string(hide_password=False)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", url, "drill", str(threads)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        # Kill it with generations both finished and in flight.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = _statuses(pg)
            if seen.get("completed", 0) >= (6 if FULL else 2) and seen.get("pending", 0) >= 1:
                break
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail(f"the worker never got going: {_statuses(pg)}")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    before = _statuses(pg)
    assert before.get("pending", 0) >= 1

    # After the timeout, two sweepers at once (a restarted worker and the cron job).
    later = ManualClock(clock.now() + maintenance.STALE_AFTER + timedelta(seconds=1))
    with ThreadPoolExecutor(2) as pool:
        swept = list(
            pool.map(lambda _: maintenance.sweep_stale_pending(SqlUnitOfWork(pg), later), range(2))
        )
    after = _statuses(pg)
    assert sum(swept) == before["pending"]
    assert after.get("pending", 0) == 0
    assert after.get("failed", 0) == before.get("failed", 0) + before["pending"]

    with pg.connect() as conn:
        refunds_per_generation = conn.execute(
            sa.text(
                "SELECT generation_id, count(*) FROM usage_logs"
                " WHERE event_type = 'generation_refunded' GROUP BY generation_id"
            )
        ).all()
        count = conn.execute(
            sa.text(
                "SELECT generations_count_current_month FROM users WHERE clerk_user_id = 'drill'"
            )
        ).scalar_one()
        charged = conn.execute(
            sa.text("SELECT count(*) FROM generations WHERE status IN ('completed', 'partial')")
        ).scalar_one()
        failed = conn.execute(
            sa.text("SELECT count(*) FROM generations WHERE status = 'failed'")
        ).scalar_one()
    assert all(n == 1 for _, n in refunds_per_generation)
    assert len(refunds_per_generation) == failed
    assert count == charged
