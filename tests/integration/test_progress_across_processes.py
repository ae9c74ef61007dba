"""Progress across processes: with the durable queue, a worker (another App on the same
database, sharing nothing with the API but PostgreSQL) publishes every step with
NOTIFY; the API process LISTENs and feeds its hub, so event streams show per-platform
progress and ``Prefer: wait`` answers as soon as the run ends, as with the inline
pool."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine, upgrade_database
from repurposeflow.bootstrap import App, ensure_queue_schema, load_settings
from repurposeflow.domain.progress import ProgressEvent, ProgressKind
from repurposeflow.entrypoints.http import create_app
from repurposeflow.entrypoints.http.progress import ProgressHub
from tests.http.conftest import ARTICLE, NOW, auth, clerk_verifier, http_settings
from tests.http.test_api import _parse_sse

PLATFORMS = ["threads", "email", "linkedin"]


@pytest.fixture
def queue_url(pg_database_factory: Callable[[], sa.URL]) -> Iterator[tuple[str, sa.Engine]]:
    url = pg_database_factory().render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=5, max_overflow=20)
    upgrade_database(engine)
    ensure_queue_schema(load_settings(env={}, database_url=url, jobs="procrastinate"))
    yield url, engine
    engine.dispose()


def _app(url: str, engine: sa.Engine, scripted: ScriptedEngine) -> App:
    return App(
        settings=load_settings(
            env={},
            database_url=url,
            engine="scripted",
            known_engines=("scripted",),
            jobs="procrastinate",
        ),
        uow_factory=lambda: SqlUnitOfWork(engine),
        clock=ManualClock(NOW),
        engine_factory=lambda name: scripted,
        user_uow_factory=lambda clerk_user_id: SqlUnitOfWork(engine, acting_as=clerk_user_id),
        identity=clerk_verifier(),
    )


class Worker:
    """``repurposeflow worker`` in a thread: another App, another connection pool."""

    def __init__(self, app: App) -> None:
        self.queue = app.queue()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.queue.run_worker(
            concurrency=2,
            install_signal_handlers=False,
            fetch_job_polling_interval=0.5,
            on_started=self.started.set,
        )

    def __enter__(self) -> Worker:
        self.thread.start()
        assert self.started.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.queue.stop_worker()
        self.thread.join(30)
        assert not self.thread.is_alive()


def test_the_hub_of_the_api_process_sees_the_steps_run_elsewhere(
    queue_url: tuple[str, sa.Engine],
) -> None:
    url, engine = queue_url
    with TestClient(create_app(_app(url, engine, ScriptedEngine()), http_settings())) as client:
        r = client.post(
            "/v1/generations",
            json={"content": ARTICLE, "platforms": PLATFORMS},
            headers=auth("user_p"),
        )
        assert r.status_code == 202
        gen_id = uuid.UUID(r.json()["id"])
        seen: list[ProgressEvent] = []
        finished = threading.Event()

        def collect(event: ProgressEvent) -> None:
            seen.append(event)
            if event.kind is ProgressKind.FINISHED:
                finished.set()

        hub = client.app.state.repurposeflow.hub  # type: ignore[attr-defined]
        with hub.subscribe(gen_id, collect), Worker(_app(url, engine, ScriptedEngine())):
            assert finished.wait(30)
    kinds = [e.kind for e in seen]
    assert kinds[0] is ProgressKind.ANALYZING and kinds[-1] is ProgressKind.FINISHED
    rendered = {e.platform.value for e in seen if e.kind is ProgressKind.RENDERED and e.platform}
    assert rendered == set(PLATFORMS)
    assert seen[-1].detail == "completed"


def test_an_event_stream_shows_progress_from_a_worker_process(
    queue_url: tuple[str, sa.Engine],
) -> None:
    url, engine = queue_url
    with TestClient(create_app(_app(url, engine, ScriptedEngine()), http_settings())) as client:
        r = client.post(
            "/v1/generations",
            json={"content": ARTICLE, "platforms": PLATFORMS},
            headers=auth("user_s"),
        )
        location = r.headers["Location"]
        # The worker's engine is slow enough that the stream subscribes first.
        with Worker(_app(url, engine, ScriptedEngine(latency=0.3))):
            events = _parse_sse(client.get(location + "/events", headers=auth("user_s")).text)
    names = [name for name, _ in events]
    assert names[0] == "generation" and events[0][1]["status"] == "pending"
    assert names[-1] == "generation" and events[-1][1]["status"] == "completed"
    progress = [data for name, data in events if name == "progress"]
    rendered = {p["platform"]: p["output"] for p in progress if p["kind"] == "rendered"}
    assert set(rendered) == set(PLATFORMS)
    # Each carries its finished post, as stored.
    assert rendered == {p: events[-1][1]["outputs"][p] for p in PLATFORMS}


def test_prefer_wait_answers_when_a_worker_finishes(
    queue_url: tuple[str, sa.Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = queue_url
    delivered: list[tuple[uuid.UUID, ProgressKind]] = []
    publish = ProgressHub.publish

    def record(hub: ProgressHub, generation_id: uuid.UUID, event: ProgressEvent) -> None:
        delivered.append((generation_id, event.kind))
        publish(hub, generation_id, event)

    monkeypatch.setattr(ProgressHub, "publish", record)
    with (
        TestClient(create_app(_app(url, engine, ScriptedEngine()), http_settings())) as client,
        Worker(_app(url, engine, ScriptedEngine())),
    ):
        r = client.post(
            "/v1/generations",
            json={"content": ARTICLE, "platforms": PLATFORMS},
            headers={**auth("user_w"), "Prefer": "wait=30"},
        )
        # What woke the request: the worker's last step, delivered to this process's hub.
        finished_before_answer = (uuid.UUID(r.json()["id"]), ProgressKind.FINISHED) in delivered
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    assert finished_before_answer


def test_a_stranger_on_the_channel_is_ignored(queue_url: tuple[str, sa.Engine]) -> None:
    url, engine = queue_url
    with TestClient(create_app(_app(url, engine, ScriptedEngine()), http_settings())) as client:
        hub = client.app.state.repurposeflow.hub  # type: ignore[attr-defined]
        seen: list[ProgressEvent] = []
        gen_id = uuid.uuid4()
        with (
            hub.subscribe(gen_id, seen.append),
            psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn,
        ):
            conn.execute("SELECT pg_notify('repurposeflow_progress', 'not json')")
            conn.execute(
                "SELECT pg_notify('repurposeflow_progress', %s)",
                (f'{{"g":"{gen_id}","k":"note","p":null,"d":"hello","v":[]}}',),
            )
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                time.sleep(0.05)
    assert seen == [ProgressEvent(ProgressKind.NOTE, detail="hello")]
