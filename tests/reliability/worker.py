"""A generation worker for the killed-worker drill: ``python -m tests.reliability.worker
URL CLERK_ID THREADS DONE`` runs scripted generations for one user, one thread each:
``DONE`` complete, then the next one stops inside the engine (its pending row and its
charge committed) and stays there until the process is killed.

It says on stdout what it has done, one line per event (``completed``, ``in
flight``), so the drill kills it on what happened, not after a guessed delay that a
busy machine can overrun.
"""

from __future__ import annotations

import sys
import threading

from repurposeflow.adapters.clock import SystemClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.sql import SqlUnitOfWork, make_engine
from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.services.repurpose import RepurposeRequest, repurpose

_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class StallingEngine(ScriptedEngine):
    """Scripted answers until told to stall; then the call announces itself and never
    returns. Odd threads stall in the analysis, even ones in a render (after the
    analysis), so the kill lands in both places."""

    def __init__(self, in_render: bool) -> None:
        super().__init__(latency=0.01)
        self.stall = False
        self._in_render = in_render

    def _hang(self) -> None:
        say("in flight")
        threading.Event().wait()

    def analyze(self, source: str, tone: Tone) -> Analysis:
        if self.stall and not self._in_render:
            self._hang()
        return super().analyze(source, tone)

    def render(self, request: RenderRequest) -> PlatformDraft:
        if self.stall and self._in_render and request.platform is Platform.LINKEDIN:
            self._hang()
        return super().render(request)


def main(url: str, clerk_id: str, threads: int, done: int) -> None:
    engine = make_engine(url, pool_size=threads + 2)

    def loop(worker: int) -> None:
        uow = SqlUnitOfWork(engine)  # one per thread: a unit of work is not thread-safe
        content = StallingEngine(in_render=worker % 2 == 0)
        for n in range(done + 1):
            content.stall = n == done
            text = f"Drill post {worker}-{n}: one long post can feed a whole week of content."
            repurpose(uow, content, SystemClock(), RepurposeRequest(clerk_id, text))
            say("completed")

    for i in range(threads):
        threading.Thread(target=loop, args=(i,), daemon=True).start()
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
