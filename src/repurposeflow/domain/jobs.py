"""Background generation jobs: what a queue carries from the request to a worker."""

from __future__ import annotations

import uuid

import attrs


@attrs.frozen
class GenerationJob:
    """Run the pending generation ``generation_id`` for ``clerk_user_id``: plain values
    only, so a queue in another process can carry it."""

    generation_id: uuid.UUID
    clerk_user_id: str
    engine: str
    user_agent: str | None = None
    ip_address: str | None = None
    # The model the request was started (and its request key made) with: a worker
    # configured with another model must still run this one.
    model: str | None = None
