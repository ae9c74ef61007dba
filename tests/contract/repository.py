"""The repository contract: every repository port, one test body per rule, for any store.

Each test takes a ``store`` fixture (``store.uow()`` gives a fresh unit of work); a
store's run imports these tests where its fixture lives (the in-memory reference, SQLite
and PostgreSQL run in tests/integration/test_repository_contract.py). They must give
the same answers and raise the same domain errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    Tone,
    UsageEventType,
    WebhookSource,
)
from repurposeflow.domain.errors import DuplicateUser, IdempotencyKeyReused
from repurposeflow.domain.model import (
    Generation,
    HistoryCursor,
    Subscription,
    TokenUsage,
    UsageEvent,
    User,
    VoiceSettings,
    WebhookEvent,
)
from repurposeflow.domain.quota import Quota

NOW = datetime(2026, 3, 14, 9, 30, 15, 123456, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


def make_user(n: int = 1, **changes: object) -> User:
    user = User.create(clerk_user_id=f"user_{n}", email=f"person{n}@example.com", now=NOW)
    return attrs.evolve(user, **changes) if changes else user


def make_generation(user: User, n: int = 0, **changes: object) -> Generation:
    gen = Generation(
        id=uuid.uuid4(),
        user_id=user.id,
        input_content=f"Source text number {n} about writing once.",
        input_content_hash=f"{n:064x}",
        request_key=f"{n + 1:064x}",
        selected_platforms=(Platform.TWITTER, Platform.EMAIL),
        selected_tone=Tone.EDUCATIONAL,
        created_at=NOW + timedelta(minutes=n),
        charged_reset_at=APRIL,
    )
    return attrs.evolve(gen, **changes) if changes else gen


def without_updated_at(user: User | None) -> User | None:
    # PostgreSQL's trigger stamps updated_at with the server clock on every UPDATE.
    return attrs.evolve(user, updated_at=None) if user is not None else None


# --- users ----------------------------------------------------------------------------


def test_user_round_trip_and_lookups(store):
    user = make_user(
        full_name="Ada Lovelace",
        stripe_customer_id="cus_1",
        voice=VoiceSettings(Tone.OPINIONATED, ("synergy",), ("A sample post.",), 7),
    )
    with store.uow() as uow:
        uow.users.add(user)
        uow.commit()
    with store.uow() as uow:
        assert uow.users.get(user.id) == user
        assert uow.users.get_by_clerk_id("user_1") == user
        assert uow.users.get_by_stripe_customer("cus_1") == user
        assert uow.users.get(uuid.uuid4()) is None
        assert uow.users.get_by_clerk_id("nobody") is None
        assert uow.users.get_by_stripe_customer("cus_nobody") is None


def test_leaving_without_commit_rolls_back(store):
    with store.uow() as uow:
        uow.users.add(make_user())
    with store.uow() as uow:
        assert uow.users.get_by_clerk_id("user_1") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"clerk_user_id": "user_1"}, "Clerk id"),
        ({"email": "PERSON1@example.com"}, "email"),
        ({"stripe_customer_id": "cus_1"}, "Stripe customer"),
    ],
)
def test_duplicate_live_user_is_refused_and_the_transaction_goes_on(store, changes, field):
    first = make_user(stripe_customer_id="cus_1")
    second = make_user(2, **changes)
    with store.uow() as uow:
        uow.users.add(first)
        with pytest.raises(DuplicateUser) as caught:
            uow.users.add(second)
        assert field in caught.value.message
        # the error changed nothing and the unit of work is still usable
        uow.users.add(make_user(3))
        uow.commit()
    with store.uow() as uow:
        assert uow.users.get(second.id) is None
        assert uow.users.get_by_clerk_id("user_3") is not None


def test_same_id_twice_is_a_duplicate(store):
    user = make_user()
    with store.uow() as uow:
        uow.users.add(user)
        with pytest.raises(DuplicateUser):
            uow.users.add(attrs.evolve(user, clerk_user_id="other", email="other@example.com"))


def test_soft_deleted_user_frees_clerk_id_email_and_customer(store):
    old = make_user(stripe_customer_id="cus_1")
    with store.uow() as uow:
        uow.users.add(old)
        uow.users.soft_delete(old.id, NOW)
        uow.users.soft_delete(old.id, NOW + timedelta(days=1))  # the first delete stays
        fresh = make_user(stripe_customer_id="cus_1")
        uow.users.add(fresh)
        uow.commit()
    with store.uow() as uow:
        assert uow.users.get(old.id).deleted_at == NOW
        assert uow.users.get_by_clerk_id("user_1").id == fresh.id
        assert uow.users.get_by_stripe_customer("cus_1").id == fresh.id


def test_update_profile_voice_and_plan(store):
    a, b = make_user(1), make_user(2)
    with store.uow() as uow:
        uow.users.add(a)
        uow.users.add(b)
        uow.users.reserve(a.id, NOW)
        uow.users.update_profile(a.id, email="new@example.com", full_name="New Name")
        with pytest.raises(DuplicateUser):
            uow.users.update_profile(b.id, email="NEW@example.com", full_name=None)
        voice = VoiceSettings(Tone.AUTHORITY, ("delve", "leverage"), ("one", "two"), 0)
        uow.users.set_voice(a.id, voice)
        uow.users.set_plan(
            a.id,
            tier=Tier.PRO,
            status=SubscriptionStatus.PAST_DUE,
            limit=500,
            stripe_customer_id="cus_9",
            stripe_subscription_id="sub_9",
            current_period_end=APRIL,
        )
        uow.commit()
    with store.uow() as uow:
        got = uow.users.get(a.id)
        assert (got.email, got.full_name, got.voice) == ("new@example.com", "New Name", voice)
        assert (got.subscription_tier, got.subscription_status) == (
            Tier.PRO,
            SubscriptionStatus.PAST_DUE,
        )
        assert (got.generations_limit, got.generations_count_current_month) == (500, 1)
        assert (got.stripe_customer_id, got.stripe_subscription_id) == ("cus_9", "sub_9")
        assert got.subscription_current_period_end == APRIL
        assert uow.users.get(b.id).email == "person2@example.com"


def test_reserve_until_exhausted_then_roll_and_refund(store):
    user = make_user()
    with store.uow() as uow:
        uow.users.add(user)
        quotas = [uow.users.reserve(user.id, NOW) for _ in range(11)]
        uow.commit()
    assert quotas[0] == Quota(1, 10, APRIL)
    assert quotas[9] == Quota(10, 10, APRIL)
    assert quotas[10] is None
    with store.uow() as uow:
        assert uow.users.refund(user.id, datetime(2026, 3, 1, tzinfo=UTC)) is False
        assert uow.users.refund(user.id, APRIL) is True
        got = uow.users.get(user.id)
        assert got.generations_count_current_month == 9
        assert got.last_generation_at == NOW
        # exactly at reset_at a new window starts, once, from now
        later = datetime(2026, 7, 9, 8, tzinfo=UTC)
        assert uow.users.reserve(user.id, APRIL) == Quota(1, 10, datetime(2026, 5, 1, tzinfo=UTC))
        assert uow.users.reserve(user.id, later) == Quota(1, 10, datetime(2026, 8, 1, tzinfo=UTC))
        # a unit charged in an ended window is gone with it
        assert uow.users.refund(user.id, APRIL) is False
        uow.commit()


def test_reserve_refuses_deleted_and_unknown_users_and_refund_never_goes_negative(store):
    user = make_user()
    with store.uow() as uow:
        uow.users.add(user)
        assert uow.users.refund(user.id, APRIL) is False
        uow.users.soft_delete(user.id, NOW)
        assert uow.users.reserve(user.id, NOW) is None
        assert uow.users.reserve(uuid.uuid4(), NOW) is None
        assert uow.users.refund(uuid.uuid4(), APRIL) is False


def test_downgrade_keeps_count_and_blocks(store):
    user = make_user(generations_limit=500, subscription_tier=Tier.PRO)
    with store.uow() as uow:
        uow.users.add(user)
        for _ in range(12):
            uow.users.reserve(user.id, NOW)
        uow.users.set_plan(
            user.id,
            tier=Tier.FREE,
            status=SubscriptionStatus.ACTIVE,
            limit=10,
            stripe_customer_id=None,
            stripe_subscription_id=None,
            current_period_end=None,
        )
        assert uow.users.reserve(user.id, NOW) is None
        assert uow.users.get(user.id).generations_count_current_month == 12
        # next month a new window starts and the new limit applies
        assert uow.users.reserve(user.id, APRIL) == Quota(1, 10, datetime(2026, 5, 1, tzinfo=UTC))


# --- generations ------------------------------------------------------------------------


def full_generation(user: User) -> Generation:
    return make_generation(
        user,
        status=GenerationStatus.PARTIAL,
        llm_provider="scripted",
        llm_model="scripted-1",
        core_message="Write once, post everywhere.",
        key_points=("one", "two"),
        detected_topic="writing",
        detected_audience="creators",
        outputs={
            Platform.TWITTER: {"thread": ["1/ a", "2/ b"], "tweet_count": 2, "hashtags": []},
        },
        platform_errors={Platform.EMAIL: "provider down"},
        error_message="email: provider down",
        generation_time_ms=1234,
        usage=TokenUsage(100, 40, 60, Decimal("0.001234")),
        completed_at=NOW + timedelta(seconds=3),
    )


def test_generation_round_trip_save_and_duplicate(store):
    user = make_user()
    gen = make_generation(user)
    with store.uow() as uow:
        uow.users.add(user)
        uow.generations.add(gen)
        with pytest.raises(ValueError):
            uow.generations.add(gen)
        uow.commit()
    with store.uow() as uow:
        assert uow.generations.get(gen.id) == gen
        finished = attrs.evolve(full_generation(user), id=gen.id)
        uow.generations.save(finished)
        with pytest.raises(KeyError):
            uow.generations.save(make_generation(user, 9))
        uow.commit()
    with store.uow() as uow:
        got = uow.generations.get(gen.id)
        assert got == finished
        assert got.usage.cost_usd == Decimal("0.001234")
        assert got.total_tokens_used == 160
        assert got.delivered == (Platform.TWITTER,)
        assert uow.generations.get(uuid.uuid4()) is None


def test_an_idempotency_key_names_one_generation_per_user(store):
    ada, bob = make_user(1), make_user(2)
    first = make_generation(ada, 0, idempotency_key="key-1")
    with store.uow() as uow:
        uow.users.add(ada)
        uow.users.add(bob)
        uow.generations.add(first)
        # Another user may use the same key.
        uow.generations.add(make_generation(bob, 0, idempotency_key="key-1"))
        uow.commit()
    with store.uow() as uow:
        assert uow.generations.find_by_idempotency_key(ada.id, "key-1") == first
        assert uow.generations.find_by_idempotency_key(ada.id, "key-2") is None
        with pytest.raises(IdempotencyKeyReused) as refused:
            uow.generations.add(make_generation(ada, 5, idempotency_key="key-1"))
        assert refused.value.generation_id == first.id
        # The refusal spoils nothing: the transaction goes on.
        uow.generations.add(make_generation(ada, 6, idempotency_key="key-2"))
        uow.commit()
    with store.uow() as uow:
        assert uow.generations.find_by_idempotency_key(ada.id, "key-2") is not None


def test_find_by_request_key_returns_newest_completed(store):
    user, other = make_user(1), make_user(2)
    key = "k" * 64
    old = make_generation(user, 0, request_key=key, status=GenerationStatus.COMPLETED)
    new = make_generation(user, 5, request_key=key, status=GenerationStatus.COMPLETED)
    partial = make_generation(user, 9, request_key=key, status=GenerationStatus.PARTIAL)
    theirs = make_generation(other, 20, request_key=key, status=GenerationStatus.COMPLETED)
    with store.uow() as uow:
        for u in (user, other):
            uow.users.add(u)
        for g in (old, new, partial, theirs):
            uow.generations.add(g)
        assert uow.generations.find_by_request_key(user.id, key) == new
        assert uow.generations.find_by_request_key(user.id, "x" * 64) is None


def test_settle_failed_happens_once(store):
    user = make_user()
    gen = make_generation(user)
    done = make_generation(user, 1, status=GenerationStatus.COMPLETED)
    with store.uow() as uow:
        uow.users.add(user)
        uow.generations.add(gen)
        uow.generations.add(done)
        later = NOW + timedelta(minutes=30)
        assert uow.generations.settle_failed(gen.id, error_message="boom", now=later) == APRIL
        assert uow.generations.settle_failed(gen.id, error_message="again", now=later) is None
        assert uow.generations.settle_failed(done.id, error_message="x", now=later) is None
        assert uow.generations.settle_failed(uuid.uuid4(), error_message="x", now=later) is None
        uow.commit()
    with store.uow() as uow:
        got = uow.generations.get(gen.id)
        assert (got.status, got.error_message, got.charged_reset_at, got.completed_at) == (
            GenerationStatus.FAILED,
            "boom",
            None,
            NOW + timedelta(minutes=30),
        )
        assert uow.generations.get(done.id) == done


def test_list_for_user_filters_and_keyset_pages(store):
    user, other = make_user(1), make_user(2)
    statuses = [GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.PENDING]
    gens = [make_generation(user, i, status=statuses[i % 3]) for i in range(12)]
    # two at the very same instant: the id breaks the tie
    twin = make_generation(user, 11, status=GenerationStatus.COMPLETED)
    theirs = make_generation(other, 3)  # pending too: the sweep is across users
    with store.uow() as uow:
        uow.users.add(user)
        uow.users.add(other)
        for g in [*gens, twin, theirs]:
            uow.generations.add(g)
        uow.commit()
    everything = sorted([*gens, twin], key=lambda g: (g.created_at, g.id), reverse=True)
    with store.uow() as uow:
        pages, before = [], None
        while True:
            page = uow.generations.list_for_user(user.id, limit=4, before=before)
            pages.extend(page)
            if len(page) < 4:
                break
            before = HistoryCursor(page[-1].created_at, page[-1].id)
        assert pages == everything
        completed = uow.generations.list_for_user(
            user.id, limit=50, status=GenerationStatus.COMPLETED, since=NOW + timedelta(minutes=3)
        )
        assert completed == [
            g
            for g in everything
            if g.status is GenerationStatus.COMPLETED and g.created_at > NOW + timedelta(minutes=3)
        ]
        assert uow.generations.stale_pending(NOW + timedelta(minutes=6), 10) == [
            gens[2].id,
            theirs.id,
            gens[5].id,
        ]
        assert uow.generations.stale_pending(NOW + timedelta(hours=1), 1) == [gens[2].id]


# --- usage logs ------------------------------------------------------------------------


def test_usage_log_round_trip_newest_first(store):
    user = make_user()
    gen = make_generation(user)
    events = [
        UsageEvent(
            id=uuid.uuid4(),
            user_id=user.id,
            generation_id=gen.id if i % 2 else None,
            event_type=list(UsageEventType)[i % len(UsageEventType)],
            platforms=(Platform.TIKTOK, Platform.LINKEDIN)[: i % 3],
            created_at=NOW + timedelta(seconds=i),
            tokens_used=i * 10 if i else None,
            estimated_cost_usd=Decimal("0.000150") * i if i else None,
            user_agent="curl/8" if i == 2 else None,
            ip_address=("203.0.113.7", "2001:db8::1", None)[i % 3],
        )
        for i in range(6)
    ]
    with store.uow() as uow:
        uow.users.add(user)
        uow.generations.add(gen)
        for e in events:
            uow.usage.add(e)
        uow.commit()
    with store.uow() as uow:
        assert uow.usage.list_for_user(user.id) == events[::-1]
        assert uow.usage.list_for_user(user.id, limit=2) == events[:-3:-1]
        assert uow.usage.list_for_user(uuid.uuid4()) == []


# --- subscriptions ------------------------------------------------------------------------


def make_subscription(user: User, **changes: object) -> Subscription:
    sub = Subscription(
        id=uuid.uuid4(),
        user_id=user.id,
        stripe_subscription_id="sub_1",
        stripe_customer_id="cus_1",
        stripe_price_id="price_pro",
        tier=Tier.PRO,
        status=SubscriptionStatus.TRIALING,
        current_period_start=NOW,
        current_period_end=NOW + timedelta(days=30),
        amount_cents=1900,
        interval="month",
        created_at=NOW,
        trial_start=NOW,
        trial_end=NOW + timedelta(days=7),
        last_event_created=NOW,
        updated_at=NOW,
    )
    return attrs.evolve(sub, **changes) if changes else sub


def test_subscription_upsert_keeps_identity(store):
    user = make_user()
    sub = make_subscription(user)
    with store.uow() as uow:
        uow.users.add(user)
        uow.subscriptions.upsert(sub)
        newer = make_subscription(
            user,
            status=SubscriptionStatus.CANCELED,
            cancel_at_period_end=True,
            canceled_at=NOW + timedelta(days=2),
            created_at=NOW + timedelta(days=2),
            last_event_created=NOW + timedelta(days=2),
            updated_at=NOW,
        )
        uow.subscriptions.upsert(newer)
        uow.commit()
    with store.uow() as uow:
        got = uow.subscriptions.get_by_stripe_id("sub_1")
        assert attrs.evolve(got, updated_at=None) == attrs.evolve(
            newer, id=sub.id, created_at=sub.created_at, updated_at=None
        )
        assert [s.id for s in uow.subscriptions.list_for_user(user.id)] == [sub.id]
        assert uow.subscriptions.get_by_stripe_id("sub_none") is None
        assert uow.subscriptions.list_for_user(uuid.uuid4()) == []


# --- webhook events -----------------------------------------------------------------------


def make_event(n: int, **changes: object) -> WebhookEvent:
    event = WebhookEvent(
        id=uuid.uuid4(),
        source=WebhookSource.STRIPE if n % 2 else WebhookSource.CLERK,
        event_type="customer.subscription.updated",
        event_id=f"evt_{n}",
        payload={"id": f"evt_{n}", "data": {"object": {"n": n, "nested": [1, "two", None]}}},
        created_at=NOW + timedelta(seconds=n),
    )
    return attrs.evolve(event, **changes) if changes else event


def test_webhook_inbox(store):
    with store.uow() as uow:
        assert uow.webhooks.add_if_new(make_event(1)) is True
        assert uow.webhooks.add_if_new(make_event(1, payload={"other": True})) is False
        assert uow.webhooks.add_if_new(make_event(2)) is True
        assert uow.webhooks.add_if_new(make_event(3)) is True
        uow.webhooks.mark_failed("evt_1", "boom")
        uow.webhooks.mark_failed("evt_1", "boom again")
        uow.webhooks.mark_processed("evt_2", NOW)
        uow.webhooks.mark_processed("evt_missing", NOW)
        uow.commit()
    with store.uow() as uow:
        first = uow.webhooks.get_by_event_id("evt_1")
        assert first.payload == make_event(1).payload
        assert (first.retry_count, first.error_message, first.processed) == (2, "boom again", False)
        second = uow.webhooks.get_by_event_id("evt_2")
        assert (second.processed, second.processed_at, second.error_message) == (True, NOW, None)
        assert [e.event_id for e in uow.webhooks.list_unprocessed()] == ["evt_1", "evt_3"]
        assert [e.event_id for e in uow.webhooks.list_unprocessed(limit=1)] == ["evt_1"]
        assert uow.webhooks.get_by_event_id("evt_missing") is None


# --- one request in flight, race-safe sign-up (issue 8) -----------------------------------


def test_one_pending_generation_per_request_key(store):
    from repurposeflow.domain.errors import RequestInFlight

    user, other = make_user(), make_user(2)
    first = make_generation(user, 0)
    with store.uow() as uow:
        uow.users.add(user)
        uow.users.add(other)
        uow.generations.add(first)
        uow.commit()
    twin = attrs.evolve(make_generation(user, 0), id=uuid.uuid4())
    with store.uow() as uow:
        with pytest.raises(RequestInFlight) as refused:
            uow.generations.add(twin)
        assert refused.value.generation_id == first.id
        assert uow.generations.find_pending(user.id, first.request_key) == first
        # Other users, finished twins and other keys are not in the way.
        uow.generations.add(attrs.evolve(twin, id=uuid.uuid4(), user_id=other.id))
        uow.generations.add(attrs.evolve(twin, id=uuid.uuid4(), status=GenerationStatus.COMPLETED))
        uow.generations.add(make_generation(user, 1))
        uow.commit()
    with store.uow() as uow:
        assert uow.generations.settle_failed(first.id, error_message="x", now=NOW) == APRIL
        uow.generations.add(twin)  # the pending one ended: the request may run again
        assert uow.generations.find_pending(user.id, first.request_key) == twin
        uow.commit()
    with store.uow() as uow:
        assert uow.generations.get_for_update(twin.id) == twin
        assert uow.generations.find_pending(user.id, "f" * 64) is None


def test_add_if_absent_returns_the_live_user_and_reports_other_clashes(store):
    user = make_user(1, stripe_customer_id="cus_1")
    with store.uow() as uow:
        assert uow.users.add_if_absent(user) == user
        again = attrs.evolve(make_user(1), id=uuid.uuid4())
        assert without_updated_at(uow.users.add_if_absent(again)) == without_updated_at(user)
        with pytest.raises(DuplicateUser, match="email"):
            uow.users.add_if_absent(make_user(2, email=user.email))
        uow.commit()
    with store.uow() as uow:
        assert uow.users.get(again.id) is None
