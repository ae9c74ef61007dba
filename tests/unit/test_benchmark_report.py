"""The scoreboard's arithmetic: what counts as met or missed, ratios, percentiles. No
timing here: the figures themselves are measured by ``python -m benchmarks``."""

from __future__ import annotations

import json
import math

import pytest
from benchmarks.report import Figure, Target, markdown, not_measured, table, write_results
from benchmarks.timing import percentile


@pytest.mark.parametrize(
    ("target", "value", "baseline", "met"),
    [
        (Target(">=", 0.5), 60.0, 100.0, True),
        (Target(">=", 0.5), 40.0, 100.0, False),
        (Target("<=", 0.4), 40.0, 100.0, True),
        (Target("<=", 0.4), 41.0, 100.0, False),
        (Target("<=", 2.2, on="value"), 2.2, 7.0, True),
        (Target("<=", 2.2, on="value"), 2.3, 1.0, False),
        (Target("<=", 0, on="value"), 0, 2566, True),
        (Target(">=", 0.5), 60.0, None, None),  # no baseline: no ratio to judge
        (Target("<=", 2.0, on="value"), math.nan, 1.0, None),
    ],
)
def test_targets_are_judged_on_what_they_name(target, value, baseline, met):
    assert Figure("f", value, "x", baseline, target=target).met is met


def test_ratio_needs_a_value_and_a_nonzero_baseline():
    assert Figure("f", 3.0, "x", 2.0).ratio == 1.5
    assert Figure("f", 3.0, "x", 0.0).ratio is None
    assert Figure("f", None, "x", 2.0).ratio is None


def test_percentile_interpolates_between_closest_ranks():
    samples = [float(x) for x in range(1, 101)]  # 1..100
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))


def test_table_and_markdown_say_missed_and_not_measured(tmp_path):
    figures = [
        Figure("fast", 1.0, "ms", 2.0, "seed", Target("<=", 0.4)),
        not_measured("cost", "the model engines are\nnot here yet"),
    ]
    assert "MISSED" in table(figures)
    md = markdown(figures)
    assert "**missed**" in md
    assert "not measured: the model engines are not here yet" in md  # one line
    out = tmp_path / "results.json"
    write_results(out, figures, quick=True, seconds=1.0, load_at_start=(0.5, 0.4, 0.3))
    data = json.loads(out.read_text())
    assert data["figures"][0]["met"] is False
    assert data["figures"][0]["ratio"] == 0.5
    assert data["machine"]["load_average_at_start"] == [0.5, 0.4, 0.3]
