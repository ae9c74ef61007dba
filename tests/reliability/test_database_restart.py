"""Restart the database (a server this test starts itself) while generations run: the
service raises the documented one-line StoreUnavailable, the API answers 503, the CLI
exits 5, nothing is half written, and all of them serve again without a restart."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repurposeflow.adapters.clock import ManualClock, SystemClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine, upgrade_database
from repurposeflow.bootstrap import HttpSettings, bootstrap, load_settings
from repurposeflow.domain.enums import Platform
from repurposeflow.domain.errors import StoreUnavailable
from repurposeflow.entrypoints.http.app import create_app
from repurposeflow.services import maintenance, users
from repurposeflow.services.repurpose import RepurposeRequest, repurpose
from tests.reliability.conftest import FULL
from tests.reliability.throwaway_pg import ThrowawayServer, why_not

pytestmark = pytest.mark.postgres


@pytest.fixture
def server() -> Iterator[ThrowawayServer]:
    reason = why_not()
    if reason:
        pytest.fail(f"cannot start a throwaway PostgreSQL server: {reason}")
    srv = ThrowawayServer()
    try:
        yield srv
    finally:
        srv.close()


class Load:
    """Threads repurposing until told to stop; every outcome recorded with its time."""

    def __init__(self, engine: sa.Engine, threads: int) -> None:
        self.engine = engine
        self.stop = threading.Event()
        self.outcomes: list[tuple[float, BaseException | None]] = []
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self) -> None:
        uow = SqlUnitOfWork(self.engine)
        while not self.stop.is_set():
            n = next(self._counter)
            text = f"Restart drill post {n}: one long post can feed a whole week of content."
            error: BaseException | None = None
            try:
                repurpose(
                    uow,
                    ScriptedEngine(latency=0.02),
                    SystemClock(),
                    RepurposeRequest("drill", text),
                )
            except StoreUnavailable as exc:
                error = exc
                time.sleep(0.05)
            except BaseException as exc:  # anything else is a finding: keep it
                error = exc
            with self._lock:
                self.outcomes.append((time.monotonic(), error))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def successes(self) -> int:
        with self._lock:
            return sum(1 for _, e in self.outcomes if e is None)

    def wait_for_successes(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.successes() < n:
            assert time.monotonic() < deadline, f"no progress: {self.outcomes[-3:]}"
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=60)


def test_restart_under_load_fails_cleanly_and_recovers(server: ThrowawayServer):
    engine = make_engine(server.url, pool_size=10)
    upgrade_database(engine)
    users.ensure_user(SqlUnitOfWork(engine), SystemClock(), clerk_user_id="drill", email="d@x.io")
    users.change_tier(SqlUnitOfWork(engine), "drill", "business")
    rounds = 3 if FULL else 1
    api = bootstrap(load_settings(env={}, database_url=server.url), migrate=False)
    limits = {"rate_limit_ip": "100000/minute", "rate_limit_user": "100000/minute"}
    client = TestClient(create_app(api, HttpSettings(dev_user="drill", **limits)))
    with client, Load(engine, threads=6 if FULL else 3) as load:
        for _ in range(rounds):
            load.wait_for_successes(load.successes() + 3)
            server.stop("fast")  # the server goes away with transactions in flight
            down_at = time.monotonic()
            time.sleep(0.5)
            down = client.get("/v1/usage")
            cli = subprocess.run(
                [sys.executable, "-m", "repurposeflow.entrypoints.cli", "usage"],
                env={**os.environ, "REPURPOSEFLOW_DATABASE_URL": server.url},
                capture_output=True,
                text=True,
                timeout=60,
            )
            server.start()
            up_at = time.monotonic()
            load.wait_for_successes(load.successes() + 5)
            # The API: a 503 problem while down, answers again after, with no restart.
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert client.get("/v1/usage").status_code == 200
            # The CLI with the database down: the documented exit code, one line.
            assert cli.returncode == 5, cli.stderr
            assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr
            assert "Traceback" not in cli.stderr

    errors = [e for _, e in load.outcomes if e is not None]
    assert errors, "the restart went unnoticed: the drill measured nothing"
    unexpected = [e for e in errors if not isinstance(e, StoreUnavailable)]
    assert not unexpected, "".join(traceback.format_exception(unexpected[0]))
    assert all("\n" not in str(e) for e in errors)
    # The same engine, not restarted, serves again once the server is back.
    after = [e for t, e in load.outcomes if t > up_at]
    assert after and all(e is None for e in after[-5:]), after[-5:]
    assert any(e is None for t, e in load.outcomes if t < down_at)

    # Nothing half written: a finished generation has every output; a run cut off
    # mid-way is still pending (charged) until the sweeper fails and refunds it.
    with engine.connect() as conn:
        columns = ", ".join(f"output_{p.value}" for p in Platform)
        rows = conn.execute(sa.text(f"SELECT status, {columns} FROM generations")).all()
    assert {r[0] for r in rows} <= {"completed", "pending", "failed"}
    assert all(all(v is not None for v in r[1:]) for r in rows if r[0] == "completed")

    later = ManualClock(SystemClock().now() + maintenance.STALE_AFTER + timedelta(seconds=1))
    maintenance.sweep_stale_pending(SqlUnitOfWork(engine), later)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text("SELECT generations_count_current_month FROM users WHERE clerk_user_id='drill'")
        ).scalar_one()
        charged = conn.execute(
            sa.text("SELECT count(*) FROM generations WHERE status IN ('completed', 'partial')")
        ).scalar_one()
        pending = conn.execute(
            sa.text("SELECT count(*) FROM generations WHERE status = 'pending'")
        ).scalar_one()
        refunds = conn.execute(
            sa.text(
                "SELECT count(*) FROM usage_logs WHERE event_type = 'generation_refunded'"
                " GROUP BY generation_id HAVING count(*) > 1"
            )
        ).all()
    engine.dispose()
    assert pending == 0
    assert count == charged
    assert refunds == []
