"""Accounts: ensure/sync a user, voice settings, tier changes, deletion."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from repurposeflow.domain.enums import SubscriptionStatus, Tier, Tone
from repurposeflow.domain.errors import InvalidInput, UserNotFound
from repurposeflow.domain.identity import check_clerk_user_id, check_email, check_full_name
from repurposeflow.domain.model import User, VoiceSettings
from repurposeflow.domain.platforms import INSTAGRAM_HARD_HASHTAG_CAP
from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.domain.quota import effective_tier, limit_for

MAX_BANNED_PHRASES = 200
MAX_SAMPLE_POSTS = 10
MAX_SAMPLE_CHARS = 5_000


def require_user(uow: UnitOfWork, clerk_user_id: str) -> User:
    user = uow.users.get_by_clerk_id(check_clerk_user_id(clerk_user_id))
    if user is None:
        raise UserNotFound(clerk_user_id)
    return user


def get_user(uow: UnitOfWork, clerk_user_id: str) -> User:
    with uow:
        return require_user(uow, clerk_user_id)


def ensure_user(
    uow: UnitOfWork,
    clock: Clock,
    *,
    clerk_user_id: str,
    email: str,
    full_name: str | None = None,
) -> User:
    """The live user with this Clerk id, created on the free tier if new; a changed
    email or name is synced."""
    clerk_user_id = check_clerk_user_id(clerk_user_id)
    email = check_email(email)
    full_name = check_full_name(full_name)
    with uow:
        user = uow.users.get_by_clerk_id(clerk_user_id)
        if user is None:
            # Many first requests of one new person may race here: insert-or-nothing,
            # then the winner's row.
            user = uow.users.add_if_absent(
                User.create(
                    clerk_user_id=clerk_user_id, email=email, full_name=full_name, now=clock.now()
                )
            )
        if (user.email, user.full_name) != (email, full_name):
            uow.users.update_profile(user.id, email=email, full_name=full_name)
            user = attrs.evolve(user, email=email, full_name=full_name)
        uow.commit()
        return user


def sign_in(
    uow: UnitOfWork,
    clock: Clock,
    *,
    clerk_user_id: str,
    email: str | None = None,
    full_name: str | None = None,
) -> User:
    """The live user behind a verified session, created on the free tier on first
    sight. Session tokens often carry no email: a new user then gets a placeholder
    address (reserved ``.invalid`` domain) that Clerk's ``user.created`` webhook
    replaces; an existing user's profile is left to those webhooks."""
    with uow:
        user = uow.users.get_by_clerk_id(clerk_user_id)
    if user is not None:
        return user
    clerk_user_id = check_clerk_user_id(clerk_user_id)
    new = User.create(
        clerk_user_id=clerk_user_id,
        email=check_email(email or f"{clerk_user_id}@users.invalid"),
        full_name=check_full_name(full_name),
        now=clock.now(),
    )
    with uow:
        # Insert or nothing: a concurrent first request, or Clerk's user.created arriving
        # at the same moment, keeps its row as it is (never the placeholder over a real
        # address).
        user = uow.users.add_if_absent(new)
        uow.commit()
        return user


def set_voice(
    uow: UnitOfWork,
    clerk_user_id: str,
    *,
    default_tone: str | None = None,
    banned_phrases: Iterable[str] | None = None,
    sample_posts: Iterable[str] | None = None,
    instagram_hashtag_cap: int | None = None,
) -> VoiceSettings:
    """Change any of the voice settings; the ones not given stay."""
    tone = Tone.parse(default_tone) if default_tone is not None else None
    phrases: tuple[str, ...] | None = None
    if banned_phrases is not None:
        phrases = tuple(dict.fromkeys(p.strip() for p in banned_phrases if p.strip()))
        if len(phrases) > MAX_BANNED_PHRASES:
            raise InvalidInput(f"At most {MAX_BANNED_PHRASES} banned phrases.")
    samples: tuple[str, ...] | None = None
    if sample_posts is not None:
        samples = tuple(s.strip() for s in sample_posts if s.strip())
        if len(samples) > MAX_SAMPLE_POSTS or any(len(s) > MAX_SAMPLE_CHARS for s in samples):
            raise InvalidInput(
                f"At most {MAX_SAMPLE_POSTS} sample posts of {MAX_SAMPLE_CHARS} characters each."
            )
    if instagram_hashtag_cap is not None and not (
        0 <= instagram_hashtag_cap <= INSTAGRAM_HARD_HASHTAG_CAP
    ):
        raise InvalidInput(f"The Instagram hashtag cap must be 0-{INSTAGRAM_HARD_HASHTAG_CAP}.")
    with uow:
        user = require_user(uow, clerk_user_id)
        old = user.voice
        voice = VoiceSettings(
            default_tone=tone if tone is not None else old.default_tone,
            banned_phrases=phrases if phrases is not None else old.banned_phrases,
            sample_posts=samples if samples is not None else old.sample_posts,
            instagram_hashtag_cap=(
                instagram_hashtag_cap
                if instagram_hashtag_cap is not None
                else old.instagram_hashtag_cap
            ),
        )
        uow.users.set_voice(user.id, voice)
        uow.commit()
        return voice


def change_tier(
    uow: UnitOfWork,
    clerk_user_id: str,
    tier: str | Tier,
    status: str | SubscriptionStatus = SubscriptionStatus.ACTIVE,
    *,
    stripe_customer_id: str | None = None,
    stripe_subscription_id: str | None = None,
) -> User:
    """Set the plan; the limit follows the effective tier at once and the count stays
    (a downgrade only blocks new reservations while count >= limit)."""
    tier = Tier.parse(tier)
    status = SubscriptionStatus.parse(status)
    with uow:
        user = require_user(uow, clerk_user_id)
        limit = limit_for(effective_tier(tier, status))
        uow.users.set_plan(
            user.id,
            tier=tier,
            status=status,
            limit=limit,
            stripe_customer_id=stripe_customer_id or user.stripe_customer_id,
            stripe_subscription_id=stripe_subscription_id or user.stripe_subscription_id,
            current_period_end=user.subscription_current_period_end,
        )
        uow.commit()
        updated = uow.users.get(user.id)
        assert updated is not None
        return updated


def delete_user(uow: UnitOfWork, clock: Clock, clerk_user_id: str) -> None:
    """Soft delete: history stays, generation stops, the email is free for a new account."""
    with uow:
        user = require_user(uow, clerk_user_id)
        uow.users.soft_delete(user.id, clock.now())
        uow.commit()
