"""Retention and monitoring results, and the one percentile rule every store reports
latency with."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

import attrs

from repurposeflow.domain.enums import Platform, Tier


@attrs.frozen
class RetentionReport:
    generations_archived: int = 0
    usage_logs_aggregated: int = 0
    usage_daily_rows: int = 0
    webhook_events_deleted: int = 0


@attrs.frozen
class TierStat:
    tier: Tier
    user_count: int
    total_generations: int


@attrs.frozen
class DailyVolume:
    day: date
    generations: int
    active_users: int


@attrs.frozen
class PlatformPopularity:
    platform: Platform
    usage_count: int


@attrs.frozen
class LatencyStats:
    samples: int
    avg_ms: float | None
    median_ms: float | None
    p95_ms: float | None


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """PostgreSQL's PERCENTILE_CONT: linear interpolation between closest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


def latency_stats(times_ms: Iterable[float]) -> LatencyStats:
    """Average, median and 95th percentile of completed generations' times."""
    values = sorted(float(t) for t in times_ms)
    if not values:
        return LatencyStats(0, None, None, None)
    return LatencyStats(
        samples=len(values),
        avg_ms=sum(values) / len(values),
        median_ms=percentile(values, 0.5),
        p95_ms=percentile(values, 0.95),
    )
