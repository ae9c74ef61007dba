"""HTTP: requests per second of ``POST /v1/generations`` (instant scripted engine,
``Prefer: wait``) and ``GET /v1/generations`` against the app ``repurposeflow serve``
runs (``benchmarks.http_app``: the same factory with the scripted engine wired in;
uvicorn, one worker) on SQLite and PostgreSQL, and the same two requests against a bare FastAPI
app under the same uvicorn, from the same load generator: 16 keep-alive connections
in an asyncio loop in this process."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks import pg
from benchmarks.report import Figure, not_measured
from repurposeflow.adapters.clock import SystemClock
from repurposeflow.adapters.sql import SqlUnitOfWork, ensure_schema, make_engine
from repurposeflow.services import users

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 16
USER = "bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _server(argv: list[str], env: dict[str, str], port: int) -> Iterator[int]:
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until_up(port, proc)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _read_response(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    return status


async def _load(port: int, request: Callable[[], bytes], seconds: float) -> Counter[int]:
    statuses: Counter[int] = Counter()
    stop_at = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                writer.write(request())
                await writer.drain()
                statuses[await _read_response(reader)] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return statuses


def requests_per_second(
    port: int, request: Callable[[], bytes], seconds: float, pid: int | None = None
) -> tuple[float, float]:
    """(requests/s, server CPU ms per request): the CPU figure holds still when this
    shared machine is busy; requests/s does not."""
    asyncio.run(_load(port, request, min(1.0, seconds / 3)))  # warm up
    cpu = _cpu_seconds(pid) if pid else 0.0
    started = time.perf_counter()
    statuses = asyncio.run(_load(port, request, seconds))
    elapsed = time.perf_counter() - started
    cpu = (_cpu_seconds(pid) - cpu) if pid else 0.0
    good = sum(n for status, n in statuses.items() if status < 300)
    bad = {s: n for s, n in statuses.items() if s >= 300}
    if bad:
        raise RuntimeError(f"error responses under load: {bad}")
    return good / elapsed, cpu * 1000 / max(good, 1)


def _post_request() -> Callable[[], bytes]:
    counter = itertools.count()

    def make() -> bytes:
        body = json.dumps(
            {"content": f"Benchmark post {next(counter)}: write once, post everywhere. " * 5}
        ).encode()
        head = (
            "POST /v1/generations HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Prefer: wait=30\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return make


def _get_request() -> bytes:
    return b"GET /v1/generations?limit=20 HTTP/1.1\r\nHost: bench\r\n\r\n"


Rates = tuple[tuple[float, float], tuple[float, float]]  # (POST, GET) x (req/s, CPU ms)


def _measure(port: int, pid: int, seconds: float) -> Rates:
    post = requests_per_second(port, _post_request(), seconds, pid)
    get = requests_per_second(port, lambda: _get_request(), seconds, pid)
    return post, get


def _ours(database_url: str, home: str, seconds: float) -> Rates:
    engine = make_engine(database_url)
    ensure_schema(engine)
    clock = SystemClock()
    users.ensure_user(SqlUnitOfWork(engine), clock, clerk_user_id=USER, email=f"{USER}@localhost")
    users.change_tier(SqlUnitOfWork(engine), USER, "business")
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "REPURPOSEFLOW_HOME": home,
        "REPURPOSEFLOW_CONFIG": str(Path(home) / "none.toml"),
        "REPURPOSEFLOW_DATABASE_URL": database_url,
        "REPURPOSEFLOW_ENGINE": "scripted",
        "REPURPOSEFLOW_RATE_LIMIT_IP": "10000000/minute",
        "REPURPOSEFLOW_RATE_LIMIT_USER": "10000000/minute",
        "REPURPOSEFLOW_DEV_USER": USER,
    }
    with _server(_uvicorn("benchmarks.http_app:app", port, "--factory"), env, port) as pid:
        return _measure(port, pid, seconds)


def _uvicorn(target: str, port: int, *extra: str) -> list[str]:
    """The same uvicorn, one worker, no access log, for ours and for the bare app."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--port",
        str(port),
        *extra,
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _bare(seconds: float) -> Rates:
    port = _free_port()
    with _server(_uvicorn("benchmarks.bare_app:app", port), dict(os.environ), port) as pid:
        return _measure(port, pid, seconds)


def http_figures(*, quick: bool) -> list[Figure]:
    try:
        import uvicorn  # noqa: F401

        from repurposeflow.entrypoints.http import app  # noqa: F401
    except ImportError as exc:
        return [not_measured("HTTP", f"the HTTP API is not installed ({exc})")]
    seconds = 1.0 if quick else 5.0
    bare = _bare(seconds)
    stores: list[tuple[str, Rates]] = []
    with tempfile.TemporaryDirectory() as home:
        stores.append(("SQLite", _ours(f"sqlite:///{home}/bench.db", home, seconds)))
        if not quick and pg.available() is None:
            with pg.throwaway_database() as url:
                rates = _ours(url.render_as_string(hide_password=False), home, seconds)
                stores.append(("PostgreSQL", rates))
    figures = []
    for store, rates in stores:
        for (label, what), (rate, cpu), (bare_rate, bare_cpu) in zip(
            (
                ("POST /v1/generations", "Prefer: wait, instant scripted engine"),
                ("GET /v1/generations (20 items)", f"uvicorn, 1 worker, {CONNECTIONS} connections"),
            ),
            rates,
            bare,
            strict=True,
        ):
            figures.append(
                Figure(
                    f"HTTP {label}, {store}",
                    rate,
                    "req/s",
                    bare_rate,
                    f"bare FastAPI {label.split()[0]}",
                    note=f"{what}; server CPU {cpu:.1f} ms/request (bare {bare_cpu:.2f})",
                    details={"server_cpu_ms_per_request": cpu, "bare_cpu_ms": bare_cpu},
                )
            )
    return figures
