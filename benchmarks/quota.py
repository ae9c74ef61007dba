"""Quota: what a reservation costs, how many PostgreSQL takes per second from 16
connections, and whether anything over-admits under a storm.

- ``sqlite/memory``: one atomic reservation on SQLite vs the in-memory store.
- ``throughput``: reservations per second through ``SqlUnitOfWork`` from 16 threads
  over 10,000 users, against ``pgbench``'s built-in simple-update script (16 clients)
  on the same server, same run.
- ``over-admissions``: 16 threads hammer users with a limit of 10, three attempts per
  unit; ours (one conditional UPDATE) against the seed's ``check_user_quota`` followed,
  when the generation completes, by the seed trigger's increment.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import re
import resource
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa

from benchmarks import pg
from benchmarks.report import Figure, Target, not_measured
from benchmarks.timing import median_time
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.adapters.sql import SqlUnitOfWork, ensure_schema, make_engine
from repurposeflow.domain.ports import UnitOfWork
from repurposeflow.domain.quota import next_reset
from repurposeflow.services import users

THREADS = 16

# The seed's function, verbatim (database-schema.md, "Check user quota before
# generation"); the increment is the body of its completion trigger.
SEED_CHECK = """
CREATE OR REPLACE FUNCTION check_user_quota(p_user_id UUID)
RETURNS BOOLEAN AS $$
DECLARE
  v_count INTEGER;
  v_limit INTEGER;
  v_reset_at TIMESTAMP WITH TIME ZONE;
BEGIN
  SELECT generations_count_current_month, generations_limit, usage_reset_at
  INTO v_count, v_limit, v_reset_at
  FROM users WHERE id = p_user_id;
  IF v_reset_at < NOW() THEN
    UPDATE users SET generations_count_current_month = 0,
      usage_reset_at = date_trunc('month', NOW() + INTERVAL '1 month')
    WHERE id = p_user_id;
    RETURN TRUE;
  END IF;
  RETURN v_count < v_limit;
END;
$$ LANGUAGE plpgsql;
"""
SEED_INCREMENT = (
    "UPDATE users SET generations_count_current_month = generations_count_current_month + 1,"
    " last_generation_at = NOW() WHERE id = %s"
)


def sqlite_vs_memory(*, quick: bool) -> list[Figure]:
    clock = ManualClock()
    n = 100 if quick else 300

    def per_reserve(uow_factory: Callable[[], UnitOfWork]) -> float:
        user = users.ensure_user(uow_factory(), clock, clerk_user_id="q", email="q@example.com")
        users.change_tier(uow_factory(), "q", "business")

        def burst() -> None:
            for _ in range(n):
                with uow_factory() as uow:
                    uow.users.reserve(user.id, clock.now())
                    uow.commit()

        return median_time(burst, 3) / n

    memory = per_reserve(MemoryStore().uow)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        ensure_schema(engine)
        sqlite = per_reserve(SqlUnitOfWork(engine))
        engine.dispose()
    return [
        Figure(
            "reservation, SQLite file",
            sqlite * 1e6,
            "µs",
            memory * 1e6,
            "in-memory store",
            note="one transaction each, WAL, synchronous=NORMAL",
        )
    ]


# --- PostgreSQL -------------------------------------------------------------------------


def _load_users(url: sa.URL, count: int, limit: int, prefix: str) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    reset = next_reset(datetime.now(UTC))
    with psycopg.connect(pg.libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY users (id, clerk_user_id, email, generations_limit, subscription_tier,"
            " usage_reset_at) FROM STDIN"
        ) as copy:
            tier = "business" if limit > 500 else "free"
            for i, uid in enumerate(ids):
                copy.write_row(
                    (uid, f"{prefix}_{i}", f"{prefix}{i}@example.com", limit, tier, reset)
                )
        cur.execute("ANALYZE users")
    return ids


def _run_threads(work: Callable[[], None], threads: int) -> None:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # reported after join
            errors.append(exc)

    pool = [threading.Thread(target=guarded) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def _reserve_for(
    engine: sa.Engine,
    ids: list[uuid.UUID],
    seconds: float,
    threads: int,
    ready: Callable[[], None] = lambda: None,
) -> tuple[int, float]:
    """(reservations, seconds taken) by ``threads`` threads, once all are connected."""
    done: list[int] = []
    lock = threading.Lock()
    now = datetime.now(UTC)
    connected = threading.Barrier(threads, action=ready)
    window: list[float] = []

    def worker() -> None:
        rng = random.Random()
        uow_factory = SqlUnitOfWork(engine)
        with uow_factory() as uow:  # connected, statements prepared
            uow.users.reserve(rng.choice(ids), now)
            uow.commit()
        connected.wait()
        with lock:
            if not window:
                window.append(time.perf_counter() + seconds)
        stop_at = window[0]
        n = 0
        while time.perf_counter() < stop_at:
            with uow_factory() as uow:
                if uow.users.reserve(rng.choice(ids), now) is None:
                    raise AssertionError("a business user ran out of quota")
                uow.commit()
            n += 1
        with lock:
            done.append(n)

    _run_threads(worker, threads)
    # From the moment all were connected to the last one's finish.
    return sum(done), time.perf_counter() - (window[0] - seconds)


def _child(
    url: str, ids: list[uuid.UUID], seconds: float, threads: int, barrier: Any, results: Any
) -> None:
    engine = make_engine(url, pool_size=threads)
    try:
        results.put(_reserve_for(engine, ids, seconds, threads, ready=barrier.wait))
    finally:
        engine.dispose()


def reservations_per_second(
    url: sa.URL, ids: list[uuid.UUID], seconds: float, *, processes: int = 1
) -> tuple[float, float | None]:
    """(reservations/s, client CPU ms per reservation; None with several processes).
    16 connections in all: one process with 16 threads, or several sharing them.
    The engine is the library's default (``make_engine(url)``) for one process."""
    target = url.render_as_string(hide_password=False)
    if processes == 1:
        engine = make_engine(target)
        cpu = time.process_time()
        try:
            count, elapsed = _reserve_for(engine, ids, seconds, THREADS)
        finally:
            engine.dispose()
        return count / elapsed, (time.process_time() - cpu) * 1000 / max(count, 1)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(
            target=_child, args=(target, ids, seconds, THREADS // processes, barrier, results)
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120 + seconds) for _ in children]
    for child in children:
        child.join()
    return sum(count for count, _ in outcomes) / max(elapsed for _, elapsed in outcomes), None


