"""The seed's monitoring queries over rows in Python: the in-memory store uses them,
and SQLite borrows ``percentile`` where it has no PERCENTILE_CONT."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from repurposeflow.domain.enums import SubscriptionStatus
from repurposeflow.domain.model import Generation, User
from repurposeflow.domain.ports import DailyVolume, LatencyStats, PlatformPopularity, TierStat


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


def tier_stats(users: Iterable[User]) -> list[TierStat]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for user in users:
        if user.subscription_status is SubscriptionStatus.ACTIVE and user.deleted_at is None:
            row = counts[user.subscription_tier]
            row[0] += 1
            row[1] += user.generations_count_current_month
    return [TierStat(tier, n, total) for tier, (n, total) in sorted(counts.items())]  # type: ignore[arg-type]


def daily_volume(generations: Iterable[Generation], since: datetime) -> list[DailyVolume]:
    per_day: dict[object, list[object]] = defaultdict(list)
    for gen in generations:
        if gen.created_at > since:
            per_day[gen.created_at.date()].append(gen.user_id)
    return [
        DailyVolume(day, len(users), len(set(users)))  # type: ignore[arg-type]
        for day, users in sorted(per_day.items(), key=lambda kv: kv[0], reverse=True)  # type: ignore[arg-type, return-value]
    ]


def platform_popularity(
    generations: Iterable[Generation], since: datetime
) -> list[PlatformPopularity]:
    counts: Counter[str] = Counter()
    for gen in generations:
        if gen.created_at > since:
            counts.update(gen.selected_platforms)
    return [
        PlatformPopularity(platform, n)  # type: ignore[arg-type]
        for platform, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def latency(times_ms: Iterable[int]) -> LatencyStats:
    values = sorted(float(t) for t in times_ms)
    if not values:
        return LatencyStats(0, None, None, None)
    return LatencyStats(
        samples=len(values),
        avg_ms=sum(values) / len(values),
        median_ms=percentile(values, 0.5),
        p95_ms=percentile(values, 0.95),
    )
