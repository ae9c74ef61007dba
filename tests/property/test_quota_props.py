"""The monthly quota window: month starts, new windows, reserve, refund, tier changes.

Expectations come from DESIGN.md ("Quota", "Charging", "Tier changes"), not from the
implementation: a window ends at 00:00 UTC on the first of a month; a request at or
after ``reset_at`` starts a new window once, ending at the first month start after *now*.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.domain.errors import QuotaExhausted
from repurposeflow.domain.quota import (
    TIER_LIMITS,
    Quota,
    display_limit,
    is_month_start,
    limit_for,
    next_reset,
)

OFFSETS = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=-12)),
        timezone(timedelta(hours=-5)),
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=14)),
    ]
)
MOMENTS = st.datetimes(
    min_value=datetime(1972, 1, 1), max_value=datetime(2199, 12, 31), timezones=OFFSETS
)
UTC_MOMENTS = st.datetimes(
    min_value=datetime(1972, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)
)


def _month_starts_between(start: datetime, end: datetime) -> list[datetime]:
    """Every 00:00 UTC first-of-month in (start, end], computed by walking the calendar."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    year, month = start.year, start.month
    found = []
    while True:
        candidate = datetime(year, month, 1, tzinfo=UTC)
        if candidate > end:
            return found
        if candidate > start:
            found.append(candidate)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


@st.composite
def month_starts(draw: st.DrawFn) -> datetime:
    year = draw(st.integers(1972, 2199))
    month = draw(st.integers(1, 12))
    return datetime(year, month, 1, tzinfo=UTC)


# --- next_reset -----------------------------------------------------------------


@given(MOMENTS)
def test_next_reset_is_the_next_month_start_strictly_after_now(now: datetime) -> None:
    nxt = next_reset(now)
    assert nxt.tzinfo is not None and nxt.utcoffset() == timedelta(0)
    assert is_month_start(nxt)
    assert (nxt.day, nxt.hour, nxt.minute, nxt.second, nxt.microsecond) == (1, 0, 0, 0, 0)
    assert nxt > now
    # No month start lies strictly between now and the answer: it is the *next* one.
    assert _month_starts_between(now, nxt) == [nxt]
    assert nxt - now <= timedelta(days=31)


@given(month_starts())
def test_exactly_at_a_month_start_the_next_one_is_a_month_later(start: datetime) -> None:
    nxt = next_reset(start)
    assert nxt > start
    assert (nxt.year * 12 + nxt.month) - (start.year * 12 + start.month) == 1


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # December rolls into January of the next year.
        (datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        # Leap years: Feb 29 exists in 2028 and 2000, not in 2100.
        (datetime(2028, 2, 29, 12, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)),
        (datetime(2000, 2, 29, 23, 59, tzinfo=UTC), datetime(2000, 3, 1, tzinfo=UTC)),
        (datetime(2028, 1, 31, 23, 59, tzinfo=UTC), datetime(2028, 2, 1, tzinfo=UTC)),
        (datetime(2100, 2, 28, 23, 59, tzinfo=UTC), datetime(2100, 3, 1, tzinfo=UTC)),
        # The month is UTC's, not the caller's: 20:00 in New York on Jan 31 is Feb 1 UTC.
        (
            datetime(2026, 1, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 3, 1, tzinfo=UTC),
        ),
        # 08:00 in Kiritimati on Mar 1 is still Feb 28 UTC.
        (
            datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=14))),
            datetime(2026, 3, 1, tzinfo=UTC),
        ),
    ],
)
def test_next_reset_examples(now: datetime, expected: datetime) -> None:
    assert next_reset(now) == expected


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_reset(datetime(2026, 1, 1))


@given(UTC_MOMENTS)
def test_is_month_start_matches_the_calendar(moment: datetime) -> None:
    expected = moment == datetime(moment.year, moment.month, 1, tzinfo=UTC)
    assert is_month_start(moment) is expected


# --- a new window --------------------------------------------------------------------------


@given(month_starts(), st.integers(0, 999_999), st.sampled_from(sorted(TIER_LIMITS.values())))
def test_a_request_exactly_at_reset_at_rolls_and_one_microsecond_before_does_not(
    reset_at: datetime, count: int, limit: int
) -> None:
    quota = Quota(count=count, limit=limit, reset_at=reset_at)
    before = quota.current_window(reset_at - timedelta(microseconds=1))
    assert before == quota
    at = quota.current_window(reset_at)
    assert at.count == 0
    assert at.limit == limit
    assert at.reset_at > reset_at and is_month_start(at.reset_at)
    assert _month_starts_between(reset_at, at.reset_at) == [at.reset_at]


@given(month_starts(), st.integers(0, 10), st.integers(0, 60 * 24 * 3650), st.integers(0, 59))
def test_a_user_away_for_months_gets_one_reset_from_now(
    reset_at: datetime, count: int, minutes_late: int, seconds: int
) -> None:
    now = reset_at + timedelta(minutes=minutes_late, seconds=seconds)
    rolled = Quota(count=count, limit=10, reset_at=reset_at).current_window(now)
    # One reset, to the month after *now*, not the month after the old reset_at.
    assert rolled.count == 0
    assert rolled.reset_at > now
    assert _month_starts_between(now, rolled.reset_at) == [rolled.reset_at]
    # Rolling again at the same moment changes nothing: no second reset.
    assert rolled.current_window(now) == rolled


