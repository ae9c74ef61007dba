"""Benchmarks: each figure is a ratio against a baseline measured in the same run,
because this machine is noisy and an absolute time means little.

    .venv/bin/python benchmarks/run.py

1. pipeline: six platforms with a 50 ms scripted engine, rendered concurrently vs
   one at a time (the design promises about two round-trips of wall time, not seven).
2. quota: one atomic reservation on SQLite vs the same on the in-memory store.
3. local engine: a ~10,000-word article vs the ~1,000-word example (scaling).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.local import LocalEngine
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.adapters.sql import SqlUnitOfWork, ensure_schema, make_engine
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.ports import UnitOfWork
from repurposeflow.domain.text import check_input
from repurposeflow.services import users
from repurposeflow.services.repurpose import RepurposeRequest, repurpose

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pipeline_ratio() -> str:
    store, clock = MemoryStore(), ManualClock()
    users.ensure_user(store.uow(), clock, clerk_user_id="bench", email="b@example.com")
    users.change_tier(store.uow(), "bench", "business")
    counter = iter(range(10**6))

    def run(concurrency: int) -> None:
        text = f"Benchmark post {next(counter)} about writing once and posting everywhere."
        repurpose(
            store.uow(),
            ScriptedEngine(latency=0.05),
            clock,
            RepurposeRequest("bench", text),
            max_concurrency=concurrency,
        )

    sequential = best_of(lambda: run(1))
    concurrent = best_of(lambda: run(6))
    return (
        f"pipeline  concurrent/sequential = {concurrent / sequential:.2f} "
        f"(ideal 2/7 = {2 / 7:.2f}; round-trips {concurrent / 0.05:.1f} vs {sequential / 0.05:.1f})"
    )


def quota_ratio() -> str:
    clock = ManualClock()

    def per_reserve(uow_factory: Callable[[], UnitOfWork], n: int = 300) -> float:
        user = users.ensure_user(uow_factory(), clock, clerk_user_id="q", email="q@example.com")
        users.change_tier(uow_factory(), "q", "business")

        def burst() -> None:
            for _ in range(n):
                uow = uow_factory()
                with uow:
                    uow.users.reserve(user.id, clock.now())
                    uow.commit()

        return best_of(burst, runs=3) / n

    memory = per_reserve(MemoryStore().uow)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        ensure_schema(engine)
        sqlite = per_reserve(SqlUnitOfWork(engine))
        engine.dispose()
    return f"quota     sqlite/memory per reservation = {sqlite / memory:.1f}x"


def engine_ratio() -> str:
    example = check_input((ROOT / "examples" / "blog-post.md").read_text(encoding="utf-8"))
    paragraphs = [p for p in example.split("\n\n") if len(p.split()) > 20]
    parts: list[str] = []
    while sum(len(p.split()) for p in parts) < 10_000:
        parts.append(f"{paragraphs[len(parts) % len(paragraphs)]} Note {len(parts)}.")
    long_text = "\n\n".join(parts)
    long_text = check_input(long_text)

    def full(text: str) -> None:
        engine = LocalEngine()  # a fresh engine: no per-source cache carried over
        analysis = engine.analyze(text, Tone.CONVERSATIONAL)
        for platform in Platform:
            engine.render(RenderRequest(text, analysis.brief, platform, Tone.CONVERSATIONAL))

    short = best_of(lambda: full(example), runs=3)
    long = best_of(lambda: full(long_text), runs=3)
    words = len(long_text.split()) / len(example.split())
    return (
        f"engine    {len(long_text.split())}-word article/example = {long / short:.1f}x "
        f"for {words:.1f}x the words"
    )


def main() -> int:
    for figure in (pipeline_ratio, quota_ratio, engine_ratio):
        print(figure(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
