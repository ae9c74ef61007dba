"""The default job runner: a bounded pool of threads in this process.

Bounded twice: ``workers`` runs at once and at most ``max_pending`` more wait; past
that ``submit`` refuses with JobRejected instead of queueing without end. A process
that dies takes its queue with it; the stale sweep fails and refunds those runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from repurposeflow.domain.errors import JobRejected
from repurposeflow.domain.jobs import GenerationJob

log = logging.getLogger("repurposeflow.jobs")


class ThreadPoolJobRunner:
    def __init__(
        self,
        handler: Callable[[GenerationJob], object],
        *,
        workers: int = 4,
        max_pending: int = 64,
    ) -> None:
        if workers < 1 or max_pending < 0:
            raise ValueError("workers must be >= 1 and max_pending >= 0")
        self._handler = handler
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generation")
        self._slots = threading.BoundedSemaphore(workers + max_pending)
        self._closed = False

    def submit(self, job: GenerationJob) -> None:
        if self._closed:
            raise JobRejected("the server is shutting down")
        if not self._slots.acquire(blocking=False):
            raise JobRejected("too many generations are queued")
        try:
            future = self._pool.submit(self._run, job)
        except RuntimeError:  # the pool was shut down between the check and here
            self._slots.release()
            raise JobRejected("the server is shutting down") from None
        future.add_done_callback(self._release)

    def _run(self, job: GenerationJob) -> None:
        try:
            self._handler(job)
        except Exception:
            # The run's own failure path already failed and refunded it when it could;
            # anything left pending is the stale sweep's.
            log.exception("generation job %s failed", job.generation_id)

    def _release(self, _future: Future[None]) -> None:
        self._slots.release()

    def shutdown(self, *, wait: bool = True) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
