"""The seed's monitoring queries over rows in Python, for the in-memory store."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from repurposeflow.domain.enums import SubscriptionStatus
from repurposeflow.domain.model import Generation, User
from repurposeflow.domain.stats import DailyVolume, PlatformPopularity, TierStat


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
