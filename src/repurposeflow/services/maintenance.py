"""Upkeep: sweep stale pending generations, retention, and the monitoring queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs

from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.domain.stats import (
    DailyVolume,
    LatencyStats,
    PlatformPopularity,
    RetentionReport,
    TierStat,
)
from repurposeflow.services.charging import fail_and_refund

STALE_AFTER = timedelta(minutes=15)
GENERATIONS_ACTIVE_FOR = timedelta(days=90)
USAGE_LOGS_RAW_FOR = timedelta(days=90)
WEBHOOK_EVENTS_KEPT_FOR = timedelta(days=30)


def sweep_stale_pending(
    uow: UnitOfWork, clock: Clock, *, older_than: timedelta = STALE_AFTER, batch_size: int = 100
) -> int:
    """Fail (and refund) generations whose worker died: pending for longer than
    ``older_than``. Safe to run from several places at once."""
    cutoff = clock.now() - older_than
    swept = 0
    while True:
        with uow:
            ids = uow.generations.stale_pending(cutoff, batch_size)
        for gen_id in ids:
            if fail_and_refund(uow, clock, gen_id, "timed out: the worker stopped").failed_now:
                swept += 1
        if len(ids) < batch_size:
            return swept


def _drain(
    uow: UnitOfWork, step: Callable[[], tuple[int, int]], batch_size: int
) -> tuple[int, int]:
    """Run ``step`` in its own transaction until a batch comes back short."""
    first = second = 0
    while True:
        with uow:
            done, extra = step()
            uow.commit()
        first += done
        second += extra
        if done < batch_size:
            return first, second


def run_retention(uow: UnitOfWork, clock: Clock, *, batch_size: int = 1000) -> RetentionReport:
    """Archive old generations, fold old usage logs into daily rows, delete old processed
    webhook events: in batches, each its own short transaction; idempotent."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    now = clock.now()
    webhook_cutoff = now - WEBHOOK_EVENTS_KEPT_FOR
    # Each step reads uow.maintenance when it runs: repositories live per transaction.
    archived = _drain(
        uow,
        lambda: (uow.maintenance.archive_generations(now - GENERATIONS_ACTIVE_FOR, batch_size), 0),
        batch_size,
    )[0]
    folded, daily = _drain(
        uow,
        lambda: uow.maintenance.aggregate_usage_logs(now - USAGE_LOGS_RAW_FOR, batch_size),
        batch_size,
    )
    purged = _drain(
        uow,
        lambda: (uow.maintenance.purge_webhook_events(webhook_cutoff, batch_size), 0),
        batch_size,
    )[0]
    return RetentionReport(archived, folded, daily, purged)


@attrs.frozen
class StatsReport:
    tiers: tuple[TierStat, ...]
    daily_volume: tuple[DailyVolume, ...]
    platform_popularity: tuple[PlatformPopularity, ...]
    latency: LatencyStats


def stats(uow: UnitOfWork, clock: Clock) -> StatsReport:
    """The seed's four monitoring queries: tiers now, volume for 30 days, platforms and
    latency for 7."""
    now = clock.now()
    with uow:
        return StatsReport(
            tiers=tuple(uow.maintenance.tier_stats()),
            daily_volume=tuple(uow.maintenance.daily_volume(now - timedelta(days=30))),
            platform_popularity=tuple(uow.maintenance.platform_popularity(now - timedelta(days=7))),
            latency=uow.maintenance.latency(now - timedelta(days=7)),
        )
