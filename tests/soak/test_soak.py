"""Soak: 2 API processes and 2 worker processes (``jobs = "procrastinate"``) on one
PostgreSQL database, many users posting generations against their monthly quotas, one
worker SIGKILLed mid-way and another started in its place.

Afterwards the books must balance: every user's count equals their completed plus
partial generations, nothing is pending or queued, no generation ran twice (one
finishing usage event each, one queue job each, and only the killed worker's jobs
started more than once), and no user was admitted past their quota (the rest got
``429`` problem documents, not errors).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from benchmarks.scale import Cluster, Result, plan, send_load, wait_until_drained

from repurposeflow.adapters.jobs.procrastinate import ProcrastinateJobRunner

LIMIT = 10  # the free plan's monthly generations
# Seconds per engine call: a job is in flight long enough for the kill to find some.
LATENCY = 0.1
WORKER_CONCURRENCY = 4


def _size() -> tuple[int, int, bool]:
    """(generations sent, users, full) from REPURPOSEFLOW_SOAK_SIZE: ``G/U`` or ``full``."""
    raw = os.environ.get("REPURPOSEFLOW_SOAK_SIZE", "").strip().lower() or "60/12"
    if raw == "full":
        raw = "300/30"
    total, _, users = raw.partition("/")
    g, u = int(total), int(users or max(1, int(total) // 10))
    return g, u, g >= 300


def _requeue_stalled(url: str, seconds_since_heartbeat: float) -> int:
    """The workers' own recovery (``requeue_stalled``), asked for now with a shorter
    silence than their 60 s: still well over the 10 s between a live worker's
    heartbeats, so only a dead worker's jobs qualify."""
    runner = ProcrastinateJobRunner(lambda job, *, retry_outage: True, database_url=url)

    async def run() -> int:
        async with runner.app.open_async():
            return await runner.requeue_stalled(seconds_since_heartbeat)

    return asyncio.run(run())


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def test_two_apis_two_workers_one_killed(
    pg_database_factory: Callable[[], sa.URL], tmp_path: Path
) -> None:
    total, n_users, full = _size()
    url = pg_database_factory().render_as_string(hide_password=False)
    counts = plan(total, n_users, limit=LIMIT, over=max(1, n_users // 6))
    expected = {user: min(n, LIMIT) for user, n in counts.items()}
    admitted_total = sum(expected.values())
    assert any(n > LIMIT for n in counts.values())  # some users go over their quota

    with Cluster(url, latency=LATENCY, log_dir=tmp_path) as cluster:
        cluster.migrate()
        apis = [cluster.spawn_api(), cluster.spawn_api()]
        victim = cluster.start_worker(WORKER_CONCURRENCY)
        survivor = cluster.start_worker(WORKER_CONCURRENCY)
        apis = [cluster.wait_up(api) for api in apis]
        ports = [api.port for api in apis if api.port is not None]

        outcome: list[Result] = []
        load = threading.Thread(
            target=lambda: outcome.append(send_load(ports, counts, threads=8)), daemon=True
        )
        load.start()

        # Mid-way: a third of the work done, and the victim running some of it.
        def victim_busy() -> bool:
            return cluster.finished() >= admitted_total // 3 and bool(_doing(cluster, victim))

        _wait_for(victim_busy, 120, "a third done with the victim worker busy")
        victim.popen.kill()  # SIGKILL: no graceful shutdown, its jobs stay "doing"
        killed_at = time.monotonic()
        victim.popen.wait(timeout=30)
        stalled = _doing(cluster, victim)
        assert stalled, "the killed worker left no job behind: nothing was recovered"
        replacement = cluster.start_worker(WORKER_CONCURRENCY)

        load.join(timeout=300)
        assert not load.is_alive(), "the load generator did not finish"
        (result,) = outcome

        # The killed worker's jobs: full size waits for the workers' own recovery (60 s
        # without a heartbeat, checked every 30 s); CI asks for it as soon as the dead
        # worker's heartbeat is 20 s old.
        def recovered() -> bool:
            if not full:
                _requeue_stalled(url, seconds_since_heartbeat=20)
            return not set(stalled) & _doing_ids(cluster)

        _wait_for(recovered, 240 if full else 90, "the killed worker's jobs to be re-queued", 1)
        recovered_after = time.monotonic() - killed_at
        left = wait_until_drained(cluster, time.monotonic() + 120)
        assert left == (0, 0), f"still pending, queued: {left}"
        print(
            f"soak: {result.sent} sent by {n_users} users in {result.seconds:.1f} s, "
            f"{result.admitted_total} admitted, {dict(result.problems)}; "
            f"{len(stalled)} job(s) of the killed worker re-run "
            f"{recovered_after:.0f} s after the kill"
        )

        # The surviving workers stop cleanly on SIGTERM.
        for proc in (survivor, replacement):
            assert cluster.stop(proc) == 0, proc.output()
        for api in apis:
            assert api.popen.poll() is None, f"an API process died:\n{api.output()}"

        _check_answers(result, counts, expected)
        _check_books(cluster, result, expected, stalled)


def _doing(cluster: Cluster, proc: object) -> list[int]:
    worker_id = getattr(proc, "worker_id", None)
    rows = cluster.queue_query(
        "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s", worker_id
    )
    return [r[0] for r in rows]


def _doing_ids(cluster: Cluster) -> set[int]:
    return {
        r[0]
        for r in cluster.queue_query("SELECT id FROM procrastinate_jobs WHERE status = 'doing'")
    }


def _check_answers(result: Result, counts: dict[str, int], expected: dict[str, int]) -> None:
    """Every request got an HTTP answer: admitted up to the quota, then 429 problems."""
    assert result.errors == []
    assert result.sent == sum(counts.values())
    over = sum(counts.values()) - sum(expected.values())
    assert result.problems == Counter({"429 quota-exhausted": over} if over else {})
    for user, sent in counts.items():
        statuses = result.statuses[user]
        assert len(result.admitted[user]) == expected[user], (user, statuses)
        assert statuses[202] == expected[user], (user, statuses)  # queued, none cached
        assert statuses[429] == sent - expected[user], (user, statuses)


def _check_books(
    cluster: Cluster, result: Result, expected: dict[str, int], stalled: list[int]
) -> None:
    users = dict(cluster.query("SELECT clerk_user_id, generations_count_current_month FROM users"))
    gens = cluster.query(
        "SELECT g.id::text, u.clerk_user_id, g.status, g.charged_reset_at IS NOT NULL "
        "FROM generations g JOIN users u ON u.id = g.user_id"
    )
    by_user: dict[str, Counter[str]] = {u: Counter() for u in users}
    for _, user, status, charged in gens:
        by_user[user][status] += 1
        assert charged, f"a {status} generation of {user} is not charged"
    for user, limit_used in expected.items():
        done = by_user[user]["completed"] + by_user[user]["partial"]
        # The count equals completed + partial; nothing pending, failed or refunded.
        assert users[user] == done == limit_used, (user, users[user], by_user[user])
        assert users[user] <= 10  # never over-admitted
        assert sum(by_user[user].values()) == done
    admitted_ids = {gid for ids in result.admitted.values() for gid in ids}
    assert {g[0] for g in gens} == admitted_ids

    # One finishing usage event per generation: none ran to the end twice.
    finishing = Counter(
        gid
        for (gid,) in cluster.query(
            "SELECT generation_id::text FROM usage_logs "
            "WHERE event_type IN ('generation_completed', 'generation_partial')"
        )
    )
    assert set(finishing) == admitted_ids
    assert set(finishing.values()) == {1}

    # One queue job per generation, every one succeeded once; only the jobs the killed
    # worker held were started twice.
    jobs = cluster.queue_query(
        "SELECT j.id, j.queueing_lock, j.lock, j.status, "
        "  count(*) FILTER (WHERE e.type = 'started'), "
        "  count(*) FILTER (WHERE e.type = 'succeeded') "
        "FROM procrastinate_jobs j LEFT JOIN procrastinate_events e ON e.job_id = j.id "
        "GROUP BY j.id"
    )
    assert sorted(j[1] for j in jobs) == sorted(admitted_ids)
    for job_id, key, lock, status, started, succeeded in jobs:
        assert (key == lock, status, succeeded) == (True, "succeeded", 1), job_id
        assert started == (2 if job_id in stalled else 1), (job_id, started)
