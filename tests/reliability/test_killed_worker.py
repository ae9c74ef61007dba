"""SIGKILL a process in the middle of generations on PostgreSQL, then sweep."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
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
# Only against a worker that hangs: the drill moves on the worker's own signals.
WATCHDOG_SECONDS = 600


def _statuses(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM generations GROUP BY status"))
        return {status: n for status, n in rows}


def _wait_for(worker: subprocess.Popen[str], lines: queue.Queue[str], in_flight: int) -> int:
    """Read the worker's events until ``in_flight`` generations are stuck in the engine;
    returns how many completed. The worker's own signals pace this, not a clock: the
    watchdog only stops a worker that hangs before reaching that state."""
    deadline = time.monotonic() + WATCHDOG_SECONDS
    completed = stuck = 0
    while stuck < in_flight:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(
                f"the worker hung before its generations were in flight "
                f"({completed} completed, {stuck} in flight after {WATCHDOG_SECONDS} s)"
            )
        if line == "":  # end of output: the worker died
            worker.wait()
            pytest.fail(f"the worker exited with {worker.returncode} before being killed")
        completed += line == "completed"
        stuck += line == "in flight"
    return completed


def test_killed_worker_leaves_nothing_pending_and_refunds_once(pg: sa.Engine, tmp_path: Path):
    threads, done = (8, 4) if FULL else (3, 2)
    clock = SystemClock()
    users.ensure_user(SqlUnitOfWork(pg), clock, clerk_user_id="drill", email="d@example.com")
    users.change_tier(SqlUnitOfWork(pg), "drill", "pro")
    url = pg.url.render_as_string(hide_password=False)
    errors = (tmp_path / "worker.err").open("w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", url, "drill", str(threads), str(done)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            lines.put(line.strip())
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    try:
        completed = _wait_for(worker, lines, in_flight=threads)
        # Every thread has finished `done` generations and has one pending in the engine.
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=WATCHDOG_SECONDS)
    except BaseException:
        errors.seek(0)
        print(errors.read()[-4000:], file=sys.stderr)
        raise
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        errors.close()
    assert completed == threads * done
    before = _statuses(pg)
    assert before.get("pending", 0) == threads
    assert before.get("completed", 0) == completed

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
