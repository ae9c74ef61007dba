"""An in-process IdentityVerifier for tests, demos and host applications without Clerk.

Session tokens are opaque strings it issued (``issue_token``); webhooks are verified
exactly as the Clerk verifier does (svix, same headers and tolerance) with the fake's
own secret, and ``sign_webhook`` makes the headers for a body.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from svix.webhooks import Webhook

from repurposeflow.adapters.identity.clerk import read_clerk_event, verify_clerk_webhook
from repurposeflow.domain.errors import Unauthorized
from repurposeflow.domain.external import Identity, IdentityEvent, VerifiedWebhook

DEFAULT_SECRET = "whsec_" + base64.b64encode(b"fake-identity-webhook-secret").decode()


class FakeIdentityVerifier:
    def __init__(self, *, webhook_secret: str = DEFAULT_SECRET) -> None:
        self.webhook_secret = webhook_secret
        self._webhook = Webhook(webhook_secret)
        self._tokens: dict[str, Identity] = {}
        self._lock = threading.Lock()

    def issue_token(
        self, clerk_user_id: str, *, email: str | None = None, session_id: str | None = None
    ) -> str:
        token = "fake_session_" + secrets.token_urlsafe(16)
        with self._lock:
            self._tokens[token] = Identity(
                clerk_user_id=clerk_user_id, session_id=session_id, email=email
            )
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def sign_webhook(
        self, body: bytes, *, message_id: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """svix-id, svix-timestamp and svix-signature headers for ``body``."""
        message_id = message_id or "msg_" + secrets.token_hex(12)
        ts = int(time.time()) if timestamp is None else timestamp
        signature = self._webhook.sign(
            message_id, datetime.fromtimestamp(ts, UTC), body.decode("utf-8")
        )
        return {"svix-id": message_id, "svix-timestamp": str(ts), "svix-signature": signature}

    def verify_session_token(self, token: str) -> Identity:
        token = (token or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        if not token:
            raise Unauthorized("Sign in first: no session token was sent.")
        with self._lock:
            identity = self._tokens.get(token)
        if identity is None:
            raise Unauthorized("The session token is invalid.")
        return identity

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        return verify_clerk_webhook(body, headers, self._webhook)

    def read_event(self, payload: Mapping[str, Any]) -> IdentityEvent:
        return read_clerk_event(payload)