def test_three_months_away_is_one_reset_example() -> None:
    quota = Quota(count=7, limit=10, reset_at=datetime(2026, 2, 1, tzinfo=UTC))
    now = datetime(2026, 5, 17, 8, 0, tzinfo=UTC)
    assert quota.current_window(now) == Quota(
        count=0, limit=10, reset_at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert quota.used(now) == 0
    assert quota.remaining(now) == 10


@given(month_starts(), st.integers(0, 15), st.integers(1, 15))
def test_before_reset_at_nothing_rolls(reset_at: datetime, count: int, limit: int) -> None:
    quota = Quota(count=count, limit=limit, reset_at=reset_at)
    now = reset_at - timedelta(days=3)
    assert quota.current_window(now) is quota
    assert quota.used(now) == count
    assert quota.remaining(now) == max(limit - count, 0)


# --- reserve ---------------------------------------------------------------------------


@given(
    st.integers(1, 40),
    st.integers(0, 40),
    st.lists(st.integers(0, 60 * 24 * 70), min_size=1, max_size=80),
)
def test_reserve_never_takes_count_past_limit(limit: int, start: int, steps: list[int]) -> None:
    """Any sequence of reservations at non-decreasing times: count stays within the limit,
    and equals the successful reservations since the last roll."""
    reset_at = datetime(2026, 2, 1, tzinfo=UTC)
    now = reset_at - timedelta(days=20)
    quota = Quota(count=min(start, limit), limit=limit, reset_at=reset_at)
    in_window = quota.count
    for minutes in sorted(steps):
        moment = now + timedelta(minutes=minutes)
        if moment >= quota.reset_at:
            in_window = 0
        expected_window = quota.current_window(moment).reset_at
        if in_window < limit:
            quota = quota.reserve(moment)
            in_window += 1
        else:
            with pytest.raises(QuotaExhausted) as info:
                quota.reserve(moment)
            assert info.value.used == limit
            assert info.value.limit == limit
            assert info.value.reset_at == expected_window
        assert quota.reset_at == expected_window
        assert 0 <= quota.count <= limit
        assert quota.count == in_window


@given(st.integers(0, 5), month_starts())
def test_reserve_after_reset_starts_the_new_window_at_one(count: int, reset_at: datetime) -> None:
    quota = Quota(count=10, limit=10, reset_at=reset_at)  # exhausted in the old window
    reserved = quota.reserve(reset_at + timedelta(hours=count))
    assert reserved.count == 1
    assert reserved.reset_at == next_reset(reset_at + timedelta(hours=count))


def test_quota_exhausted_message_says_when_and_how_to_upgrade() -> None:
    quota = Quota(count=10, limit=10, reset_at=datetime(2026, 4, 1, tzinfo=UTC))
    with pytest.raises(QuotaExhausted) as info:
        quota.reserve(datetime(2026, 3, 14, tzinfo=UTC), tier="free")
    message = str(info.value)
    assert "10 of 10" in message
    assert "2026-04-01" in message
    assert "Upgrade" in message and "Pro" in message
    assert info.value.code == "quota-exhausted"


# --- refund ----------------------------------------------------------------------------


@given(month_starts(), st.integers(0, 20), st.integers(1, 20), st.integers(-3, 3))
def test_refund_only_within_the_charged_window_and_never_below_zero(
    reset_at: datetime, count: int, limit: int, months_off: int
) -> None:
    quota = Quota(count=count, limit=limit, reset_at=reset_at)
    index = reset_at.year * 12 + reset_at.month - 1 + months_off
    charged = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    refunded = quota.refund(charged)
    if months_off == 0 and count > 0:
        assert refunded.count == count - 1
    else:
        assert refunded.count == count
    assert refunded.count >= 0
    assert (refunded.limit, refunded.reset_at) == (limit, reset_at)


@given(st.integers(1, 10))
def test_a_refund_after_the_window_rolled_does_not_touch_the_new_window(used: int) -> None:
    old_window = datetime(2026, 4, 1, tzinfo=UTC)
    quota = Quota(count=0, limit=10, reset_at=old_window)
    for _ in range(used):
        quota = quota.reserve(datetime(2026, 3, 30, tzinfo=UTC))
    assert quota.reset_at == old_window
    # The month turns and the user generates once in the new window.
    quota = quota.reserve(datetime(2026, 4, 2, tzinfo=UTC))
    assert (quota.count, quota.reset_at) == (1, datetime(2026, 5, 1, tzinfo=UTC))
    # A generation charged in the old window now fails: its unit went with the old window.
    assert quota.refund(old_window) == quota


def test_refund_at_zero_stays_zero() -> None:
    window = datetime(2026, 4, 1, tzinfo=UTC)
    assert Quota(count=0, limit=10, reset_at=window).refund(window).count == 0


# --- tier changes ----------------------------------------------------------------------


@given(st.integers(0, 600), st.sampled_from(sorted(TIER_LIMITS.values())), month_starts())
def test_a_tier_change_never_lowers_the_count(count: int, limit: int, reset_at: datetime) -> None:
    quota = Quota(count=count, limit=500, reset_at=reset_at)
    changed = quota.with_limit(limit)
    assert changed.count == count
    assert changed.limit == limit
    assert changed.reset_at == reset_at
    now = reset_at - timedelta(days=1)
    # A downgrade blocks new reservations while count >= limit, and only then.
    assert changed.can_reserve(now) is (count < limit)
    assert changed.remaining(now) == max(limit - count, 0)


def test_tier_limits_are_the_seeds() -> None:
    assert (limit_for("free"), limit_for("pro"), limit_for("business")) == (10, 500, 999_999)
    assert display_limit(999_999) == "unlimited"
    assert display_limit(500) == "500"


@given(MOMENTS)
def test_rolling_is_idempotent_for_any_quota(now: datetime) -> None:
    reset_at = next_reset(now - timedelta(days=40))
    quota = Quota(count=3, limit=10, reset_at=reset_at)
    once = quota.current_window(now)
    assert once.current_window(now) == once
