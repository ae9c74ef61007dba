"""Clerk user events through the webhook inbox on every store: create, update, delete,
sign up again; a clear failure for an email in use; deletion is final."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.identity import FakeIdentityVerifier
from repurposeflow.domain.errors import NotFound, UserDeleted
from repurposeflow.domain.webhooks import WebhookOutcome, WebhookReceipt
from repurposeflow.services.repurpose import RepurposeRequest, repurpose
from repurposeflow.services.users import sign_in
from repurposeflow.services.webhooks import WebhookInbox
from tests.clerk_events import user_event
from tests.integration.conftest import Store

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
TEXT = "One long post can feed a whole week of content. Keep the facts and cut the rest. " * 3


class Clerk:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = ManualClock(NOW)
        self.verifier = FakeIdentityVerifier()
        self.inbox = WebhookInbox(store.uow, self.clock, identity=self.verifier)

    def send(self, event_type: str, user_id: str, **kw: str | None) -> WebhookReceipt:
        raw = json.dumps(user_event(event_type, user_id, **kw)).encode()
        return self.inbox.receive("clerk", raw, self.verifier.sign_webhook(raw))

    def user(self, clerk_id: str):  # type: ignore[no-untyped-def]
        with self.store.uow() as uow:
            return uow.users.get_by_clerk_id(clerk_id)


def test_create_update_delete_and_sign_up_again(store: Store):
    clerk = Clerk(store)
    assert (
        clerk.send("user.created", "user_a", email="ann@example.com", first_name="Ann").outcome
        == "processed"
    )
    ann = clerk.user("user_a")
    assert (ann.email, ann.full_name, ann.subscription_tier) == ("ann@example.com", "Ann", "free")

    clerk.send("user.updated", "user_a", email="ann@new.example", first_name="Ann", last_name="Lee")
    ann = clerk.user("user_a")
    assert (ann.email, ann.full_name) == ("ann@new.example", "Ann Lee")

    clerk.send("user.deleted", "user_a")
    assert clerk.user("user_a") is None
    with pytest.raises((UserDeleted, NotFound)):
        repurpose(store.uow(), ScriptedEngine(), clerk.clock, RepurposeRequest("user_a", TEXT))

    # A late update does not bring the account back; a new sign-up with the email works.
    assert clerk.send("user.updated", "user_a", email="ann@new.example").outcome == "processed"
    assert clerk.user("user_a") is None
    assert clerk.send("user.created", "user_b", email="ANN@new.example").outcome == "processed"
    assert clerk.user("user_b").email == "ANN@new.example"


def test_an_email_in_use_is_a_clear_failure_kept_for_replay(store: Store):
    clerk = Clerk(store)
    clerk.send("user.created", "user_a", email="same@example.com")
    receipt = clerk.send("user.created", "user_b", email="same@example.com")
    assert receipt.outcome is WebhookOutcome.FAILED
    assert receipt.error and "email" in receipt.error and "same@example.com" in receipt.error
    assert clerk.user("user_b") is None

    clerk.send("user.deleted", "user_a")  # the email is free again
    [replayed] = clerk.inbox.replay(failed_only=True)
    assert replayed.outcome is WebhookOutcome.PROCESSED
    assert clerk.user("user_b").email == "same@example.com"


def test_an_overlong_email_is_refused_before_the_store(store: Store):
    clerk = Clerk(store)
    receipt = clerk.send("user.created", "user_a", email="a" * 300 + "@example.com")
    assert receipt.outcome is WebhookOutcome.FAILED
    assert receipt.error and "the limit is 255" in receipt.error and "SELECT" not in receipt.error


def test_the_webhook_and_a_first_request_racing_make_one_account(store: Store):
    clerk = Clerk(store)

    def race(n: int) -> None:
        barrier = threading.Barrier(2)
        clerk_id, email = f"user_r{n}", f"race{n}@example.com"

        def webhook() -> object:
            barrier.wait()
            return clerk.send("user.created", clerk_id, email=email, first_name="R")

        def first_request() -> object:  # the HTTP path: a session token without an email
            barrier.wait()
            return sign_in(store.uow(), clerk.clock, clerk_user_id=clerk_id)

        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(webhook), pool.submit(first_request)]:
                future.result()

    for n in range(8):
        race(n)
    with store.uow() as uow:
        assert uow.webhooks.list_events(unprocessed_only=True) == []
        for n in range(8):
            user = uow.users.get_by_clerk_id(f"user_r{n}")
            # Whoever wins, Clerk's profile ends up on the one account.
            assert user is not None
            assert (user.email, user.full_name) == (f"race{n}@example.com", "R")
