"""Ctrl-C in the middle of a run refunds it at once instead of waiting for the sweep."""

import pytest

from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.domain.enums import GenerationStatus, Platform, UsageEventType
from repurposeflow.services import users
from repurposeflow.services.repurpose import RepurposeRequest, repurpose


@pytest.mark.parametrize("where", ["analyze", Platform.EMAIL])
def test_an_interrupted_run_is_failed_and_refunded(clock, where):
    store = MemoryStore()
    user = users.ensure_user(store.uow(), clock, clerk_user_id="u", email="u@example.com")
    engine = ScriptedEngine(faults={where: [KeyboardInterrupt()]})
    request = RepurposeRequest("u", "Writing once and posting everywhere saves a lot of time.")
    with pytest.raises(KeyboardInterrupt):
        repurpose(store.uow(), engine, clock, request, max_concurrency=1)
    (gen,) = store.generations.values()
    assert gen.status is GenerationStatus.FAILED
    assert gen.charged_reset_at is None
    assert store.users[user.id].generations_count_current_month == 0
    kinds = [e.event_type for e in store.usage_logs.values()]
    assert kinds.count(UsageEventType.GENERATION_REFUNDED) == 1
