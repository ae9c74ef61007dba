"""The durable job runner: procrastinate on the PostgreSQL the store already uses.

``submit`` defers one ``run_generation`` job per generation, after the reservation has
committed; ``repurposeflow worker`` processes (any number, on any machine) run them.

- **At most once waiting:** the job's ``queueing_lock`` is the generation id, so a
  second submit while the first still waits is refused by the database
  (``AlreadyEnqueued``), which is success here: the generation is queued.
- **At most once at a time:** its ``lock`` is the generation id too, so two workers
  never run one generation together (a retried or re-queued job waits its turn).
- **A finished generation is skipped:** the handler (the service's ``run_generation``)
  does nothing for a generation no longer pending, and says so; this adapter logs it.
- **Engine outages are retried** with exponential backoff (``EngineUnavailable``;
  the generation stays pending and charged meanwhile). The last attempt runs with
  no retry left, so the service fails and refunds it as any failed run.
- **A worker that dies** leaves its job ``doing``; every worker re-queues the jobs of
  workers whose heartbeat stopped (``requeue_stalled``), and the generation, still
  pending, runs again. Whatever was never picked up is the stale sweep's (fail and
  refund after 15 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import procrastinate
from procrastinate import exceptions as pexc
from procrastinate.app import WorkerOptions
from procrastinate.schema import SchemaManager

from repurposeflow.domain.errors import EngineUnavailable, JobRejected
from repurposeflow.domain.jobs import GenerationJob

log = logging.getLogger("repurposeflow.jobs")

TASK_NAME = "repurposeflow.run_generation"
QUEUE = "generations"
# Attempts after the first; waits 2, 4, 8, 16, 32 s: about a minute in all, far inside
# the stale sweep's 15 minutes (a run still waiting then is failed and refunded).
MAX_RETRIES = 5
BACKOFF_BASE_S = 2
# A worker re-queues the jobs of workers silent this long (heartbeats every 10 s).
STALLED_AFTER_S = 60
STALLED_CHECK_S = 30
# Finished jobs are kept this long (what ran, how often), then `retention run` deletes them.
FINISHED_KEPT_HOURS = 7 * 24
# Two processes applying the schema at once take turns on this lock.
_SCHEMA_LOCK = 0x52504651  # "RPFQ"


class JobHandler(Protocol):
    """Runs one generation job; returns False when there was nothing to do (the
    generation was no longer pending). Raises EngineUnavailable (only when
    ``retry_outage``) to be tried again later."""

    def __call__(self, job: GenerationJob, *, retry_outage: bool) -> bool: ...


def libpq_url(database_url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy's spelling) as libpq wants it."""
    converted, n = re.subn(r"^postgres(?:ql)?(?:\+psycopg)?://", "postgresql://", database_url)
    if not n:
        raise ValueError("the procrastinate job queue needs a postgresql:// database URL")
    return converted


