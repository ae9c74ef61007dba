"""The HTTP app over the memory store, SQLite or PostgreSQL, with the scripted engine
and a test identity verifier."""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from repurposeflow.adapters.billing import FakeBillingGateway
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.adapters.identity.clerk import ClerkIdentityVerifier, ClerkSettings
from repurposeflow.bootstrap import App, HttpSettings, build_content_engine, load_settings
from repurposeflow.domain.ports import ContentEngine
from repurposeflow.entrypoints.http import create_app

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
ARTICLE = (
    "Most teams write one long post and stop there. That wastes the work. "
    "A single essay holds enough ideas for a week of posts on every platform. "
    "Pull the core message out first, then shape it for each place you publish. "
    "Keep the facts from the source and cut everything else."
)


# A test Clerk instance: session tokens are RS256 JWTs signed with this key and verified
# offline by the real ClerkIdentityVerifier, as in production.
_PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    _PRIVATE_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
CLERK_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"clerk-http-test-signing-secret!!").decode()


@functools.cache
def session_token(clerk_user_id: str) -> str:
    now = int(time.time())
    claims = {
        "sub": clerk_user_id,
        "sid": f"sess_{clerk_user_id}",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 3600,
    }
    return jwt.encode(claims, _PRIVATE_KEY, algorithm="RS256")


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token(user)}"}


def clerk_verifier() -> ClerkIdentityVerifier:
    return ClerkIdentityVerifier(
        ClerkSettings(webhook_secret=CLERK_WEBHOOK_SECRET, jwt_key=PUBLIC_PEM)
    )


def engines(name: str) -> ContentEngine:
    return ScriptedEngine() if name == "scripted" else build_content_engine(name)


def make_app(
    system: Callable[[], Any],
    per_user: Callable[[str], Any] | None = None,
    *,
    clock: ManualClock | None = None,
    billing: FakeBillingGateway | None = None,
) -> App:
    return App(
        settings=load_settings(
            env={}, database_url="memory://", engine="scripted", known_engines=("scripted",)
        ),
        uow_factory=system,
        clock=clock or ManualClock(NOW),
        engine_factory=engines,
        user_uow_factory=per_user,
        identity=clerk_verifier(),
        billing=billing or FakeBillingGateway(),
    )


def http_settings(**overrides: Any) -> HttpSettings:
    base: dict[str, Any] = {
        "rate_limit_ip": "100000/minute",
        "rate_limit_user": "100000/minute",
        "admin_users": ("admin",),
        "warm_up": False,  # see HttpSettings.warm_up
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
