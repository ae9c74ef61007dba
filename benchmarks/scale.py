"""Scale-out on PostgreSQL: API processes and ``worker`` processes against one database,
driven by many signed-in users at once (a thread pool of httpx clients).

The soak test (``tests/soak``) and the throughput figure both use it:

- ``Cluster`` starts ``benchmarks.scale_app serve`` / ``worker`` processes (the real
  app and worker with the scripted engine) on one database, SIGKILLs or stops them,
  and keeps each one's output in a log file.
- ``send_load`` posts generations for many users, round-robin over the API processes
  (a proxy's job), signed in with Clerk session tokens this module signs (the servers
  verify them offline against ``CLERK_JWT_KEY``, as in production).
- ``scale_figures`` is the benchmark group ``scale``: generations per second through
  2 API + 2 worker processes (``jobs = "procrastinate"``) against the same load on one
  API process running them on its inline thread pool, in the same run.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks import pg
from benchmarks.report import Figure, not_measured

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("threads", "email")

# --- sign-in -----------------------------------------------------------------------


@functools.cache
def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem() -> str:
    """What the servers get as ``CLERK_JWT_KEY``."""
    return (
        _private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@functools.cache
def session_token(clerk_user_id: str) -> str:
    now = int(time.time())
    claims = {"sub": clerk_user_id, "iat": now, "nbf": now - 5, "exp": now + 3600}
    return jwt.encode(claims, _private_key(), algorithm="RS256")


# --- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    kind: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    worker_id: int | None = None  # procrastinate's id for a worker process

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Cluster:
    """Processes of ``benchmarks.scale_app`` on one database; every one is stopped on
    the way out (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        database_url: str,
        *,
        jobs: str = "procrastinate",
        latency: float = 0.0,
        log_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.jobs = jobs
        self._tmp = tempfile.TemporaryDirectory(prefix="rf-scale-")
        self.log_dir = log_dir or Path(self._tmp.name)
        self.procs: list[Proc] = []
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "src"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "REPURPOSEFLOW_CONFIG": str(Path(self._tmp.name) / "absent.toml"),
            "REPURPOSEFLOW_HOME": self._tmp.name,
            "REPURPOSEFLOW_DATABASE_URL": database_url,
            "REPURPOSEFLOW_ENGINE": "scripted",
            "REPURPOSEFLOW_JOBS": jobs,
            "REPURPOSEFLOW_RATE_LIMIT_IP": "10000000/minute",
            "REPURPOSEFLOW_RATE_LIMIT_USER": "10000000/minute",
            "REPURPOSEFLOW_SCRIPTED_LATENCY": str(latency),
            "CLERK_JWT_KEY": public_pem(),
            **(extra_env or {}),
        }
        for key in ("REPURPOSEFLOW_DEV_USER", "REPURPOSEFLOW_TIER", "STRIPE_SECRET_KEY"):
            self.env.pop(key, None)

    @property
    def conninfo(self) -> str:
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def migrate(self) -> None:
        """What ``repurposeflow db upgrade`` does: our migrations, then the queue's
        schema (procrastinate's) with ``jobs = "procrastinate"``."""
        from repurposeflow.bootstrap import ensure_queue_schema, load_settings, migrate

        settings = load_settings(env={}, database_url=self.database_url, jobs=self.jobs)
        migrate(settings)
        ensure_queue_schema(settings)

    def _spawn(self, kind: str, argv: list[str], port: int | None = None) -> Proc:
        log = self.log_dir / f"{kind}-{len(self.procs)}.log"
        with log.open("wb") as fh:
            popen = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.scale_app", *argv],
                cwd=ROOT,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(kind, popen, log, port=port)
        self.procs.append(proc)
        return proc

    def spawn_api(self) -> Proc:
        """An API process (``repurposeflow serve`` with the scripted engine), started
        but not yet waited for: see ``wait_up``."""
        port = free_port()
        return self._spawn("api", ["serve", "--port", str(port)], port)

    def wait_up(self, proc: Proc, timeout: float = 90) -> Proc:
        deadline = time.monotonic() + timeout
        while True:
            if proc.popen.poll() is not None:
                raise RuntimeError(
                    f"the API process exited ({proc.popen.returncode}):\n{proc.output()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{proc.port}/healthz", timeout=1).status_code < 500:
                    return proc
            if time.monotonic() > deadline:
                raise TimeoutError(f"the API process is not answering:\n{proc.output()}")
            time.sleep(0.1)

    def start_apis(self, n: int) -> list[Proc]:
        procs = [self.spawn_api() for _ in range(n)]
        return [self.wait_up(p) for p in procs]

    def start_worker(self, concurrency: int = 4, timeout: float = 90) -> Proc:
        """A worker process, and the id procrastinate registered it under (the one new
        row of ``procrastinate_workers``: workers are started one at a time)."""
        before = self.worker_ids()
        proc = self._spawn("worker", ["worker", "--concurrency", str(concurrency)])
        deadline = time.monotonic() + timeout
        while True:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"the worker exited ({proc.popen.returncode}):\n{proc.output()}")
            new = self.worker_ids() - before
            if new:
                proc.worker_id = max(new)
                return proc
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker did not register:\n{proc.output()}")
            time.sleep(0.1)

    def worker_ids(self) -> set[int]:
        return {row[0] for row in self.queue_query("SELECT id FROM procrastinate_workers")}

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read our tables as the trusted system role (they all force row security)."""
        with psycopg.connect(self.conninfo, autocommit=False) as conn:
            conn.execute("SELECT set_config('role', 'repurposeflow_system', true)")
            return list(conn.execute(sql, params or None).fetchall())

    def queue_query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the queue's tables (procrastinate's: the migrating role's, no row
        security) as the login role."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return list(conn.execute(sql, params or None).fetchall())

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        proc.popen.send_signal(sig)
        proc.popen.wait(timeout=30)

    def stop(self, proc: Proc, timeout: float = 30) -> int:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        return proc.popen.returncode

    def close(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        self._tmp.cleanup()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the books ------------------------------------------------------------------

    def outstanding(self) -> tuple[int, int]:
        """(generations pending, queue jobs waiting or running)."""
        ((pending,),) = self.query("SELECT count(*) FROM generations WHERE status = 'pending'")
        jobs = 0
        if self.jobs == "procrastinate":
            ((jobs,),) = self.queue_query(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            )
        return pending, jobs

    def finished(self) -> int:
        ((done,),) = self.query("SELECT count(*) FROM generations WHERE status <> 'pending'")
        return int(done)


# --- load ----------------------------------------------------------------------------


@dataclass
class Result:
    """What the API answered, per user."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    admitted: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    problems: Counter[str] = field(default_factory=Counter)  # code of each 4xx/5xx
    errors: list[str] = field(default_factory=list)  # no HTTP answer, or not a problem
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())

    @property
    def admitted_total(self) -> int:
        return sum(len(v) for v in self.admitted.values())


