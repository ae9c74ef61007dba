"""CLI start-up: ``repurposeflow usage`` and ``--help`` against ``python -c pass``,
each a fresh process against a migrated SQLite home, in CPU seconds (wall time in the
note), with the import time per top-level package in the details."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, Target, not_measured

_FLOORS = {
    "sqlalchemy": "sqlalchemy",
    "typer": "typer, typer._adapters, typer.rich_utils, pydantic.plugin._loader",
}


def _median_run(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """(median CPU seconds, median wall seconds) of a fresh process. CPU time (user +
    system) is what the start-up costs; wall time on a shared machine is mostly the
    wait for a core."""
    cpu, wall = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(cpu), statistics.median(wall)


def import_breakdown(env: dict[str, str]) -> dict[str, float]:
    """Milliseconds of import per top-level package in `repurposeflow usage` (-X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "repurposeflow.entrypoints.cli", "usage"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        try:
            self_us = int(parts[0].split(":")[1])
        except ValueError:
            continue
        top = parts[2].strip().split(".")[0]
        totals[top] = totals.get(top, 0.0) + self_us / 1000
    biggest = sorted(totals.items(), key=lambda kv: -kv[1])[:8]
    return {name: round(ms, 1) for name, ms in biggest}


def cli_startup(*, quick: bool) -> list[Figure]:
    script = Path(sys.executable).with_name("repurposeflow")
    if not script.exists():
        return [not_measured("CLI start-up", f"{script} not installed (pip install -e .)")]
    runs = 3 if quick else 11
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "REPURPOSEFLOW_HOME": home,
            "REPURPOSEFLOW_CONFIG": str(Path(home) / "none.toml"),
            "REPURPOSEFLOW_DATABASE_URL": "",
        }
        # An installed package runs from bytecode cached on first use; a shell that
        # forbids writing it (PYTHONDONTWRITEBYTECODE, as on this machine) would have
        # every run compile our modules again (~0.1 s), which no user pays.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([str(script), "usage"], env=env, check=True, capture_output=True)
        bare, bare_wall = _median_run([sys.executable, "-c", "pass"], env, runs)
        imports = import_breakdown(env)
        # What the dependencies cost on their own: the floor no lazy import can go under
        # (usage reads the SQLite store through SQLAlchemy; typer builds on pydantic).
        floor = {
            name: _median_run([sys.executable, "-c", f"import {modules}"], env, runs)[0] - bare
            for name, modules in _FLOORS.items()
        }
        figures = []
        for args in (["usage"], ["--help"]):
            took, wall = _median_run([str(script), *args], env, runs)
            figures.append(
                Figure(
                    f"CLI start-up: repurposeflow {' '.join(args)}",
                    took,
                    "s",
                    bare,
                    "python -c pass",
                    Target("<=", 0.4, on="value"),
                    note=(
                        f"CPU time, median of {runs}; wall {wall:.2f} s (bare {bare_wall:.2f} s);"
                        f" import sqlalchemy alone {floor['sqlalchemy']:.2f} s, typer with its"
                        f" pydantic and rich {floor['typer']:.2f} s"
                    ),
                    details={
                        "wall_s": wall,
                        "bare_wall_s": bare_wall,
                        "import_ms": imports,
                        "import_cpu_s": floor,
                    },
                )
            )
    return figures
