"""Clerk-shaped user events for tests."""

from __future__ import annotations

import time
from typing import Any


def user_event(
    event_type: str,
    user_id: str,
    *,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    if event_type == "user.deleted":
        data: dict[str, Any] = {"id": user_id, "object": "user", "deleted": True}
    else:
        emails = [{"id": f"idn_{user_id}", "object": "email_address", "email_address": email}]
        data = {
            "id": user_id,
            "object": "user",
            "first_name": first_name,
            "last_name": last_name,
            "primary_email_address_id": f"idn_{user_id}" if email else None,
            "email_addresses": emails if email else [],
            "created_at": ts,
            "updated_at": ts,
        }
    return {
        "data": data,
        "object": "event",
        "type": event_type,
        "timestamp": ts,
        "instance_id": "ins_test",
    }
