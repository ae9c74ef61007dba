"""Abuse limits with the ``limits`` library: per client IP on every request and per
signed-in user on /v1. In memory for one process; a shared storage URI (e.g.
``redis://…``) when several processes serve. Separate from the monthly quota."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse, storage, strategies


class RateLimited(Exception):
    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"rate limited per {scope}")
        self.scope = scope
        self.retry_after = retry_after


class RateLimits:
    def __init__(self, per_ip: str, per_user: str, storage_uri: str = "memory://") -> None:
        self._ip = parse(per_ip)
        self._user = parse(per_user)
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def _hit(self, item: RateLimitItem, key: str, scope: str) -> None:
        if not self._limiter.hit(item, scope, key):
            reset = self._limiter.get_window_stats(item, scope, key).reset_time
            raise RateLimited(scope, max(1, math.ceil(reset - time.time())))

    def hit_ip(self, ip: str) -> None:
        self._hit(self._ip, ip, "ip")

    def hit_user(self, clerk_user_id: str) -> None:
        self._hit(self._user, clerk_user_id, "user")