def pgbench_tps(
    exe: str, url: sa.URL, seconds: float, clients: int = THREADS
) -> tuple[float, float]:
    """(transactions/s, pgbench's CPU ms per transaction) of pgbench's simple-update
    (UPDATE accounts, SELECT, INSERT history; no branch or teller contention)."""
    args = ["-n", "-b", "simple-update", "-c", str(clients), "-j", "2"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [exe, *args, "-T", str(max(1, round(seconds))), pg.libpq_url(url)],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if match is None:
        raise RuntimeError(f"unexpected pgbench output: {result.stdout[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    tps = float(match.group(1))
    return tps, cpu * 1000 / max(tps * max(1, round(seconds)), 1)


def _storm(ids: list[uuid.UUID], attempts_per_user: int) -> queue.SimpleQueue[uuid.UUID]:
    # Each user's attempts back to back, so all 16 threads hit the same row at once.
    work: queue.SimpleQueue[uuid.UUID] = queue.SimpleQueue()
    for uid in ids:
        for _ in range(attempts_per_user):
            work.put(uid)
    return work


def _drain(work: queue.SimpleQueue[uuid.UUID], admit: Callable[[uuid.UUID], bool]) -> Counter:
    admitted: Counter[uuid.UUID] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                uid = work.get_nowait()
            except queue.Empty:
                return
            if admit(uid):
                with lock:
                    admitted[uid] += 1

    _run_threads(worker, THREADS)
    return admitted


def over_admissions_ours(engine: sa.Engine, ids: list[uuid.UUID], limit: int) -> int:
    now = datetime.now(UTC)
    uow_factory = SqlUnitOfWork(engine)

    def admit(uid: uuid.UUID) -> bool:
        with uow_factory() as uow:
            ok = uow.users.reserve(uid, now) is not None
            uow.commit()
        return ok

    admitted = _drain(_storm(ids, 3 * limit), admit)
    return sum(max(0, n - limit) for n in admitted.values())


def over_admissions_seed(url: sa.URL, ids: list[uuid.UUID], limit: int, work_seconds: float) -> int:
    """The seed's flow: check, generate (``work_seconds``), count on completion."""
    with psycopg.connect(pg.libpq_url(url), autocommit=True) as conn:
        conn.execute(SEED_CHECK)
    local = threading.local()

    def admit(uid: uuid.UUID) -> bool:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(pg.libpq_url(url), autocommit=True)
        conn: psycopg.Connection[Any] = local.conn
        allowed = conn.execute("SELECT check_user_quota(%s)", (uid,)).fetchone()
        if not allowed or not allowed[0]:
            return False
        time.sleep(work_seconds)  # the generation; a real one takes seconds
        conn.execute(SEED_INCREMENT, (uid,))
        return True

    admitted = _drain(_storm(ids, 3 * limit), admit)
    return sum(max(0, n - limit) for n in admitted.values())


def postgres_quota(*, quick: bool) -> list[Figure]:
    why = pg.available()
    if why:
        return [not_measured("quota throughput, PostgreSQL", f"no server ({why})")]
    seconds = 1.0 if quick else 5.0
    rounds = 1 if quick else 3
    pgbench_exe = pg.pg_tool("pgbench")
    storm_users = 20 if quick else 200
    figures: list[Figure] = []
    with pg.throwaway_database() as url:
        owner = make_engine(url.render_as_string(hide_password=False))
        ensure_schema(owner)
        owner.dispose()
        ids = _load_users(url, 10_000, 999_999, "user")
        hot = _load_users(url, storm_users, 10, "ours")
        reservations_per_second(url, ids, 0.5)  # warm the server's caches
        if pgbench_exe:
            init = [pgbench_exe, "-i", "-q", "-s", "1", pg.libpq_url(url)]
            subprocess.run(init, check=True, capture_output=True)
        # Alternate the runs: this machine is shared and its load drifts.
        ours: list[float] = []
        ours_cpu: list[float] = []
        two: list[float] = []
        bench: list[float] = []
        bench_cpu: list[float] = []
        for _ in range(rounds):
            rate, cpu = reservations_per_second(url, ids, seconds)
            ours.append(rate)
            ours_cpu.append(cpu or 0.0)
            if not quick:  # starting processes takes longer than the quick run
                two.append(reservations_per_second(url, ids, seconds, processes=2)[0])
            if pgbench_exe:
                tps, cpu = pgbench_tps(pgbench_exe, url, seconds)
                bench.append(tps)
                bench_cpu.append(cpu)
        baseline = statistics.median(bench) if bench else None
        # Client CPU seconds per second: near 1.0, one Python process (one GIL) is the limit.
        busy = statistics.median(ours_cpu) * statistics.median(ours) / 1000
        if baseline is None:
            figures.append(not_measured("pgbench", "pgbench not found (postgresql-client)"))
        else:
            figures.append(
                Figure(
                    "reservations/s, PostgreSQL, 16 threads",
                    statistics.median(ours),
                    "/s",
                    baseline,
                    "pgbench simple-update, 16 clients",
                    Target(">=", 0.5),
                    note=(
                        f"one process; 10,000 users; median of {rounds} x {seconds:.0f} s;"
                        f" client CPU {statistics.median(ours_cpu):.2f} ms/reservation"
                        f" (pgbench {statistics.median(bench_cpu):.3f} ms/transaction),"
                        f" client busy {busy:.2f} of a core"
                    ),
                    details={
                        "client_cpu_ms_per_reservation": statistics.median(ours_cpu),
                        "pgbench_cpu_ms_per_transaction": statistics.median(bench_cpu),
                    },
                )
            )
        if baseline is not None and two:
            figures.append(
                Figure(
                    "reservations/s, PostgreSQL, 2 proc x 8 threads",
                    statistics.median(two),
                    "/s",
                    baseline,
                    "pgbench simple-update, 16 clients",
                    Target(">=", 0.5),
                    note="two app processes sharing the database",
                )
            )
        engine = make_engine(url.render_as_string(hide_password=False), pool_size=THREADS)
        try:
            over = over_admissions_ours(engine, hot, 10)
        finally:
            engine.dispose()
        seed_hot = _load_users(url, storm_users, 10, "seed")
        seed_over = over_admissions_seed(url, seed_hot, 10, 0.002)
        figures.append(
            Figure(
                "over-admissions, 16-thread storm",
                over,
                "",
                seed_over,
                "seed check-then-increment",
                Target("<=", 0, on="value"),
                note=f"{storm_users} users x limit 10 x 3 attempts; seed: 2 ms generation",
            )
        )
    return figures
