"""A figure, its baseline, its target; the table and results.json."""

from __future__ import annotations

import json
import math
import operator
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    """``on`` names what the bound applies to: ``"ratio"`` (value ÷ baseline) or
    ``"value"`` (the figure itself, e.g. wall time ÷ L)."""

    op: str
    bound: float
    on: str = "ratio"

    def __str__(self) -> str:
        return f"{self.on} {self.op} {self.bound:g}"

    def met(self, value: float, ratio: float | None) -> bool | None:
        subject = ratio if self.on == "ratio" else value
        if subject is None or math.isnan(subject):
            return None
        return _OPS[self.op](subject, self.bound)


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: Target | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.target.met(self.value, self.ratio)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = str(self.target) if self.target else None
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


def not_measured(name: str, reason: str) -> Figure:
    return Figure(name, None, "", note=f"not measured: {' '.join(reason.split())[:200]}")


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "value", "baseline", "ratio", "target", "met", "note")]
    for f in figures:
        met = {True: "met", False: "MISSED", None: "-"}[f.met]
        value = f"{_num(f.value)} {f.unit}".strip() if f.value is not None else "-"
        baseline = f"{_num(f.baseline)} ({f.baseline_label})" if f.baseline is not None else "-"
        rows.append((f.name, value, baseline, _num(f.ratio), str(f.target or "-"), met, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for i, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(figures: Sequence[Figure]) -> str:
    out = ["| figure | value | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for f in figures:
        met = {True: "met", False: "**missed**", None: "-"}[f.met]
        value = f"{_num(f.value)} {f.unit}".strip() if f.value is not None else f.note
        baseline = f"{_num(f.baseline)} ({f.baseline_label})" if f.baseline is not None else "-"
        out.append(
            f"| {f.name} | {value} | {baseline} | {_num(f.ratio)} | {f.target or '-'} | {met} |"
        )
    return "\n".join(out)


def write_results(
    path: Path,
    figures: Sequence[Figure],
    *,
    quick: bool,
    seconds: float,
    load_at_start: Sequence[float] | None = None,
) -> None:
    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "seconds": round(seconds, 1),
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            # Other work on the machine skews every figure; this says how much there was.
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "load_average_at_start": [round(x, 2) for x in load_at_start or ()],
        },
        "figures": [f.as_dict() for f in figures],
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
