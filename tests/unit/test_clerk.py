"""Clerk: session tokens verified offline (RS256) and user webhooks verified with svix."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from svix.webhooks import Webhook

from repurposeflow.adapters.identity import ClerkIdentityVerifier, ClerkSettings
from repurposeflow.adapters.identity.fake import FakeIdentityVerifier
from repurposeflow.domain.errors import InvalidInput, NotConfigured, Unauthorized, WebhookRejected
from repurposeflow.domain.external import IdentityEventKind
from tests.clerk_events import user_event

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"clerk-test-signing-secret-32bytes").decode()
PARTIES = ("https://app.example.com",)


def _keypair() -> tuple[Any, str]:
    """The private key as an object (loading a PEM each time is slow), the public as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, public


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    private, public = _keypair()
    other_private, _ = _keypair()
    return {"private": private, "public": public, "other_private": other_private}


@pytest.fixture
def verifier(keys) -> ClerkIdentityVerifier:
    return ClerkIdentityVerifier(
        ClerkSettings(
            webhook_secret=WEBHOOK_SECRET, jwt_key=keys["public"], authorized_parties=PARTIES
        )
    )


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "user_2abc",
        "sid": "sess_1",
        "azp": PARTIES[0],
        "iss": "https://clerk.example.com",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 60,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(keys: dict[str, Any], key: str = "private", **claims: Any) -> str:
    return jwt.encode(_claims(**claims), keys[key], algorithm="RS256")


def test_a_valid_token_gives_the_identity(verifier, keys):
    identity = verifier.verify_session_token(_token(keys))
    assert (identity.clerk_user_id, identity.session_id) == ("user_2abc", "sess_1")
    assert verifier.verify_session_token("Bearer " + _token(keys)).clerk_user_id == "user_2abc"


def test_one_line_pem_from_the_environment_works(keys):
    one_line = keys["public"].strip().replace("\n", "\\n")
    verifier = ClerkIdentityVerifier(ClerkSettings(jwt_key=one_line))
    assert verifier.verify_session_token(_token(keys)).clerk_user_id == "user_2abc"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not yet valid",
        "wrong key",
        "wrong azp",
        "no azp",
        "alg none",
        "hs256 with the public key",
        "garbage",
        "empty",
        "no exp",
        "tampered claims",
    ],
)
def test_bad_tokens_are_rejected(verifier, keys, case):
    now = int(time.time())
    if case == "expired":
        token = _token(keys, exp=now - 30, iat=now - 120, nbf=now - 120)
    elif case == "not yet valid":
        token = _token(keys, nbf=now + 60, exp=now + 120)
    elif case == "wrong key":
        token = _token(keys, key="other_private")
    elif case == "wrong azp":
        token = _token(keys, azp="https://evil.example.com")
    elif case == "no azp":
        claims = _claims()
        del claims["azp"]
        token = jwt.encode(claims, keys["private"], algorithm="RS256")
    elif case == "alg none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    elif case == "hs256 with the public key":
        header = _b64({"alg": "HS256", "typ": "JWT"})
        payload = _b64(_claims())
        import hashlib
        import hmac

        mac = hmac.new(keys["public"].encode(), f"{header}.{payload}".encode(), hashlib.sha256)
        token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"
    elif case == "garbage":
        token = "not.a.token"
    elif case == "empty":
        token = "  "
    elif case == "no exp":
        token = _token(keys, exp=None)
    else:
        good = _token(keys)
        header, _, signature = good.split(".")
        token = f"{header}.{_b64(_claims(sub='user_admin'))}.{signature}"
    with pytest.raises(Unauthorized):
        verifier.verify_session_token(token)


def test_leeway_allows_small_clock_skew(keys):
    verifier = ClerkIdentityVerifier(ClerkSettings(jwt_key=keys["public"], leeway_seconds=30))
    now = int(time.time())
    assert verifier.verify_session_token(_token(keys, exp=now - 10, nbf=now - 60, iat=now - 60))


