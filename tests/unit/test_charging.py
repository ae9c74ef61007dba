"""The one refund path: ``fail_and_refund`` fails a pending generation once, gives its
unit back in the window it was charged in, and logs both; every failing path uses it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.domain.enums import GenerationStatus, UsageEventType
from repurposeflow.domain.errors import JobRejected
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.services.charging import fail_and_refund
from repurposeflow.services.maintenance import sweep_stale_pending
from repurposeflow.services.repurpose import (
    RepurposeRequest,
    enqueue_generation,
    start_generation,
)
from tests.unit._services_support import SOURCE, World, make_world

FAILED, REFUNDED = UsageEventType.GENERATION_FAILED, UsageEventType.GENERATION_REFUNDED


def _started(world: World) -> uuid.UUID:
    world.add_user()
    result = start_generation(
        world.uow(), world.engine, world.clock, RepurposeRequest("user_1", SOURCE)
    )
    assert world.count() == 1
    return result.generation.id


def test_fail_and_refund_fails_refunds_and_logs_once() -> None:
    world = make_world()
    gen_id = _started(world)

    first = fail_and_refund(world.uow(), world.clock, gen_id, "provider down")
    again = fail_and_refund(world.uow(), world.clock, gen_id, "provider down")

    assert (first.failed_now, first.refunded) == (True, True)
    assert (again.failed_now, again.refunded) == (False, False)
    assert again.generation == first.generation
    assert world.generation(gen_id).status is GenerationStatus.FAILED
    assert world.generation(gen_id).charged_reset_at is None
    assert world.count() == 0
    counts = world.event_counts(gen_id)
    assert (counts[FAILED], counts[REFUNDED]) == (1, 1)


def test_a_unit_from_an_ended_window_is_not_refunded_into_the_new_one() -> None:
    world = make_world()
    gen_id = _started(world)
    world.clock.advance(timedelta(days=40))
    world.run(text=SOURCE + " Another take.")  # a new window: count 1 in it

    settled = fail_and_refund(world.uow(), world.clock, gen_id, "too late")

    assert settled.failed_now and not settled.refunded
    assert world.count() == 1
    assert world.event_counts(gen_id)[REFUNDED] == 0


def test_a_delivered_generation_is_left_alone() -> None:
    world = make_world()
    world.add_user()
    gen = world.run().generation
    before = world.snapshot()

    settled = fail_and_refund(world.uow(), world.clock, gen.id, "late fault")

    assert not settled.failed_now
    assert settled.generation == gen
    assert world.snapshot() == before


class _Full:
    def submit(self, job: GenerationJob) -> None:
        raise JobRejected()

    def shutdown(self, *, wait: bool = True) -> None:
        return None


@pytest.mark.parametrize("path", ["engine failure", "job refused", "stale sweep"])
def test_every_failing_path_refunds_through_the_one_function(path: str) -> None:
    world = make_world(ScriptedEngine(faults={"analyze": [RuntimeError("down")]}))
    if path == "engine failure":
        world.add_user()
        gen_id = world.run().generation.id
    else:
        gen_id = _started(world)
        if path == "job refused":
            job = GenerationJob(gen_id, "user_1", "scripted")
            with pytest.raises(JobRejected):
                enqueue_generation(world.uow(), world.clock, _Full(), job)
        else:
            world.clock.advance(timedelta(hours=1))
            assert sweep_stale_pending(world.uow(), world.clock) == 1

    assert world.generation(gen_id).status is GenerationStatus.FAILED
    assert world.count() == 0
    counts = world.event_counts(gen_id)
    assert (counts[FAILED], counts[REFUNDED]) == (1, 1)
