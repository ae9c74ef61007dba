"""The durable job queue on real PostgreSQL: ``db upgrade`` applies procrastinate's
schema (once), ``POST /v1/generations`` and ``repurpose --queue`` enqueue after the
reservation commits, a worker (a thread here, a real ``repurposeflow worker`` process
below) runs them, and afterwards every user's count equals their completed plus
partial generations with nothing left pending."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine, upgrade_database
from repurposeflow.bootstrap import App, ensure_queue_schema, load_settings
from repurposeflow.domain.errors import EngineUnavailable
from repurposeflow.entrypoints.cli import main
from repurposeflow.entrypoints.http import create_app
from tests.http.conftest import ARTICLE, NOW, auth, clerk_verifier, http_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "blog-post.md"


@pytest.fixture
def queue_db(pg_database_factory: Callable[[], sa.URL]) -> Iterator[tuple[str, sa.Engine]]:
    """A fresh database (procrastinate's tables outlive a TRUNCATE of ours), migrated."""
    url = pg_database_factory().render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=5, max_overflow=20)
    upgrade_database(engine)
    settings = load_settings(env={}, database_url=url, jobs="procrastinate")
    assert ensure_queue_schema(settings) is True
    yield url, engine
    engine.dispose()


def _app(url: str, engine: sa.Engine, scripted: ScriptedEngine) -> App:
    settings = load_settings(
        env={},
        database_url=url,
        engine="scripted",
        known_engines=("scripted",),
        jobs="procrastinate",
    )
    return App(
        settings=settings,
        uow_factory=lambda: SqlUnitOfWork(engine),
        clock=ManualClock(NOW),
        engine_factory=lambda name: scripted,
        user_uow_factory=lambda clerk_user_id: SqlUnitOfWork(engine, acting_as=clerk_user_id),
        identity=clerk_verifier(),
    )


