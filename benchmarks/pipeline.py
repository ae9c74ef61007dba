"""Pipeline latency: six platforms through ``repurpose`` with a scripted engine that
takes L seconds a call, against the naive way (analyse, then six renders, one after
another: seven calls in a row). Reported as wall time ÷ L."""

from __future__ import annotations

import itertools

from benchmarks.report import Figure, Target
from benchmarks.timing import median_time
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.services import users
from repurposeflow.services.repurpose import RepurposeRequest, repurpose


def pipeline_latency(*, quick: bool) -> list[Figure]:
    latency = 0.03 if quick else 0.1
    runs = 3 if quick else 7
    store, clock = MemoryStore(), ManualClock()
    users.ensure_user(store.uow(), clock, clerk_user_id="bench", email="b@example.com")
    users.change_tier(store.uow(), "bench", "business")
    engine = ScriptedEngine(latency=latency)
    counter = itertools.count()

    def text() -> str:
        # A new source each run: a repeat would be answered from history at no cost.
        return f"Benchmark post {next(counter)} about writing once and posting everywhere."

    def pipeline() -> None:
        repurpose(store.uow(), engine, clock, RepurposeRequest("bench", text()))

    def naive() -> None:
        source = text()
        analysis = engine.analyze(source, Tone.CONVERSATIONAL)
        for platform in Platform:
            engine.render(RenderRequest(source, analysis.brief, platform, Tone.CONVERSATIONAL))

    ours = median_time(pipeline, runs) / latency
    baseline = median_time(naive, runs) / latency
    return [
        Figure(
            "pipeline wall time ÷ L (6 platforms)",
            ours,
            "L",
            baseline,
            "7 calls in a row",
            Target("<=", 2.2, on="value"),
            note=f"L = {latency * 1000:.0f} ms, median of {runs}",
        )
    ]
