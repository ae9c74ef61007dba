"""The HTTP app over the memory store, SQLite or PostgreSQL, with the scripted engine
and a test identity verifier."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.bootstrap import App, HttpSettings, build_content_engine, load_settings
from repurposeflow.domain.errors import Unauthorized, WebhookRejected
from repurposeflow.domain.external import Identity, VerifiedWebhook
from repurposeflow.domain.ports import ContentEngine
from repurposeflow.entrypoints.http import create_app

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
ARTICLE = (
    "Most teams write one long post and stop there. That wastes the work. "
    "A single essay holds enough ideas for a week of posts on every platform. "
    "Pull the core message out first, then shape it for each place you publish. "
    "Keep the facts from the source and cut everything else."
)


class TokenIdentity:
    """Tokens are ``ok:<clerk id>``; anything else is refused."""

    def verify_session_token(self, token: str) -> Identity:
        if not token.startswith("ok:") or len(token) < 4:
            raise Unauthorized("The session token is invalid.")
        return Identity(clerk_user_id=token[3:], email=f"{token[3:]}@example.com")

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        raise WebhookRejected("no webhooks in this test double")


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer ok:{user}"}


def engines(name: str) -> ContentEngine:
    return ScriptedEngine() if name == "scripted" else build_content_engine(name)


def make_app(
    system: Callable[[], Any],
    per_user: Callable[[str], Any] | None = None,
    *,
    clock: ManualClock | None = None,
    **settings: Any,
) -> App:
    return App(
        settings=load_settings(env={}, database_url="memory://", engine="scripted"),
        uow_factory=system,
        clock=clock or ManualClock(NOW),
        engine_factory=engines,
        user_uow_factory=per_user,
        identity=TokenIdentity(),
    )


def http_settings(**overrides: Any) -> HttpSettings:
    base: dict[str, Any] = {
        "rate_limit_ip": "100000/minute",
        "rate_limit_user": "100000/minute",
        "admin_users": ("admin",),
    }
    base.update(overrides)
    return HttpSettings(**base)


@pytest.fixture
def memory_app() -> App:
    from repurposeflow.adapters.memory import MemoryStore

    return make_app(MemoryStore().uow)


@pytest.fixture
def client(memory_app: App) -> Iterator[TestClient]:
    with TestClient(create_app(memory_app, http_settings())) as c:
        yield c


class InlineJobs:
    """Runs each job in the submitting thread: deterministic, and indifferent to how
    often a test client starts and stops the app."""

    def __init__(self, app: App) -> None:
        self.app = app

    def submit(self, job: Any) -> None:
        self.app.run_job(job)

    def shutdown(self, *, wait: bool = True) -> None:
        return None
