"""Abuse limits shared by several API processes through Redis (the README's
REPURPOSEFLOW_RATE_LIMIT_STORAGE=redis://…): two limiters, as two processes would hold,
count one budget. The machine's Redis (or REPURPOSEFLOW_TEST_REDIS_URL) is used."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest

from repurposeflow.entrypoints.http.ratelimit import RateLimited, RateLimits

REDIS_URL = os.environ.get("REPURPOSEFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    parsed = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _redis_answers(), reason=f"no Redis answers at {REDIS_URL} (REPURPOSEFLOW_TEST_REDIS_URL)"
)


def test_two_processes_share_one_budget_through_redis():
    person = f"user_{uuid.uuid4().hex}"
    first = RateLimits("1000/minute", "3/minute", REDIS_URL)
    second = RateLimits("1000/minute", "3/minute", REDIS_URL)
    first.hit_user(person)
    first.hit_user(person)
    second.hit_user(person)
    with pytest.raises(RateLimited) as refused:
        second.hit_user(person)
    assert refused.value.scope == "user" and 1 <= refused.value.retry_after <= 60


def test_in_memory_limits_are_per_process_which_is_why_redis_exists():
    person = f"user_{uuid.uuid4().hex}"
    first = RateLimits("1000/minute", "3/minute")
    second = RateLimits("1000/minute", "3/minute")
    for _ in range(3):
        first.hit_user(person)
    second.hit_user(person)  # a second process knows nothing of the first's three
