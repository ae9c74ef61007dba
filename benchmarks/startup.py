"""CLI start-up: ``repurposeflow usage`` and ``--help`` against ``python -c pass``,
each a fresh process against a migrated SQLite home."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, Target, not_measured


def _median_run(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def import_breakdown(env: dict[str, str]) -> dict[str, float]:
    """Milliseconds of import per top-level package for the CLI module (-X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import repurposeflow.entrypoints.cli"],
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
        subprocess.run([str(script), "usage"], env=env, check=True, capture_output=True)
        bare = _median_run([sys.executable, "-c", "pass"], env, runs)
        imports = import_breakdown(env)
        figures = []
        for args in (["usage"], ["--help"]):
            took = _median_run([str(script), *args], env, runs)
            figures.append(
                Figure(
                    f"CLI start-up: repurposeflow {' '.join(args)}",
                    took,
                    "s",
                    bare,
                    "python -c pass",
                    Target("<=", 0.4, on="value"),
                    note=f"median of {runs}, schema current",
                    details={"import_ms_by_package": imports},
                )
            )
    return figures