def plan(total: int, users: int, *, limit: int = 10, over: int = 0) -> dict[str, int]:
    """How many generations each user sends: ``over`` users send ``limit + 3`` (three
    over their monthly quota), the rest share what is left round-robin."""
    over = min(over, users)
    counts = {f"user_{i:03d}": 0 for i in range(users)}
    names = list(counts)
    for name in names[:over]:
        counts[name] = limit + 3
    left = max(0, total - sum(counts.values()))
    rest = names[over:] or names
    for name in itertools.islice(itertools.cycle(rest), left):
        counts[name] += 1
    return counts


def send_load(
    ports: Sequence[int],
    counts: dict[str, int],
    *,
    threads: int = 8,
    on_answer: Callable[[], None] | None = None,
) -> Result:
    """POST every user's generations (interleaved across users, round-robin across
    ``ports``) from ``threads`` threads, each with its own keep-alive clients."""
    requests = [(user, i) for i in range(max(counts.values(), default=0)) for user in counts]
    requests = [(user, i) for user, i in requests if i < counts[user]]
    result = Result()
    lock = threading.Lock()
    local = threading.local()
    opened: list[httpx.Client] = []
    for user in counts:
        session_token(user)  # sign before the clock starts

    def client(port: int) -> httpx.Client:
        clients = getattr(local, "clients", None)
        if clients is None:
            clients = local.clients = {}
        if port not in clients:
            clients[port] = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
            with lock:
                opened.append(clients[port])
        return clients[port]

    def one(n: int) -> None:
        user, i = requests[n]
        port = ports[n % len(ports)]
        body = {
            "content": f"Post {i} by {user}: one long essay can feed a whole week of "
            "posts on every platform. Pull the core message out first, then shape it "
            "for each place you publish, and keep the facts from the source.",
            "platforms": list(PLATFORMS),
        }
        try:
            r = client(port).post(
                "/v1/generations",
                json=body,
                headers={"Authorization": f"Bearer {session_token(user)}"},
            )
        except httpx.HTTPError as exc:
            with lock:
                result.errors.append(f"{user} #{i} on :{port}: {type(exc).__name__}: {exc}")
            return
        with lock:
            result.statuses[user][r.status_code] += 1
            if r.status_code in (200, 202):
                result.admitted[user].append(r.json()["id"])
            elif r.headers.get("content-type", "").startswith("application/problem+json"):
                result.problems[f"{r.status_code} {r.json().get('code')}"] += 1
            else:
                result.errors.append(f"{user} #{i}: {r.status_code} {r.text[:200]}")
        if on_answer is not None:
            on_answer()

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(len(requests))))
    finally:
        for c in opened:
            c.close()
    result.seconds = time.perf_counter() - started
    return result