def _jobs(url: str) -> list[dict[str, Any]]:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(
            "SELECT id, status, attempts, queueing_lock, lock, args FROM procrastinate_jobs "
            "ORDER BY id"
        )
        names = [c.name for c in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _ledger(engine: sa.Engine) -> dict[str, tuple[int, int, int]]:
    """Per user: (count, completed + partial in the window, pending)."""
    with engine.begin() as conn:
        # Every table forces row-level security: read as the trusted system role.
        conn.execute(sa.text("SELECT set_config('role', 'repurposeflow_system', true)"))
        rows = conn.execute(
            sa.text(
                """
                SELECT u.clerk_user_id, u.generations_count_current_month,
                  count(g.id) FILTER (WHERE g.status IN ('completed', 'partial')
                                        AND g.charged_reset_at IS NOT NULL),
                  count(g.id) FILTER (WHERE g.status = 'pending')
                FROM users u LEFT JOIN generations g ON g.user_id = u.id
                GROUP BY u.clerk_user_id, u.generations_count_current_month
                """
            )
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_the_schema_is_applied_once(queue_db: tuple[str, sa.Engine]) -> None:
    url, _ = queue_db
    settings = load_settings(env={}, database_url=url, jobs="procrastinate")
    assert ensure_queue_schema(settings) is False  # already there: nothing to do
    assert _jobs(url) == []


def test_db_upgrade_applies_the_queue_schema(
    pg_database_factory: Callable[[], sa.URL],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url = pg_database_factory().render_as_string(hide_password=False)
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REPURPOSEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("REPURPOSEFLOW_JOBS", "procrastinate")
    assert main(["db", "upgrade"]) == 0
    assert "job queue schema (procrastinate): applied" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "job queue schema (procrastinate): present" in capsys.readouterr().out
    assert _jobs(url) == []


def test_post_enqueues_and_a_worker_thread_completes_them(
    queue_db: tuple[str, sa.Engine],
) -> None:
    url, engine = queue_db
    scripted = ScriptedEngine(faults={"analyze": [EngineUnavailable("503")]})
    app = _app(url, engine, scripted)
    users = [f"user_q{i}" for i in range(3)]
    ids: list[str] = []
    with TestClient(create_app(app, http_settings())) as client:
        for i in range(6):
            user = users[i % 3]
            r = client.post(
                "/v1/generations",
                json={"content": f"{ARTICLE} Part {i}.", "platforms": ["threads", "email"]},
                headers=auth(user),
            )
            assert r.status_code == 202, r.text
            assert r.json()["status"] == "pending"
            ids.append(r.json()["id"])
        queued = _jobs(url)
        assert [j["queueing_lock"] for j in queued] == ids
        assert all(j["lock"] == j["queueing_lock"] and j["status"] == "todo" for j in queued)
        # Nothing runs in the API process: the generations wait for a worker.
        time.sleep(0.2)
        assert all(
            client.get(f"/v1/generations/{gid}", headers=auth(users[i % 3])).json()["status"]
            == "pending"
            for i, gid in enumerate(ids)
        )
        # A worker (another App on the same database, as another process would be).
        worker_app = _app(url, engine, scripted)
        worker_queue = worker_app.queue()
        worker_queue.max_retries = 3
        _retry_without_waiting(worker_queue)
        done = threading.Event()

        def work() -> None:
            try:
                for _ in range(20):
                    worker_queue.run_worker(
                        concurrency=3, wait=False, install_signal_handlers=False
                    )
                    if not any(j["status"] in ("todo", "doing") for j in _jobs(url)):
                        return
                    time.sleep(0.1)
            finally:
                done.set()

        threading.Thread(target=work, daemon=True).start()
        assert done.wait(120)
        for i, gid in enumerate(ids):
            body = client.get(f"/v1/generations/{gid}", headers=auth(users[i % 3])).json()
            assert body["status"] == "completed", body
    jobs = _jobs(url)
    assert len(jobs) == 6 and all(j["status"] == "succeeded" for j in jobs)
    # attempts counts finished runs: one job met the outage and ran again; no other
    # job ran twice.
    assert sorted(j["attempts"] for j in jobs) == [1, 1, 1, 1, 1, 2]
    assert len([c for c in scripted.calls if c[0] == "analyze"]) == 7
    ledger = _ledger(engine)
    assert ledger == {u: (2, 2, 0) for u in users}


def _retry_without_waiting(queue: Any) -> None:
    """Backoff of 0 s, so the test does not sleep through the exponential waits."""
    task = queue.app.tasks["repurposeflow.run_generation"]
    task.retry_strategy.exponential_wait = 0


def test_repurpose_queue_and_a_worker_process(
    queue_db: tuple[str, sa.Engine],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, engine = queue_db
    env = {
        "REPURPOSEFLOW_CONFIG": str(tmp_path / "absent.toml"),
        "REPURPOSEFLOW_DATABASE_URL": url,
        "REPURPOSEFLOW_JOBS": "procrastinate",
        "REPURPOSEFLOW_USER": "cli_person",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for var in ("ENGINE", "EMAIL", "TIER", "CONCURRENCY"):
        monkeypatch.delenv(f"REPURPOSEFLOW_{var}", raising=False)
    # --queue reserves, queues and answers with the id at once.
    assert main(["repurpose", str(EXAMPLE), "--queue", "-p", "threads"]) == 0
    out, err = capsys.readouterr()
    gen_id = uuid.UUID(out.strip())
    assert "queued" in err and "1 of 10" in err
    assert _ledger(engine)["cli_person"] == (1, 0, 1)
    (job,) = _jobs(url)
    assert job["queueing_lock"] == str(gen_id) and job["status"] == "todo"

    # A real worker process runs it; SIGTERM stops it cleanly.
    worker = subprocess.Popen(
        [sys.executable, "-m", "repurposeflow.entrypoints.cli", "worker", "--concurrency", "2"],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _jobs(url)[0]["status"] != "succeeded":
            time.sleep(0.2)
        # A second one while the worker waits: LISTEN/NOTIFY wakes it.
        assert main(["repurpose", str(EXAMPLE), "--queue", "-p", "email"]) == 0
        second = uuid.UUID(capsys.readouterr().out.strip())
        while time.monotonic() < deadline and any(j["status"] != "succeeded" for j in _jobs(url)):
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        _, worker_err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, worker_err
    assert "worker: stopped" in worker_err
    assert [j["status"] for j in _jobs(url)] == ["succeeded", "succeeded"]
    assert main(["show", str(gen_id), "--format", "json"]) == 0
    assert '"status": "completed"' in capsys.readouterr().out
    assert main(["show", str(second), "--format", "json"]) == 0
    assert '"status": "completed"' in capsys.readouterr().out
    assert _ledger(engine)["cli_person"] == (2, 2, 0)


def test_repurpose_queue_needs_the_queue(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REPURPOSEFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("REPURPOSEFLOW_JOBS", raising=False)
    assert main(["repurpose", str(EXAMPLE), "--queue"]) == 2
    err = capsys.readouterr().err
    assert "--queue needs the job queue" in err and err.count("\n") == 1
    monkeypatch.setenv("REPURPOSEFLOW_JOBS", "procrastinate")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "needs a PostgreSQL database" in err and err.count("\n") == 1


def test_a_job_left_running_by_a_dead_worker_runs_again(
    queue_db: tuple[str, sa.Engine],
) -> None:
    url, engine = queue_db
    scripted = ScriptedEngine()
    app = _app(url, engine, scripted)
    with TestClient(create_app(app, http_settings())) as client:
        r = client.post(
            "/v1/generations",
            json={"content": ARTICLE, "platforms": ["threads"]},
            headers=auth("user_dead"),
        )
        assert r.status_code == 202
    gen_id = r.json()["id"]
    # A worker took the job and was killed: its heartbeat stopped minutes ago.
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        (dead,) = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '5 minutes') RETURNING id"
        ).fetchone() or (None,)
        conn.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s", (dead,))
    assert [j["status"] for j in _jobs(url)] == ["doing"]
    # The next worker to start puts it back and runs it; the generation, still pending
    # and charged once, completes.
    _app(url, engine, scripted).queue().run_worker(wait=False, install_signal_handlers=False)
    (job,) = _jobs(url)
    assert job["status"] == "succeeded" and job["queueing_lock"] == gen_id
    assert _ledger(engine)["user_dead"] == (1, 1, 0)


def test_a_worker_without_the_queue_schema_says_what_to_run(
    pg_database_factory: Callable[[], sa.URL],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url = pg_database_factory().render_as_string(hide_password=False)
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REPURPOSEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("REPURPOSEFLOW_JOBS", "procrastinate")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "run `repurposeflow db upgrade`" in err and err.count("\n") == 1


def test_an_app_serves_again_after_a_shutdown(queue_db: tuple[str, sa.Engine]) -> None:
    url, engine = queue_db
    app = _app(url, engine, ScriptedEngine())
    for i in range(2):  # each create_app has its own runner; the first one's shutdown
        with TestClient(create_app(app, http_settings())) as client:
            r = client.post(
                "/v1/generations",
                json={"content": f"{ARTICLE} Take {i}.", "platforms": ["threads"]},
                headers=auth("user_again"),
            )
            assert r.status_code == 202, r.text
    assert len(_jobs(url)) == 2


def test_retention_deletes_the_queues_old_finished_jobs(
    queue_db: tuple[str, sa.Engine],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, engine = queue_db
    app = _app(url, engine, ScriptedEngine())
    with TestClient(create_app(app, http_settings())) as client:
        for i in range(3):
            r = client.post(
                "/v1/generations",
                json={"content": f"{ARTICLE} Round {i}.", "platforms": ["threads"]},
                headers=auth("user_old"),
            )
            assert r.status_code == 202
    queue = _app(url, engine, ScriptedEngine()).queue()
    queue.run_worker(wait=False, install_signal_handlers=False)
    jobs = _jobs(url)
    assert [j["status"] for j in jobs] == ["succeeded"] * 3
    # Two finished long ago; one a minute ago.
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "UPDATE procrastinate_events SET at = now() - interval '8 days' WHERE job_id = ANY(%s)",
            ([jobs[0]["id"], jobs[1]["id"]],),
        )
    for key, value in {
        "REPURPOSEFLOW_CONFIG": str(tmp_path / "absent.toml"),
        "REPURPOSEFLOW_DATABASE_URL": url,
        "REPURPOSEFLOW_JOBS": "procrastinate",
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["retention", "run"]) == 0
    assert "finished queue jobs deleted: 2" in capsys.readouterr().out
    assert [j["id"] for j in _jobs(url)] == [jobs[2]["id"]]
    assert main(["retention", "run"]) == 0
    assert "finished queue jobs deleted: 0" in capsys.readouterr().out
