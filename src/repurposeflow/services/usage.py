"""What a person has used and has left this month."""

from __future__ import annotations

from datetime import datetime

import attrs

from repurposeflow.domain.enums import Tier
from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.domain.quota import UNLIMITED_THRESHOLD
from repurposeflow.services.users import require_user


@attrs.frozen
class UsageSummary:
    tier: Tier
    used: int
    limit: int
    remaining: int
    resets_at: datetime

    @property
    def unlimited(self) -> bool:
        return self.limit >= UNLIMITED_THRESHOLD


def usage_summary(uow: UnitOfWork, clock: Clock, clerk_user_id: str) -> UsageSummary:
    """The quota as the next request would see it (a due window roll already applied)."""
    now = clock.now()
    with uow:
        user = require_user(uow, clerk_user_id)
    quota = user.quota.rolled(now)
    return UsageSummary(
        tier=user.effective_tier,
        used=quota.count,
        limit=quota.limit,
        remaining=max(quota.limit - quota.count, 0),
        resets_at=quota.reset_at,
    )
