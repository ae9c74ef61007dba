"""``python -m benchmarks [--quick] [--only NAME …] [--out PATH]``"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import Figure, markdown, not_measured, table, write_results

HERE = Path(__file__).resolve().parent


def _groups() -> dict[str, Callable[..., list[Figure]]]:
    # Imported here so one broken group reports itself instead of breaking the command.
    from benchmarks import cost, engine, history, http, pipeline, quota, scale, startup

    return {
        "pipeline": pipeline.pipeline_latency,
        "quota": quota.sqlite_vs_memory,
        "postgres": quota.postgres_quota,
        "history": history.history_at_scale,
        "engine": engine.local_engine,
        "startup": startup.cli_startup,
        "cost": cost.token_cost,
        "http": http.http_figures,
        "scale": scale.scale_figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes (for CI)")
    parser.add_argument("--only", nargs="+", metavar="GROUP", help="run only these groups")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    args = parser.parse_args(argv)

    groups = _groups()
    chosen = args.only or list(groups)
    unknown = sorted(set(chosen) - set(groups))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(groups)}")
    start = time.perf_counter()
    load_at_start = os.getloadavg()
    figures: list[Figure] = []
    failed = False
    for name in chosen:
        began = time.perf_counter()
        print(f"[{name}] …", file=sys.stderr, flush=True)
        try:
            figures.extend(groups[name](quick=args.quick))
        except Exception as exc:
            failed = True
            traceback.print_exc()
            figures.append(not_measured(name, f"{type(exc).__name__}: {exc}"))
        print(f"[{name}] {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    print(table(figures))
    if args.markdown:
        print("\n" + markdown(figures))
    write_results(args.out, figures, quick=args.quick, seconds=elapsed, load_at_start=load_at_start)
    print(f"\n{len(figures)} figures in {elapsed:.0f} s -> {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