def test_settings_errors(keys):
    with pytest.raises(InvalidInput, match="CLERK_JWT_KEY"):
        ClerkIdentityVerifier(ClerkSettings(jwt_key="-----BEGIN PUBLIC KEY-----\nnope"))
    bare = ClerkIdentityVerifier(ClerkSettings())
    with pytest.raises(NotConfigured, match="CLERK_JWT_KEY"):
        bare.verify_session_token(_token(keys))
    with pytest.raises(NotConfigured, match="CLERK_WEBHOOK_SIGNING_SECRET"):
        bare.verify_webhook(b"{}", {})


# --- webhooks ---------------------------------------------------------------------------------


def _signed(
    payload: dict[str, Any], *, ts: int | None = None, msg: str = "msg_1"
) -> tuple[bytes, dict[str, str]]:
    from datetime import UTC, datetime

    raw = json.dumps(payload).encode()
    stamp = ts if ts is not None else int(time.time())
    sig = Webhook(WEBHOOK_SECRET).sign(msg, datetime.fromtimestamp(stamp, UTC), raw.decode())
    return raw, {"svix-id": msg, "svix-timestamp": str(stamp), "svix-signature": sig}


def test_webhooks_verify_with_either_header_family(verifier):
    raw, headers = _signed(user_event("user.created", "user_1", email="a@example.com"))
    verified = verifier.verify_webhook(raw, headers)
    assert (verified.event_id, verified.event_type) == ("msg_1", "user.created")
    standard = {k.replace("svix-", "webhook-").title(): v for k, v in headers.items()}
    assert verifier.verify_webhook(raw, standard).event_id == "msg_1"


@pytest.mark.parametrize(
    "case", ["tampered", "wrong secret", "stale", "future", "missing", "bad json", "bad signature"]
)
def test_bad_webhooks_are_rejected(verifier, case):
    payload = user_event("user.created", "user_1", email="a@example.com")
    raw, headers = _signed(payload)
    if case == "tampered":
        raw = raw.replace(b"a@example.com", b"b@example.com")
    elif case == "wrong secret":
        other = FakeIdentityVerifier()
        headers = other.sign_webhook(raw, message_id="msg_1")
    elif case == "stale":
        raw, headers = _signed(payload, ts=int(time.time()) - 6 * 60)
    elif case == "future":
        raw, headers = _signed(payload, ts=int(time.time()) + 6 * 60)
    elif case == "missing":
        headers = {"svix-id": "msg_1"}
    elif case == "bad json":
        raw, headers = b"{nope", _signed(payload)[1]
        from datetime import UTC, datetime

        headers["svix-signature"] = Webhook(WEBHOOK_SECRET).sign(
            "msg_1", datetime.fromtimestamp(int(headers["svix-timestamp"]), UTC), "{nope"
        )
    elif case == "bad signature":
        headers["svix-signature"] = "v1"
    with pytest.raises(WebhookRejected, match="Clerk webhook rejected"):
        verifier.verify_webhook(raw, headers)


def test_reading_user_events(verifier):
    created = verifier.read_event(
        user_event(
            "user.created", "user_1", email="a@example.com", first_name="Ann", last_name="Lee"
        )
    )
    assert (created.kind, created.clerk_user_id, created.email, created.full_name) == (
        IdentityEventKind.USER_CREATED, "user_1", "a@example.com", "Ann Lee",
    )  # fmt: skip
    assert (
        verifier.read_event(user_event("user.deleted", "user_1")).kind
        is IdentityEventKind.USER_DELETED
    )
    assert (
        verifier.read_event({"type": "session.created", "data": {}}).kind
        is IdentityEventKind.IGNORED
    )
    with pytest.raises(InvalidInput):
        verifier.read_event({"type": "user.updated", "data": {}})


def test_the_fake_issues_and_revokes_tokens():
    fake = FakeIdentityVerifier()
    token = fake.issue_token("user_1", email="a@example.com")
    assert fake.verify_session_token(f"Bearer {token}").clerk_user_id == "user_1"
    fake.revoke(token)
    with pytest.raises(Unauthorized):
        fake.verify_session_token(token)
