"""Accounts, plans, voice settings and the usage summary, through the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from repurposeflow.domain.enums import GenerationStatus, SubscriptionStatus, Tier, Tone
from repurposeflow.domain.errors import (
    DuplicateUser,
    InvalidChoice,
    InvalidInput,
    QuotaExhausted,
    UserNotFound,
)
from repurposeflow.domain.quota import display_limit
from repurposeflow.services.usage import usage_summary
from repurposeflow.services.users import (
    MAX_BANNED_PHRASES,
    change_tier,
    delete_user,
    ensure_user,
    get_user,
    set_voice,
)
from tests.unit._services_support import World, make_world


@pytest.fixture
def world() -> World:
    w = make_world()
    w.add_user()
    return w


# --- ensure / delete -----------------------------------------------------------------


def test_a_new_user_starts_free_with_a_window_ending_next_month() -> None:
    world = make_world()
    user = world.add_user()
    assert user.subscription_tier is Tier.FREE
    assert (user.generations_count_current_month, user.generations_limit) == (0, 10)
    assert user.usage_reset_at == datetime(2026, 4, 1, tzinfo=UTC)


def test_ensure_user_is_idempotent_and_syncs_the_profile(world: World) -> None:
    first = world.user()
    again = ensure_user(
        world.uow(), world.clock, clerk_user_id="user_1", email="user_1@example.com"
    )
    assert again.id == first.id and len(world.store.users) == 1
    renamed = ensure_user(
        world.uow(),
        world.clock,
        clerk_user_id=" user_1 ",
        email="new@example.com",
        full_name="Ada",
    )
    assert renamed.id == first.id
    assert (world.user().email, world.user().full_name) == ("new@example.com", "Ada")


@pytest.mark.parametrize(("clerk", "email"), [("", "a@example.com"), ("u", "not-an-email")])
def test_ensure_user_refuses_bad_identities(clerk: str, email: str) -> None:
    world = make_world()
    with pytest.raises(InvalidInput):
        ensure_user(world.uow(), world.clock, clerk_user_id=clerk, email=email)
    assert world.store.users == {}


def test_a_second_live_account_with_the_same_email_is_a_duplicate(world: World) -> None:
    before = world.snapshot()
    with pytest.raises(DuplicateUser, match="email"):
        world.add_user("user_2", email="USER_1@example.com")
    assert world.snapshot() == before
    world.add_user("user_2", email="other@example.com")
    with pytest.raises(DuplicateUser):
        ensure_user(world.uow(), world.clock, clerk_user_id="user_2", email="user_1@example.com")
    assert world.user("user_2").email == "other@example.com"


def test_a_deleted_users_email_is_free_and_they_cannot_generate(world: World) -> None:
    old = world.user()
    world.run()
    delete_user(world.uow(), world.clock, "user_1")
    assert world.store.users[old.id].deleted_at == world.clock.now()
    with pytest.raises(UserNotFound):
        get_user(world.uow(), "user_1")
    with pytest.raises(UserNotFound):
        world.run(text="A brand new post about writing every single week.")
    with pytest.raises(UserNotFound):
        delete_user(world.uow(), world.clock, "user_1")
    # The email (and even the Clerk id) can start a new account, with a fresh quota.
    fresh = world.add_user("user_9", email="user_1@example.com")
    assert fresh.id != old.id and fresh.generations_count_current_month == 0
    # history of the deleted account stays
    assert any(g.user_id == old.id for g in world.store.generations.values())
    assert world.run("user_9").status is GenerationStatus.COMPLETED


def test_the_store_refuses_to_reserve_for_a_deleted_user(world: World) -> None:
    user = world.user()
    delete_user(world.uow(), world.clock, "user_1")
    with world.uow() as uow:
        assert uow.users.reserve(user.id, world.clock.now()) is None
    assert world.store.users[user.id].generations_count_current_month == 0


# --- tiers ---------------------------------------------------------------------------


def test_a_downgrade_keeps_the_count_and_blocks_while_count_at_or_over_limit(
    world: World,
) -> None:
    change_tier(world.uow(), "user_1", "pro")
    for i in range(12):
        world.run(text=f"Post number {'x' * (i + 1)} about writing every week.")
    assert world.count() == 12
    user = change_tier(world.uow(), "user_1", "free")
    assert (user.generations_count_current_month, user.generations_limit) == (12, 10)
    before = world.snapshot()
    with pytest.raises(QuotaExhausted) as info:
        world.run(text="Yet another post about writing every week.")
    assert (info.value.used, info.value.limit) == (12, 10)
    assert world.snapshot() == before
    # upgrading again lifts the block at once, the count still stands
    change_tier(world.uow(), "user_1", "pro")
    world.run(text="Yet another post about writing every week.")
    assert world.count() == 13


@pytest.mark.parametrize(
    ("status", "limit"),
    [
        ("active", 500),
        ("trialing", 500),
        ("past_due", 500),
        ("canceled", 10),
        ("unpaid", 10),
        ("incomplete_expired", 10),
    ],
)
def test_the_limit_follows_the_effective_tier(world: World, status: str, limit: int) -> None:
    user = change_tier(world.uow(), "user_1", "pro", status)
    assert user.subscription_tier is Tier.PRO
    assert user.subscription_status is SubscriptionStatus(status)
    assert user.generations_limit == limit


def test_business_shows_unlimited(world: World) -> None:
    assert not usage_summary(world.uow(), world.clock, "user_1").unlimited
    change_tier(world.uow(), "user_1", Tier.BUSINESS)
    summary = usage_summary(world.uow(), world.clock, "user_1")
    assert summary.unlimited and summary.tier is Tier.BUSINESS
    assert display_limit(summary.limit) == "unlimited"


def test_an_unknown_tier_or_status_changes_nothing(world: World) -> None:
    before = world.snapshot()
    with pytest.raises(InvalidChoice, match="free, pro, business"):
        change_tier(world.uow(), "user_1", "platinum")
    with pytest.raises(InvalidChoice, match="active"):
        change_tier(world.uow(), "user_1", "pro", "sleeping")
    assert world.snapshot() == before


# --- usage summary -------------------------------------------------------------------


def test_usage_summary_counts_this_window(world: World) -> None:
    world.run()
    summary = usage_summary(world.uow(), world.clock, "user_1")
    assert (summary.used, summary.limit, summary.remaining) == (1, 10, 9)
    assert summary.resets_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert summary.tier is Tier.FREE


@pytest.mark.parametrize("days", [18, 40, 400])
def test_usage_summary_after_a_clock_jump_past_reset_shows_zero(world: World, days: int) -> None:
    world.exhaust()
    world.clock.advance(timedelta(days=days))
    now = world.clock.now()
    summary = usage_summary(world.uow(), world.clock, "user_1")
    assert (summary.used, summary.remaining) == (0, 10)
    assert summary.resets_at > now
    assert summary.resets_at.day == 1 and summary.resets_at - now <= timedelta(days=31)
    # reading the summary does not write
    assert world.count() == 10


def test_usage_summary_of_a_downgraded_user_never_shows_negative_remaining(world: World) -> None:
    change_tier(world.uow(), "user_1", "pro")
    with world.uow() as uow:
        for _ in range(15):
            uow.users.reserve(world.user().id, world.clock.now())
        uow.commit()
    change_tier(world.uow(), "user_1", "free")
    summary = usage_summary(world.uow(), world.clock, "user_1")
    assert (summary.used, summary.limit, summary.remaining) == (15, 10, 0)


# --- voice ---------------------------------------------------------------------------


def test_set_voice_changes_only_what_is_given(world: World) -> None:
    voice = set_voice(world.uow(), "user_1", default_tone="Opinionated")
    assert voice.default_tone is Tone.OPINIONATED
    voice = set_voice(
        world.uow(), "user_1", banned_phrases=["synergy", " synergy ", "", "circle back"]
    )
    assert voice.banned_phrases == ("synergy", "circle back")
    assert voice.default_tone is Tone.OPINIONATED
    voice = set_voice(world.uow(), "user_1", instagram_hashtag_cap=30, sample_posts=[" a ", " "])
    assert voice.instagram_hashtag_cap == 30 and voice.sample_posts == ("a",)
    assert world.user().voice == voice


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"default_tone": "sarcastic"}, InvalidChoice),
        ({"banned_phrases": [f"phrase {i}" for i in range(MAX_BANNED_PHRASES + 1)]}, InvalidInput),
        ({"sample_posts": ["post"] * 11}, InvalidInput),
        ({"sample_posts": ["x" * 5001]}, InvalidInput),
        ({"instagram_hashtag_cap": -1}, InvalidInput),
        ({"instagram_hashtag_cap": 31}, InvalidInput),
    ],
)
def test_set_voice_refuses_bad_settings_and_changes_nothing(
    world: World,
    kwargs: dict,  # type: ignore[type-arg]
    error: type,
) -> None:
    before = world.snapshot()
    with pytest.raises(error) as info:
        set_voice(world.uow(), "user_1", **kwargs)
    assert str(info.value)
    assert world.snapshot() == before


def test_set_voice_for_an_unknown_user() -> None:
    world = make_world()
    with pytest.raises(UserNotFound):
        set_voice(world.uow(), "ghost", default_tone="educational")
