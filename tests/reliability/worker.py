"""A generation worker for the killed-worker drill: ``python -m tests.reliability.worker
URL CLERK_ID THREADS`` runs slow scripted generations for one user until killed."""

from __future__ import annotations

import itertools
import sys
import threading

from repurposeflow.adapters.clock import SystemClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine
from repurposeflow.services.repurpose import RepurposeRequest, repurpose


def main(url: str, clerk_id: str, threads: int) -> None:
    engine = make_engine(url, pool_size=threads + 2)
    counter = itertools.count()
    lock = threading.Lock()

    def loop(worker: int) -> None:
        uow = SqlUnitOfWork(engine)  # one per thread: a unit of work is not thread-safe
        while True:
            with lock:
                n = next(counter)
            text = f"Drill post {worker}-{n}: one long post can feed a whole week of content."
            repurpose(
                uow, ScriptedEngine(latency=0.15), SystemClock(), RepurposeRequest(clerk_id, text)
            )

    for i in range(threads):
        threading.Thread(target=loop, args=(i,), daemon=True).start()
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
