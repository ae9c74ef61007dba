"""``seed_dev_data``: the seed document's test user and valid sample history, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from repurposeflow.domain.enums import GenerationStatus, Platform, Tier
from repurposeflow.domain.platforms import output_from_dict
from repurposeflow.domain.validation import ValidationContext, validate
from repurposeflow.services.devseed import SAMPLES, seed_dev_data
from repurposeflow.services.history import list_history
from repurposeflow.services.users import delete_user


def test_seed_creates_the_test_user_and_history_once(store, clock):
    first = seed_dev_data(store.uow(), clock)
    clock.advance(timedelta(hours=1))
    second = seed_dev_data(store.uow(), clock)

    assert (first.user_created, first.generations_added) == (True, len(SAMPLES))
    assert (second.user_created, second.generations_added) == (False, 0)
    user = second.user
    assert (user.clerk_user_id, user.email, user.full_name) == (
        "user_test123",
        "test@example.com",
        "Test User",
    )
    assert (user.subscription_tier, user.generations_limit) == (Tier.PRO, 500)
    page = list_history(store.uow(), "user_test123", limit=20, recent_only=True, clock=clock)
    assert len(page.items) == len(SAMPLES)
    for gen in page.items:
        assert gen.status is GenerationStatus.COMPLETED
        assert gen.delivered == tuple(Platform)
        ctx = ValidationContext.for_user(gen.input_content)
        for platform, data in gen.outputs.items():
            assert validate(output_from_dict(platform, data), ctx) == [], platform


def test_seed_after_the_test_user_was_deleted_makes_a_fresh_one(store, clock):
    seed_dev_data(store.uow(), clock)
    delete_user(store.uow(), clock, "user_test123")
    again = seed_dev_data(store.uow(), clock)
    assert again.user_created and again.generations_added == len(SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.slug)
def test_every_sample_output_is_valid(sample):
    ctx = ValidationContext.for_user(sample.source)
    for platform, output in sample.outputs().items():
        assert validate(output, ctx) == [], platform
