"""The procrastinate job runner over procrastinate's own InMemoryConnector: one job per
generation however often it is queued, a finished generation skipped, engine outages
retried and then settled by the refund rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from procrastinate.testing import InMemoryConnector

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.jobs.procrastinate import (
    QUEUE,
    TASK_NAME,
    ProcrastinateJobRunner,
    libpq_url,
)
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.bootstrap import App, build_job_queue, load_settings
from repurposeflow.domain.enums import GenerationStatus, Platform, UsageEventType
from repurposeflow.domain.errors import EngineUnavailable, InvalidInput, JobRejected
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import Generation
from repurposeflow.services.repurpose import (
    RepurposeRequest,
    enqueue_generation,
    start_generation,
)
from repurposeflow.services.users import ensure_user
from tests.unit._services_support import SOURCE, START

USER = "user_q"


class Harness:
    def __init__(self, engine: ScriptedEngine, *, max_retries: int = 3) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock(START)
        self.engine = engine
        self.app = App(
            settings=load_settings(
                env={}, database_url="memory://", engine="scripted", known_engines=("scripted",)
            ),
            uow_factory=self.store.uow,
            clock=self.clock,
            engine_factory=self._engine,
        )
        self.connector = InMemoryConnector()
        self.queue = build_job_queue(
            self.app, connector=self.connector, max_retries=max_retries, backoff_base_s=0
        )
        ensure_user(self.store.uow(), self.clock, clerk_user_id=USER, email="q@example.com")

    def _engine(self, name: str) -> Any:
        if name != "scripted":
            raise InvalidInput(f"Unknown engine {name!r}")
        return self.engine

    def start(self, text: str = SOURCE, **kw: Any) -> Generation:
        started = start_generation(
            self.store.uow(), self.engine, self.clock, RepurposeRequest(USER, text, **kw)
        )
        assert not started.cached
        return started.generation

    def job(self, gen: Generation, engine: str = "scripted") -> GenerationJob:
        return GenerationJob(gen.id, USER, engine)

    def enqueue(self, gen: Generation, engine: str = "scripted") -> None:
        enqueue_generation(self.store.uow(), self.clock, self.queue, self.job(gen, engine))

    def work(self, until: Callable[[], bool] | None = None, rounds: int = 20) -> None:
        """Run the worker until the queue is empty (a retried job is queued again, so
        more than one round may be needed)."""
        for _ in range(rounds):
            self.queue.run_worker(wait=False, install_signal_handlers=False)
            # The in-memory connector keeps the finished worker's listener (and its
            # closed event loop); a later defer would notify it.
            self.connector.on_notification = None
            if not self.todo():
                return
        raise AssertionError("jobs still queued after the worker ran")

    def todo(self) -> list[dict[str, Any]]:
        return [j for j in self.connector.jobs.values() if j["status"] == "todo"]

    def gen(self, gen: Generation) -> Generation:
        with self.store.uow() as uow:
            found = uow.generations.get(gen.id)
        assert found is not None
        return found

    def count(self) -> int:
        with self.store.uow() as uow:
            user = uow.users.get_by_clerk_id(USER)
        assert user is not None
        return user.generations_count_current_month

    def events(self, gen: Generation) -> list[UsageEventType]:
        rows = sorted(self.store.usage_logs.values(), key=lambda e: e.created_at)
        return [e.event_type for e in rows if e.generation_id == gen.id]


def outage() -> EngineUnavailable:
    return EngineUnavailable("the provider answered 503")


def test_queueing_one_generation_twice_makes_one_job() -> None:
    h = Harness(ScriptedEngine())
    gen = h.start()
    h.enqueue(gen)
    h.enqueue(gen)  # AlreadyEnqueued is success: it is queued
    jobs = list(h.connector.jobs.values())
    assert len(jobs) == 1
    assert jobs[0]["task_name"] == TASK_NAME
    assert jobs[0]["queue_name"] == QUEUE
    assert jobs[0]["queueing_lock"] == jobs[0]["lock"] == str(gen.id)
    assert jobs[0]["args"] == {
        "generation_id": str(gen.id),
        "clerk_user_id": USER,
        "engine": "scripted",
        "user_agent": None,
        "ip_address": None,
        "model": None,
    }
    h.work()
    assert h.gen(gen).status is GenerationStatus.COMPLETED
    assert [c for c in h.engine.calls if c[0] == "analyze"] == [("analyze", None)]
    assert h.count() == 1


def test_a_finished_generation_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(ScriptedEngine())
    gen = h.start()
    h.enqueue(gen)
    h.work()
    done = h.gen(gen)
    assert done.status is GenerationStatus.COMPLETED
    calls = len(h.engine.calls)
    # Delivered again (a retry, a re-queued job, a second submit after the first ran):
    h.enqueue(gen)
    assert len(h.todo()) == 1
    with caplog.at_level("INFO", logger="repurposeflow.jobs"):
        h.work()
    assert len(h.engine.calls) == calls  # no engine work
    assert h.gen(gen) == done
    assert h.count() == 1
    assert "no longer pending: skipped" in caplog.text
    assert all(j["status"] == "succeeded" for j in h.connector.jobs.values())


def test_an_engine_outage_is_retried_and_then_completes() -> None:
    h = Harness(ScriptedEngine(faults={"analyze": [outage(), outage()]}), max_retries=3)
    gen = h.start()
    h.enqueue(gen)
    h.work()
    assert [c for c in h.engine.calls if c[0] == "analyze"] == [("analyze", None)] * 3
    assert h.gen(gen).status is GenerationStatus.COMPLETED
    assert h.count() == 1  # charged once, kept
    events = h.events(gen)
    assert events.count(UsageEventType.GENERATION_STARTED) == 1
    assert UsageEventType.GENERATION_REFUNDED not in events
    (job,) = h.connector.jobs.values()
    assert job["status"] == "succeeded" and job["attempts"] == 3


def test_an_outage_that_outlasts_the_retries_fails_and_refunds_once() -> None:
    h = Harness(ScriptedEngine(faults={"analyze": [outage()] * 10}), max_retries=2)
    gen = h.start()
    assert h.count() == 1
    h.enqueue(gen)
    h.work()
    # The first run and two retries; the last one fails the generation itself.
    assert len([c for c in h.engine.calls if c[0] == "analyze"]) == 3
    failed = h.gen(gen)
    assert failed.status is GenerationStatus.FAILED
    assert "503" in (failed.error_message or "")
    assert h.count() == 0
    events = h.events(gen)
    assert events.count(UsageEventType.GENERATION_FAILED) == 1
    assert events.count(UsageEventType.GENERATION_REFUNDED) == 1
    (job,) = h.connector.jobs.values()
    assert job["status"] == "succeeded"  # the run ended; the generation failed


def test_an_outage_then_a_partial_result_keeps_the_charge() -> None:
    engine = ScriptedEngine(
        faults={"analyze": [ConnectionError("reset by peer")], Platform.EMAIL: ["invalid"] * 2}
    )
    h = Harness(engine)
    gen = h.start(platforms=["email", "linkedin"])
    h.enqueue(gen)
    h.work()
    partial = h.gen(gen)
    assert partial.status is GenerationStatus.PARTIAL
    assert set(partial.outputs) == {Platform.LINKEDIN}
    assert h.count() == 1
    assert UsageEventType.GENERATION_REFUNDED not in h.events(gen)


def test_an_error_that_is_not_an_outage_is_not_retried() -> None:
    h = Harness(ScriptedEngine(faults={"analyze": [ValueError("bad answer")]}))
    gen = h.start()
    h.enqueue(gen)
    h.work()
    assert len([c for c in h.engine.calls if c[0] == "analyze"]) == 1
    assert h.gen(gen).status is GenerationStatus.FAILED
    assert h.count() == 0


def test_an_engine_the_worker_lacks_fails_and_refunds() -> None:
    h = Harness(ScriptedEngine())
    gen = h.start()
    h.enqueue(gen, engine="gpt-9")
    h.work()
    failed = h.gen(gen)
    assert failed.status is GenerationStatus.FAILED
    assert "not installed" in (failed.error_message or "")
    assert h.count() == 0


def test_a_queue_that_cannot_take_the_job_refunds_it() -> None:
    h = Harness(ScriptedEngine())
    gen = h.start()

    def broken(*args: Any, **kwargs: Any) -> Any:
        from procrastinate.exceptions import ConnectorException

        raise ConnectorException("connection refused")

    h.queue.app.job_manager.defer_job = broken  # type: ignore[method-assign]
    with pytest.raises(JobRejected, match="job queue is unavailable"):
        h.enqueue(gen)
    assert h.gen(gen).status is GenerationStatus.FAILED
    assert h.count() == 0


def test_a_shut_down_runner_refuses() -> None:
    h = Harness(ScriptedEngine())
    gen = h.start()
    h.queue.shutdown()
    with pytest.raises(JobRejected):
        h.enqueue(gen)
    assert h.count() == 0


def test_the_runner_needs_one_place_to_queue() -> None:
    with pytest.raises(ValueError):
        ProcrastinateJobRunner(lambda job, *, retry_outage: True)
    with pytest.raises(ValueError):
        ProcrastinateJobRunner(
            lambda job, *, retry_outage: True,
            database_url="postgresql://x/y",
            connector=InMemoryConnector(),
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://root@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"),
        ("postgres://u:p@h/db?sslmode=require", "postgresql://u:p@h/db?sslmode=require"),
        ("postgresql://h/db", "postgresql://h/db"),
    ],
)
def test_libpq_url(url: str, expected: str) -> None:
    assert libpq_url(url) == expected


def test_libpq_url_refuses_other_databases() -> None:
    with pytest.raises(ValueError):
        libpq_url("sqlite:///x.db")


# --- the setting ------------------------------------------------------------------------


def test_jobs_defaults_to_inline() -> None:
    settings = load_settings(env={}, database_url="memory://")
    assert settings.jobs == "inline" and not settings.queued


def test_jobs_procrastinate_on_postgresql() -> None:
    settings = load_settings(
        env={"REPURPOSEFLOW_JOBS": " Procrastinate "},
        database_url="postgresql+psycopg://root@127.0.0.1/test",
    )
    assert settings.jobs == "procrastinate" and settings.queued


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "memory://"])
def test_jobs_procrastinate_is_refused_without_postgresql(url: str) -> None:
    with pytest.raises(InvalidInput, match="needs a PostgreSQL database"):
        load_settings(env={"REPURPOSEFLOW_JOBS": "procrastinate"}, database_url=url)


def test_jobs_unknown_is_refused() -> None:
    with pytest.raises(InvalidInput, match="inline, procrastinate"):
        load_settings(env={"REPURPOSEFLOW_JOBS": "celery"}, database_url="memory://")


def test_the_queue_is_refused_with_inline_jobs() -> None:
    h = Harness(ScriptedEngine())
    with pytest.raises(InvalidInput, match='jobs = "procrastinate"'):
        App(settings=h.app.settings, uow_factory=h.store.uow, clock=h.clock).queue()


# --- progress across processes: the NOTIFY payload -----------------------------------


def test_a_progress_step_survives_the_trip_through_notify() -> None:
    import uuid

    from repurposeflow.adapters.jobs.notify import decode, encode
    from repurposeflow.domain.progress import ProgressEvent, ProgressKind

    gen_id = uuid.uuid4()
    event = ProgressEvent(
        ProgressKind.PLATFORM_FAILED, Platform.EMAIL, detail="trop long ✂", violations=("a", "b")
    )
    assert decode(encode(gen_id, event)) == (gen_id, event)
    plain = ProgressEvent(ProgressKind.FINISHED, detail="completed")
    assert decode(encode(gen_id, plain)) == (gen_id, plain)


def test_a_long_step_goes_in_parts_under_the_notify_limit_and_comes_back_whole() -> None:
    import uuid

    from repurposeflow.adapters.engines.scripted import CANNED
    from repurposeflow.adapters.jobs.notify import Reassembler, decode, encode, payloads
    from repurposeflow.domain.platforms import output_from_dict
    from repurposeflow.domain.progress import ProgressEvent, ProgressKind

    gen_id = uuid.uuid4()
    post = dict(CANNED[Platform.LINKEDIN], post="🙂 Ünïcödé " * 1000)
    event = ProgressEvent(
        ProgressKind.RENDERED, Platform.LINKEDIN, output=output_from_dict(Platform.LINKEDIN, post)
    )
    parts = payloads(encode(gen_id, event))
    assert len(parts) > 1
    assert all(len(p.encode()) < 8000 for p in parts)
    # Parts of two steps interleaved (two workers) still come back whole.
    other = payloads(encode(gen_id, event))
    joined = Reassembler()
    wholes = [
        w
        for p in [x for pair in zip(parts, other, strict=True) for x in pair]
        if (w := joined.feed(p)) is not None
    ]
    assert [decode(w) for w in wholes] == [(gen_id, event), (gen_id, event)]
    # Details and violations are cut to a size; whatever is left still fits.
    huge = ProgressEvent(
        ProgressKind.REPAIRING, Platform.TWITTER, detail="é" * 50_000, violations=("x" * 5000,) * 50
    )
    parts = payloads(encode(gen_id, huge))
    assert all(len(p.encode()) < 8000 for p in parts)
    (whole,) = [w for p in parts if (w := joined.feed(p)) is not None]
    back = decode(whole)
    assert back is not None and back[1].detail == "é" * 1000 and len(back[1].violations) == 10


def test_parts_that_never_complete_are_forgotten() -> None:
    from repurposeflow.adapters.jobs.notify import Reassembler

    now = [0.0]
    joined = Reassembler(clock=lambda: now[0])
    assert joined.feed("#abc:0:2:hello ") is None
    now[0] = 120.0
    assert joined.feed("#abc:1:2:world") is None  # the first part was dropped
    assert joined.feed("#bad-header") is None
    assert joined.feed("#m:5:2:out of range") is None
    assert joined.feed('{"plain": 1}') == '{"plain": 1}'


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not json",
        "[]",
        '{"g": "nope", "k": "finished"}',
        '{"g": "%s", "k": "bogus"}' % ("0" * 32),
    ],
)
def test_a_payload_that_is_not_ours_is_ignored(payload: str) -> None:
    from repurposeflow.adapters.jobs.notify import decode

    assert decode(payload) is None


def test_progress_that_cannot_be_published_never_fails_the_run(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import psycopg

    from repurposeflow.adapters.jobs import notify
    from repurposeflow.domain.progress import ProgressEvent, ProgressKind

    attempts: list[str] = []

    def refuse(conninfo: str, **kwargs: Any) -> Any:
        attempts.append(conninfo)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(notify.psycopg, "connect", refuse)
    publisher = notify.PgProgressPublisher("postgresql://root@127.0.0.1/nothing")
    with caplog.at_level("WARNING", logger="repurposeflow.progress"):
        for _ in range(100):
            publisher.publish(uuid.uuid4(), ProgressEvent(ProgressKind.ANALYZING))
    # One attempt, then quiet for a while: a run never waits on the database per step.
    assert len(attempts) == 1
    assert caplog.text.count("not published") == 1
    publisher.close()
