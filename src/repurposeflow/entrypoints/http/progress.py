"""In-process fan-out of generation progress to whoever is waiting on it: event
streams (asyncio) and ``Prefer: wait`` requests (threads).

Jobs publish from worker threads; each subscriber's callback must be thread-safe.
A subscriber that misses events (another process ran the job) still ends: the event
stream also rereads the generation from the store now and then.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.progress import ProgressEvent

Callback = Callable[[ProgressEvent], None]


class ProgressHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[uuid.UUID, list[Callback]] = {}

    def publish(self, generation_id: uuid.UUID, event: ProgressEvent) -> None:
        with self._lock:
            callbacks = list(self._subscribers.get(generation_id, ()))
        for callback in callbacks:
            callback(event)

    def on_job_progress(self, job: GenerationJob, event: ProgressEvent) -> None:
        self.publish(job.generation_id, event)

    @contextmanager
    def subscribe(self, generation_id: uuid.UUID, callback: Callback) -> Iterator[None]:
        with self._lock:
            self._subscribers.setdefault(generation_id, []).append(callback)
        try:
            yield
        finally:
            with self._lock:
                callbacks = self._subscribers.get(generation_id, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._subscribers.pop(generation_id, None)

    def subscribers(self, generation_id: uuid.UUID) -> int:
        with self._lock:
            return len(self._subscribers.get(generation_id, ()))