def wait_until_drained(cluster: Cluster, deadline: float, poll: float = 0.05) -> tuple[int, int]:
    """Wait until no generation is pending and no job waits or runs, or the deadline
    (``time.monotonic()``) passes; returns what was still outstanding."""
    while True:
        left = cluster.outstanding()
        if left == (0, 0) or time.monotonic() > deadline:
            return left
        time.sleep(poll)


# --- the benchmark figure --------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _throughput(
    database_url: str, counts: dict[str, int], *, queued: bool, latency: float
) -> tuple[float, dict[str, Any]]:
    """Generations per second from the first POST until every one has finished."""
    jobs = "procrastinate" if queued else "inline"
    # The inline pool gets as many threads as the two workers have between them.
    extra = {} if queued else {"REPURPOSEFLOW_JOB_WORKERS": "8"}
    with Cluster(database_url, jobs=jobs, latency=latency, extra_env=extra) as cluster:
        cluster.migrate()
        apis = [cluster.spawn_api() for _ in range(2 if queued else 1)]
        if queued:
            cluster.start_worker(4)
            cluster.start_worker(4)
        apis = [cluster.wait_up(a) for a in apis]
        ports = [a.port for a in apis if a.port is not None]
        cpu_before = {p.pid: _cpu_seconds(p.pid) for p in cluster.procs}
        started = time.perf_counter()
        result = send_load(ports, counts, threads=8)
        left = wait_until_drained(cluster, time.monotonic() + 300)
        elapsed = time.perf_counter() - started
        cpu = {p.kind: 0.0 for p in cluster.procs}
        for p in cluster.procs:
            cpu[p.kind] += _cpu_seconds(p.pid) - cpu_before[p.pid]
        if result.errors or left != (0, 0) or result.admitted_total != sum(counts.values()):
            raise RuntimeError(
                f"load not served cleanly ({jobs}): {result.errors[:3]} "
                f"problems {dict(result.problems)}, outstanding {left}"
            )
        n = result.admitted_total
        return n / elapsed, {
            "generations": n,
            "seconds": round(elapsed, 2),
            "posting_seconds": round(result.seconds, 2),
            "api_processes": len(apis),
            # CPU of our processes per generation (this machine's other work does not
            # move it as much as it moves the rate).
            **{f"{kind}_cpu_ms_per_generation": round(c * 1000 / n, 1) for kind, c in cpu.items()},
        }


def scale_figures(*, quick: bool) -> list[Figure]:
    name = "generations/s, PostgreSQL, 2 API + 2 worker processes"
    reason = pg.available()
    if reason is not None:
        return [not_measured(name, f"no PostgreSQL: {reason}")]
    users, per_user = (8, 5) if quick else (30, 10)
    counts = {f"user_{i:03d}": per_user for i in range(users)}
    latency = 0.0
    rates: dict[str, tuple[float, dict[str, Any]]] = {}
    for label, queued in (("inline", False), ("queue", True)):
        with pg.throwaway_database("rf_bench_scale") as url:
            rates[label] = _throughput(
                url.render_as_string(hide_password=False), counts, queued=queued, latency=latency
            )
    (rate, details), (base, base_details) = rates["queue"], rates["inline"]
    return [
        Figure(
            name,
            rate,
            "gen/s",
            base,
            "1 API process, inline pool",
            note=f"{users} users x {per_user}, 2 platforms, instant scripted engine, "
            "8 client threads; from the first POST until none is pending",
            details={"queue": details, "inline": base_details},
        )
    ]
