"""``repurposeflow serve`` and ``repurposeflow worker`` with the scripted engine, for the
soak test and the scale-out figure. The scripted engine is a test engine, never
reachable by name from the CLI, so this wires it in as a host would (as
``benchmarks.http_app`` does for the HTTP figures):

    python -m benchmarks.scale_app serve --port 8001
    python -m benchmarks.scale_app worker --concurrency 4

Everything else comes from the environment exactly as for the real commands
(``REPURPOSEFLOW_DATABASE_URL``, ``REPURPOSEFLOW_JOBS``, ``CLERK_JWT_KEY``, the rate
limits, …). ``REPURPOSEFLOW_SCRIPTED_LATENCY`` (seconds per engine call, default 0)
stands in for a model's answer time, so a job is in flight long enough to be killed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.bootstrap import (
    App,
    bootstrap,
    build_content_engine,
    load_http_settings,
    load_settings,
)
from repurposeflow.domain.ports import ContentEngine

LATENCY_ENV = "REPURPOSEFLOW_SCRIPTED_LATENCY"


def _engines(name: str) -> ContentEngine:
    if name == "scripted":
        return ScriptedEngine(latency=float(os.environ.get(LATENCY_ENV) or 0))
    return build_content_engine(name)


def wired_app() -> App:
    app = bootstrap(load_settings(known_engines=("scripted",)))
    app.engine_factory = _engines
    return app


def serve(host: str, port: int) -> None:
    import uvicorn

    from repurposeflow.entrypoints.http.app import create_app

    api = create_app(wired_app(), load_http_settings())
    uvicorn.run(
        api,
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_level="warning",
        access_log=False,
    )


def worker(concurrency: int) -> None:
    """What ``repurposeflow worker`` does, with the scripted engine."""
    app = wired_app()
    queue = app.queue()
    if not queue.schema_present():
        raise SystemExit("the job queue's tables are missing: run `repurposeflow db upgrade`")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    print(f"worker: running queued generations ({concurrency} at once)", file=sys.stderr)
    queue.run_worker(concurrency=concurrency)
    print("worker: stopped", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_app")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, required=True)
    worker_p = sub.add_parser("worker")
    worker_p.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port)
    else:
        worker(args.concurrency)


if __name__ == "__main__":
    main()