class ProcrastinateJobRunner:
    """A JobRunner (``submit``/``shutdown``) that defers to procrastinate, and the
    worker that runs what was deferred (``run_worker``)."""

    def __init__(
        self,
        handler: JobHandler,
        *,
        database_url: str | None = None,
        connector: Any | None = None,
        max_retries: int = MAX_RETRIES,
        backoff_base_s: int = BACKOFF_BASE_S,
    ) -> None:
        if (database_url is None) == (connector is None):
            raise ValueError("give exactly one of database_url and connector")
        self._handler = handler
        self._conninfo = libpq_url(database_url) if database_url is not None else None
        self.max_retries = max_retries
        if connector is None:
            connector = procrastinate.PsycopgConnector(
                conninfo=self._conninfo, min_size=1, max_size=4
            )
        self.app = procrastinate.App(connector=connector)
        self._task = self.app.task(
            name=TASK_NAME,
            queue=QUEUE,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=max_retries,
                exponential_wait=backoff_base_s,
                retry_exceptions=[EngineUnavailable],
            ),
        )(self._run)
        self._opened = False
        self._open_lock = threading.Lock()
        self._closed = False
        self._worker: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None

    # --- the API side ---------------------------------------------------------------

    def _open(self) -> None:
        with self._open_lock:
            if not self._opened:
                self.app.open()
                self._opened = True

    def submit(self, job: GenerationJob) -> None:
        if self._closed:
            raise JobRejected("the server is shutting down")
        key = str(job.generation_id)
        try:
            self._open()
            self._task.configure(lock=key, queueing_lock=key).defer(
                generation_id=key,
                clerk_user_id=job.clerk_user_id,
                engine=job.engine,
                user_agent=job.user_agent,
                ip_address=job.ip_address,
                model=job.model,
            )
        except pexc.AlreadyEnqueued:
            log.info("generation %s is already queued", key)
        except pexc.ProcrastinateException as exc:
            log.exception("could not queue generation %s", key)
            raise JobRejected(f"the job queue is unavailable: {_cause(exc)}") from exc

    def shutdown(self, *, wait: bool = True) -> None:
        """Nothing runs here; close the connection pool. Queued jobs stay queued."""
        self._closed = True
        with self._open_lock:
            if self._opened:
                self.app.close()
                self._opened = False

    # --- the worker side ------------------------------------------------------------

    def _run(
        self,
        context: procrastinate.JobContext,
        *,
        generation_id: str,
        clerk_user_id: str,
        engine: str,
        user_agent: str | None = None,
        ip_address: str | None = None,
        model: str | None = None,
    ) -> None:
        job = GenerationJob(
            uuid.UUID(generation_id), clerk_user_id, engine, user_agent, ip_address, model
        )
        attempts = context.job.attempts if context.job is not None else 0
        retry_outage = attempts < self.max_retries
        try:
            ran = self._handler(job, retry_outage=retry_outage)
        except EngineUnavailable as exc:
            log.warning(
                "generation %s: engine unavailable (attempt %d of %d), retrying: %s",
                generation_id,
                attempts + 1,
                self.max_retries + 1,
                exc,
            )
            raise
        if not ran:
            log.info("generation %s is no longer pending: skipped", generation_id)

    def run_worker(
        self,
        *,
        concurrency: int = 1,
        wait: bool = True,
        install_signal_handlers: bool = True,
        shutdown_graceful_timeout: float | None = None,
        fetch_job_polling_interval: float = 5.0,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        """Run jobs until stopped (SIGINT/SIGTERM: take no new job, let the running ones
        finish, then return). ``wait=False``: return once the queue is empty (tests)."""
        asyncio.run(
            self.run_worker_async(
                concurrency=concurrency,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                shutdown_graceful_timeout=shutdown_graceful_timeout,
                fetch_job_polling_interval=fetch_job_polling_interval,
                on_started=on_started,
            )
        )

    async def run_worker_async(
        self,
        *,
        concurrency: int = 1,
        wait: bool = True,
        install_signal_handlers: bool = True,
        shutdown_graceful_timeout: float | None = None,
        fetch_job_polling_interval: float = 5.0,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        current = asyncio.current_task()
        if current is not None:
            self._worker = (asyncio.get_running_loop(), current)
        try:
            await self._work(
                concurrency=concurrency,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                shutdown_graceful_timeout=shutdown_graceful_timeout,
                fetch_job_polling_interval=fetch_job_polling_interval,
                on_started=on_started,
            )
        except asyncio.CancelledError:
            if current is None or not current.cancelling():
                raise
            # stop_worker(): the running jobs have finished; a normal return.
            current.uncancel()
        finally:
            self._worker = None

    def stop_worker(self) -> None:
        """Stop ``run_worker`` from another thread as SIGTERM would: no new job, the
        running ones finish, then it returns."""
        worker = self._worker
        if worker is not None:
            loop, task = worker
            loop.call_soon_threadsafe(task.cancel)

    async def _work(
        self,
        *,
        concurrency: int,
        wait: bool,
        install_signal_handlers: bool,
        shutdown_graceful_timeout: float | None,
        fetch_job_polling_interval: float,
        on_started: Callable[[], None] | None,
    ) -> None:
        with self._worker_connector(concurrency):
            async with self.app.open_async():
                await self.requeue_stalled()
                watcher = asyncio.create_task(self._watch_stalled()) if wait else None
                if on_started is not None:
                    on_started()
                options: WorkerOptions = {
                    "queues": [QUEUE],
                    "concurrency": concurrency,
                    "wait": wait,
                    "install_signal_handlers": install_signal_handlers,
                    "fetch_job_polling_interval": fetch_job_polling_interval,
                    "name": "repurposeflow-worker",
                }
                if shutdown_graceful_timeout is not None:
                    options["shutdown_graceful_timeout"] = shutdown_graceful_timeout
                try:
                    await self.app.run_worker_async(**options)
                finally:
                    if watcher is not None:
                        watcher.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await watcher

    @contextlib.contextmanager
    def _worker_connector(self, concurrency: int) -> Any:
        """A pool sized for ``concurrency`` jobs plus the worker's own connections
        (listen/notify, heartbeat, fetching)."""
        if self._conninfo is None:
            yield
            return
        connector = procrastinate.PsycopgConnector(
            conninfo=self._conninfo, min_size=1, max_size=concurrency + 4
        )
        with self.app.replace_connector(connector):
            yield

    async def requeue_stalled(self, seconds_since_heartbeat: float = STALLED_AFTER_S) -> int:
        """Put back the jobs that workers which stopped sending heartbeats (killed,
        machine lost) left running; returns how many."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=seconds_since_heartbeat
        )
        count = 0
        for job in stalled:
            log.warning("re-queueing job %s of a stalled worker (%s)", job.id, job.call_string)
            await manager.retry_job(job)
            count += 1
        return count

    async def _watch_stalled(self) -> None:
        while True:
            await asyncio.sleep(STALLED_CHECK_S)
            try:
                await self.requeue_stalled()
            except pexc.ProcrastinateException:
                log.exception("could not check for stalled jobs")

    # --- schema ---------------------------------------------------------------------

    def ensure_schema(self) -> bool:
        """Apply procrastinate's schema unless it is there; True when it was applied.
        Safe to run from several processes at once."""
        import psycopg

        if self._conninfo is None:
            raise ValueError("ensure_schema needs a database URL")
        with psycopg.connect(self._conninfo) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
            if row is not None and row[0]:
                return False
            conn.execute(SchemaManager.get_schema())
            return True

    def purge_finished(self, *, older_than_hours: int = FINISHED_KEPT_HOURS) -> int:
        """Delete this task's finished jobs (succeeded, failed, cancelled, aborted)
        whose last event is older than ``older_than_hours``; returns how many. The
        generations themselves keep every outcome; the rows only show what ran."""
        import psycopg

        if self._conninfo is None:
            raise ValueError("purge_finished needs a database URL")
        with psycopg.connect(self._conninfo) as conn, conn.transaction():
            cur = conn.execute(
                """
                DELETE FROM procrastinate_jobs AS job
                 WHERE job.task_name = %(task)s
                   AND job.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
                   AND NOT EXISTS (
                         SELECT 1 FROM procrastinate_events AS event
                          WHERE event.job_id = job.id
                            AND event.at >= now() - make_interval(hours => %(hours)s))
                """,
                {"task": TASK_NAME, "hours": older_than_hours},
            )
            return cur.rowcount

    def schema_present(self) -> bool:
        import psycopg

        if self._conninfo is None:
            return True
        with psycopg.connect(self._conninfo) as conn:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
            return bool(row and row[0])


def _cause(exc: BaseException) -> str:
    """The driver's words under procrastinate's wrapper, on one line."""
    inner = exc.__cause__ or exc.__context__ or exc
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__
