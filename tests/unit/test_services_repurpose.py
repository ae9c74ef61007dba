"""The main job through the in-memory store and fake engines: charging, refunds,
partial results, the cache, repair, concurrency, regenerate and the stale sweep."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from repurposeflow.adapters.engines.function import FunctionEngine
from repurposeflow.adapters.engines.scripted import CANNED, ScriptedEngine
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import GenerationStatus, Platform, Tier, Tone, UsageEventType
from repurposeflow.domain.errors import (
    EmptyInput,
    EngineError,
    GenerationBusy,
    GenerationNotFound,
    InvalidChoice,
    InvalidInput,
    QuotaExhausted,
    UserNotFound,
)
from repurposeflow.services.maintenance import sweep_stale_pending
from repurposeflow.services.repurpose import RepurposeRequest, regenerate, repurpose
from repurposeflow.services.users import change_tier, delete_user, set_voice
from tests.unit._services_support import SOURCE, World, make_world

E = UsageEventType
ALL = tuple(Platform)


class WorkerDied(BaseException):
    """Not an Exception: the service cannot catch it, like a killed worker."""


@pytest.fixture
def world() -> World:
    w = make_world()
    w.add_user()
    return w


# --- the happy path ------------------------------------------------------------------


def test_a_generation_delivers_every_platform_and_charges_one(world: World) -> None:
    result = world.run()
    gen = result.generation
    assert result.status is GenerationStatus.COMPLETED and not result.cached
    assert set(gen.outputs) == set(ALL)
    assert gen.platform_errors == {}
    assert world.count() == 1
    assert gen.charged_reset_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert world.events(gen.id) == [E.GENERATION_STARTED, E.GENERATION_COMPLETED]
    # analyze once + six renders at (100 in, 50 out) each
    assert gen.usage.input_tokens == 7 * 100 and gen.usage.output_tokens == 7 * 50
    assert world.generation(gen.id) == gen


def test_the_users_default_tone_applies_when_none_is_given(world: World) -> None:
    set_voice(world.uow(), "user_1", default_tone="educational")
    assert world.run().generation.selected_tone is Tone.EDUCATIONAL
    assert world.run(tone="authority").generation.selected_tone is Tone.AUTHORITY


# --- quota exhausted -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "hint"), [(Tier.FREE, "Upgrade to Pro"), (Tier.PRO, "Upgrade to Business")]
)
def test_quota_exhausted_is_clear_and_changes_nothing(world: World, tier: Tier, hint: str) -> None:
    change_tier(world.uow(), "user_1", tier)
    world.exhaust()
    limit = 10 if tier is Tier.FREE else 500
    assert world.count() == limit
    before = world.snapshot()
    calls = len(world.engine.calls)
    with pytest.raises(QuotaExhausted) as info:
        world.run()
    err = info.value
    assert (err.used, err.limit) == (limit, limit)
    assert err.reset_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert "2026-04-01" in err.message and hint in err.message
    assert f"{limit} of {limit}" in err.message
    # nothing changed: no generation row, no usage log, the count as it was
    assert world.snapshot() == before
    assert len(world.engine.calls) == calls


def test_the_quota_comes_back_when_the_month_turns(world: World) -> None:
    world.exhaust()
    with pytest.raises(QuotaExhausted):
        world.run()
    world.clock.set(datetime(2026, 4, 1, tzinfo=UTC))  # exactly at reset_at
    result = world.run()
    assert result.status is GenerationStatus.COMPLETED
    assert world.count() == 1
    assert world.user().usage_reset_at == datetime(2026, 5, 1, tzinfo=UTC)


def test_concurrent_requests_never_overrun_the_limit(world: World) -> None:
    with world.uow() as uow:
        for _ in range(7):
            uow.users.reserve(world.user().id, world.clock.now())
        uow.commit()
    outcomes: list[str] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        try:
            world.run(text=f"{SOURCE} Variant {'x' * i}.")
            kind = "ok"
        except QuotaExhausted:
            kind = "exhausted"
        with lock:
            outcomes.append(kind)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 3 and outcomes.count("exhausted") == 5
    assert world.count() == 10


# --- engine failures -----------------------------------------------------------------


def test_failure_on_every_platform_fails_and_refunds_exactly_once() -> None:
    world = make_world(ScriptedEngine(faults={p: [EngineError(f"{p} is down")] for p in ALL}))
    world.add_user()
    result = world.run()
    gen = result.generation
    assert result.status is GenerationStatus.FAILED
    assert world.generation(gen.id).status is GenerationStatus.FAILED
    assert world.count() == 0
    assert not world.generation(gen.id).is_charged
    assert world.events(gen.id) == [
        E.GENERATION_STARTED,
        E.GENERATION_FAILED,
        E.GENERATION_REFUNDED,
    ]
    stored = world.generation(gen.id)
    assert set(stored.platform_errors) == set(ALL)
    assert "email is down" in stored.platform_errors[Platform.EMAIL]
    assert "twitter is down" in (stored.error_message or "")


def test_an_analysis_failure_fails_and_refunds() -> None:
    world = make_world(ScriptedEngine(faults={"analyze": [EngineError("provider timeout")]}))
    world.add_user()
    result = world.run()
    assert result.status is GenerationStatus.FAILED
    assert "provider timeout" in (result.generation.error_message or "")
    assert world.count() == 0
    assert world.event_counts()[E.GENERATION_REFUNDED] == 1
    assert [kind for kind, _ in world.engine.calls] == ["analyze"]


def test_failure_on_some_platforms_is_partial_and_charged_once() -> None:
    faults = {Platform.TIKTOK: [EngineError("nope")], Platform.EMAIL: [EngineError("nope")]}
    world = make_world(ScriptedEngine(faults=faults))
    world.add_user()
    result = world.run()
    gen = world.generation(result.generation.id)
    assert result.status is GenerationStatus.PARTIAL
    assert set(gen.outputs) == set(ALL) - {Platform.TIKTOK, Platform.EMAIL}
    assert set(gen.platform_errors) == {Platform.TIKTOK, Platform.EMAIL}
    assert gen.failed_platforms == (Platform.TIKTOK, Platform.EMAIL)
    assert world.count() == 1 and gen.is_charged
    assert world.events(gen.id) == [E.GENERATION_STARTED, E.GENERATION_PARTIAL]


# --- the cache -----------------------------------------------------------------------


def test_a_repeat_request_is_served_from_the_cache_free(world: World) -> None:
    first = world.run(platforms=["email", "x", "linkedin"], tone="educational")
    calls = len(world.engine.calls)
    # same request: other platform order, CRLF and trailing blanks in the text
    again = world.run(
        text=SOURCE.replace("\n", "  \r\n") + "\n\n",
        platforms=["linkedin", "email", "twitter", "email"],
        tone="Educational",
    )
    assert again.cached and again.generation.id == first.generation.id
    assert len(world.engine.calls) == calls  # no tokens spent
    assert world.count() == 1  # no charge
    cached_events = [
        e for e in world.store.usage_logs.values() if e.event_type is E.GENERATION_CACHED
    ]
    assert len(cached_events) == 1 and cached_events[0].tokens_used == 0
    assert len(world.store.generations) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"tone": "opinionated"},
        {"platforms": ["email", "x"]},
        {"text": SOURCE + " One more sentence."},
    ],
)
def test_a_different_request_is_not_the_cached_one(world: World, change: dict) -> None:  # type: ignore[type-arg]
    base = {"tone": "educational", "platforms": ["email", "x", "linkedin"], "text": SOURCE}
    first = world.run(**base)
    second = world.run(**{**base, **change})
    assert not second.cached and second.generation.id != first.generation.id
    assert world.count() == 2


def test_another_model_or_another_user_is_not_the_cached_one(world: World) -> None:
    world.run()
    assert not world.run(engine=ScriptedEngine(model="scripted-2")).cached
    world.add_user("user_2")
    assert not world.run("user_2").cached
    assert world.count() == 2 and world.count("user_2") == 1


def test_partial_and_failed_generations_are_not_served_from_cache() -> None:
    engine = ScriptedEngine(faults={Platform.EMAIL: [EngineError("down")]})
    world = make_world(engine)
    world.add_user()
    partial = world.run()
    assert partial.status is GenerationStatus.PARTIAL
    retry = world.run()
    assert not retry.cached and retry.status is GenerationStatus.COMPLETED
    assert world.count() == 2
    # now it is cached
    assert world.run().cached and world.count() == 2

    failing = make_world(ScriptedEngine(faults={p: [EngineError("down")] for p in ALL}))
    failing.add_user()
    assert failing.run().status is GenerationStatus.FAILED
    again = failing.run()
    assert not again.cached and again.status is GenerationStatus.COMPLETED
    assert failing.count() == 1


# --- validation and repair -----------------------------------------------------------


def test_an_invalid_draft_gets_one_repair_and_can_recover() -> None:
    world = make_world(ScriptedEngine(faults={Platform.EMAIL: ["invalid"]}))
    world.add_user()
    result = world.run(platforms=["email"])
    assert result.status is GenerationStatus.COMPLETED
    email_calls = [r for r in world.engine.requests if r.platform is Platform.EMAIL]
    assert len(email_calls) == 2
    first, repair = email_calls
    assert first.previous is None and first.violations == ()
    assert repair.previous is not None and any("subject" in v for v in repair.violations)


def test_still_invalid_after_the_repair_fails_the_platform_with_the_reason() -> None:
    world = make_world(ScriptedEngine(faults={Platform.EMAIL: ["invalid", "invalid"]}))
    world.add_user()
    result = world.run(platforms=["email", "threads"])
    gen = world.generation(result.generation.id)
    assert result.status is GenerationStatus.PARTIAL
    assert len([r for r in world.engine.requests if r.platform is Platform.EMAIL]) == 2
    reason = gen.platform_errors[Platform.EMAIL]
    assert "still invalid after one repair" in reason and "subject" in reason
    assert Platform.EMAIL not in gen.outputs and Platform.THREADS in gen.outputs
    assert world.count() == 1


def test_the_users_banned_phrases_reach_the_validators(world: World) -> None:
    set_voice(world.uow(), "user_1", banned_phrases=["Whole Week"])
    result = world.run(platforms=["threads", "email"])
    # both canned drafts say "a whole week of content": repaired once, still banned
    assert result.status is GenerationStatus.FAILED
    assert all("whole week" in e.lower() for e in result.generation.platform_errors.values())
    assert world.count() == 0


def test_a_stored_output_is_always_valid(world: World) -> None:
    from repurposeflow.domain.platforms import output_from_dict
    from repurposeflow.domain.validation import ValidationContext, validate

    gen = world.run().generation
    ctx = ValidationContext(source=gen.input_content)
    for platform, data in gen.outputs.items():
        assert validate(output_from_dict(platform, data), ctx) == []


# --- concurrency ---------------------------------------------------------------------


def test_platforms_render_concurrently() -> None:
    # Each render waits until all six are in flight at once: run one after another,
    # they would break the barrier and fail.
    world = make_world(ScriptedEngine(meet=len(Platform)))
    world.add_user()
    assert world.run().status is GenerationStatus.COMPLETED
    assert world.engine.max_overlap == len(Platform)


def test_concurrency_is_bounded() -> None:
    # Renders meet in pairs: two run together, and never a third beside them.
    world = make_world(ScriptedEngine(meet=2))
    world.add_user()
    from repurposeflow.services.repurpose import RepurposeRequest, repurpose

    result = repurpose(
        world.uow(),
        world.engine,
        world.clock,
        RepurposeRequest("user_1", SOURCE),
        max_concurrency=2,
    )
    assert result.status is GenerationStatus.COMPLETED
    assert world.engine.max_overlap == 2


# --- the stale sweep -----------------------------------------------------------------


def _dead_worker(world: World, text: str = SOURCE) -> None:
    engine = ScriptedEngine(faults={"analyze": [WorkerDied()]})
    with pytest.raises(WorkerDied):
        world.run(engine=engine, text=text)


def test_sweep_fails_and_refunds_a_dead_workers_generation_once(world: World) -> None:
    _dead_worker(world)
    (gen,) = world.store.generations.values()
    assert gen.status is GenerationStatus.PENDING and world.count() == 1
    world.clock.advance(timedelta(minutes=5))
    assert sweep_stale_pending(world.uow(), world.clock) == 0  # not stale yet
    world.clock.advance(timedelta(minutes=11))
    assert sweep_stale_pending(world.uow(), world.clock) == 1
    assert sweep_stale_pending(world.uow(), world.clock) == 0
    swept = world.generation(gen.id)
    assert swept.status is GenerationStatus.FAILED and not swept.is_charged
    assert "timed out" in (swept.error_message or "")
    assert world.count() == 0
    assert world.events(gen.id) == [
        E.GENERATION_STARTED,
        E.GENERATION_FAILED,
        E.GENERATION_REFUNDED,
    ]


def test_sweep_in_batches_gets_them_all(world: World) -> None:
    for n in range(5):
        _dead_worker(world, f"{SOURCE} Part {n}.")  # a twin of a pending run would not start
        world.clock.advance(timedelta(seconds=1))
    world.clock.advance(timedelta(hours=1))
    assert sweep_stale_pending(world.uow(), world.clock, batch_size=2) == 5
    assert world.count() == 0
    assert world.event_counts()[E.GENERATION_REFUNDED] == 5


def test_a_generation_swept_while_working_is_delivered_free(world: World) -> None:
    def slow_analysis(source: str, tone: Tone):  # type: ignore[no-untyped-def]
        from repurposeflow.domain.model import Brief

        world.clock.advance(timedelta(minutes=30))
        assert sweep_stale_pending(world.uow(), world.clock) == 1
        return Brief("core", ("core",), "topic", "audience")

    engine = FunctionEngine(lambda r: CANNED[r.platform], analyze=slow_analysis)
    result = world.run(engine=engine)
    assert result.status is GenerationStatus.COMPLETED
    assert not world.generation(result.generation.id).is_charged
    assert world.count() == 0
    assert world.event_counts()[E.GENERATION_REFUNDED] == 1


def test_a_refund_after_the_window_ended_leaves_the_new_window_alone() -> None:
    world = make_world(start=datetime(2026, 3, 31, 23, 50, tzinfo=UTC))
    world.add_user()
    _dead_worker(world)  # charged in the window ending April 1
    world.clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    world.run(text=SOURCE + " In April.")  # the first generation of April
    assert world.count() == 1
    assert world.user().usage_reset_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert sweep_stale_pending(world.uow(), world.clock) == 1
    assert world.count() == 1  # the March unit went with March
    counts = world.event_counts()
    assert counts[E.GENERATION_FAILED] == 1 and counts[E.GENERATION_REFUNDED] == 0


def test_a_failure_after_the_window_ended_does_not_refund_the_new_window() -> None:
    world = make_world(start=datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    world.add_user()

    def analysis_across_midnight(source: str, tone: Tone):  # type: ignore[no-untyped-def]
        world.clock.set(datetime(2026, 4, 1, 0, 1, tzinfo=UTC))
        world.run(text=SOURCE + " Another one.")  # charged in April
        raise EngineError("gave up")

    engine = FunctionEngine(lambda r: CANNED[r.platform], analyze=analysis_across_midnight)
    result = world.run(engine=engine)
    assert result.status is GenerationStatus.FAILED
    assert world.count() == 1


# --- regenerate ----------------------------------------------------------------------


def test_regenerate_fixes_a_partial_without_a_charge() -> None:
    world = make_world(ScriptedEngine(faults={Platform.EMAIL: [EngineError("down")]}))
    world.add_user()
    gen = world.run().generation
    assert gen.status is GenerationStatus.PARTIAL and world.count() == 1
    fixed = regenerate(
        world.uow(), world.engine, world.clock, clerk_user_id="user_1", generation_id=gen.id
    )
    assert fixed.status is GenerationStatus.COMPLETED
    assert set(fixed.outputs) == set(ALL) and fixed.platform_errors == {}
    assert fixed.error_message is None
    assert world.generation(gen.id) == fixed
    assert world.count() == 1
    assert world.events(gen.id)[-1] is E.PLATFORM_REGENERATED
    (regen_event,) = [
        e for e in world.store.usage_logs.values() if e.event_type is E.PLATFORM_REGENERATED
    ]
    assert regen_event.platforms == (Platform.EMAIL,)
    # only email was rendered again
    renders = [p for kind, p in world.engine.calls if kind == "render"]
    assert renders.count(Platform.EMAIL) == 2 and renders.count(Platform.TIKTOK) == 1


def test_regenerate_keeps_an_output_when_the_retry_fails() -> None:
    world = make_world(ScriptedEngine(faults={Platform.EMAIL: [EngineError("down")]}))
    world.add_user()
    gen = world.run().generation
    world.engine._faults["tiktok"].append(EngineError("again"))
    updated = regenerate(
        world.uow(),
        world.engine,
        world.clock,
        clerk_user_id="user_1",
        generation_id=gen.id,
        platforms=["tiktok", "email"],
    )
    assert Platform.TIKTOK in updated.outputs
    assert updated.outputs[Platform.TIKTOK] == gen.outputs[Platform.TIKTOK]
    assert updated.status is GenerationStatus.COMPLETED


def test_regenerate_refuses_failed_pending_foreign_and_outside_platforms(world: World) -> None:
    def regen(gen_id, clerk="user_1", platforms=None):  # type: ignore[no-untyped-def]
        return regenerate(
            world.uow(),
            world.engine,
            world.clock,
            clerk_user_id=clerk,
            generation_id=gen_id,
            platforms=platforms,
        )

    failed = world.run(engine=ScriptedEngine(faults={"analyze": [EngineError("x")]})).generation
    _dead_worker(world)
    pending = next(
        g for g in world.store.generations.values() if g.status is GenerationStatus.PENDING
    )
    done = world.run(platforms=["email", "x"]).generation
    world.add_user("user_2")
    before = world.snapshot()
    with pytest.raises(InvalidInput, match="failed and was refunded"):
        regen(failed.id)
    with pytest.raises(GenerationBusy):
        regen(pending.id)
    with pytest.raises(InvalidInput, match="not made for linkedin"):
        regen(done.id, platforms=["linkedin"])
    with pytest.raises(InvalidInput, match="no failed platforms"):
        regen(done.id)
    with pytest.raises(GenerationNotFound):
        regen(done.id, clerk="user_2")
    with pytest.raises(InvalidChoice):
        regen(done.id, platforms=["myspace"])
    assert world.snapshot() == before


# --- bad input changes nothing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"platforms": ["email", "myspace"]}, InvalidChoice, ["tiktok", "twitter", "email"]),
        ({"tone": "sarcastic"}, InvalidChoice, ["conversational", "authority"]),
        ({"text": ""}, EmptyInput, ["empty"]),
        ({"text": "  \n\t "}, EmptyInput, ["empty"]),
        ({"text": "too short"}, InvalidInput, ["too short"]),
        ({"text": "binary \x00 junk in here"}, InvalidInput, ["UTF-8"]),
        ({"text": "word " * 40_001}, InvalidInput, ["200,000"]),
        ({"clerk": "nobody"}, UserNotFound, ["nobody"]),
    ],
)
def test_every_bad_input_is_refused_clearly_and_changes_nothing(
    world: World,
    kwargs: dict,
    error: type,
    words: list[str],  # type: ignore[type-arg]
) -> None:
    world.run()  # some existing state
    before = world.snapshot()
    calls = len(world.engine.calls)
    with pytest.raises(error) as info:
        world.run(**kwargs)
    for word in words:
        assert word in str(info.value)
    assert world.snapshot() == before
    assert len(world.engine.calls) == calls


def test_a_deleted_user_cannot_generate(world: World) -> None:
    delete_user(world.uow(), world.clock, "user_1")
    before = world.snapshot()
    with pytest.raises(UserNotFound):
        world.run()
    assert world.snapshot() == before


def test_progress_events_tell_the_story(world: World) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def listen(event) -> None:  # type: ignore[no-untyped-def]
        with lock:
            seen.append(event.kind)

    from repurposeflow.services.repurpose import RepurposeRequest, repurpose

    repurpose(
        world.uow(),
        world.engine,
        world.clock,
        RepurposeRequest("user_1", SOURCE, platforms=["email", "x"]),
        on_progress=listen,
    )
    assert seen[:3] == ["started", "analyzing", "analyzed"]
    assert seen.count("rendering") == 2 and seen.count("rendered") == 2
    assert seen[-1] == "finished"


def test_function_engine_requests_carry_the_voice(world: World) -> None:
    set_voice(world.uow(), "user_1", sample_posts=["Short. Punchy. Mine."])
    seen: list[RenderRequest] = []

    def render(request: RenderRequest):  # type: ignore[no-untyped-def]
        seen.append(request)
        return CANNED[request.platform]

    world.run(engine=FunctionEngine(render), platforms=["threads"])
    assert seen and seen[0].voice.sample_posts == ("Short. Punchy. Mine.",)
    assert seen[0].source == world.run(engine=FunctionEngine(render)).generation.input_content


def test_swept_while_working_then_failing_is_refunded_once(world: World) -> None:
    def analysis_then_sweep(source: str, tone: Tone):  # type: ignore[no-untyped-def]
        world.clock.advance(timedelta(minutes=30))
        assert sweep_stale_pending(world.uow(), world.clock) == 1
        raise EngineError("and then it failed anyway")

    engine = FunctionEngine(lambda r: CANNED[r.platform], analyze=analysis_then_sweep)
    result = world.run(engine=engine)
    assert result.status is GenerationStatus.FAILED
    assert world.count() == 0
    counts = world.event_counts(result.generation.id)
    assert counts[E.GENERATION_REFUNDED] == 1 and counts[E.GENERATION_FAILED] == 1


class _WrongPlatformEngine(ScriptedEngine):
    """A broken adapter: answers every request with a Threads output."""

    def render(self, request: RenderRequest):  # type: ignore[no-untyped-def]
        from repurposeflow.domain.engine import PlatformDraft
        from repurposeflow.domain.platforms import output_from_dict

        draft = super().render(request)
        wrong = output_from_dict(Platform.THREADS, CANNED[Platform.THREADS])
        return PlatformDraft(wrong, draft.usage, draft.model)


def test_an_output_for_another_platform_is_never_stored(world: World) -> None:
    result = world.run(engine=_WrongPlatformEngine(), platforms=["email", "threads"])
    gen = world.generation(result.generation.id)
    assert Platform.EMAIL not in gen.outputs
    assert "threads" in gen.platform_errors[Platform.EMAIL]
    assert gen.outputs[Platform.THREADS] == CANNED[Platform.THREADS] | {"topic_tag": "writing"}
    assert result.status is GenerationStatus.PARTIAL


def test_a_twin_that_finished_between_the_look_and_the_insert_is_served_not_charged():
    """Under load a request can look for a finished twin (none yet), wait for the lock,
    and insert after the twin completed: it must still be served from history."""
    world = make_world()
    world.add_user()
    first = world.run()
    assert world.count() == 1

    looked: list[bool] = []

    class StaleFirstLook:
        """The store as the late twin saw it: its first look came before the finish."""

        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def find_by_request_key(self, user_id, key):
            if not looked:
                looked.append(True)
                return None
            return self._inner.find_by_request_key(user_id, key)

    class Uow:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def __enter__(self):
            self._inner.__enter__()
            self.generations = StaleFirstLook(self._inner.generations)
            return self

        def __exit__(self, *exc):
            return self._inner.__exit__(*exc)

    late = Uow(world.uow())
    again = repurpose(late, world.engine, world.clock, RepurposeRequest("user_1", SOURCE))
    assert again.cached and again.generation.id == first.generation.id
    assert world.count() == 1
    assert len(world.store.generations) == 1
