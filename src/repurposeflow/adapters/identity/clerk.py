"""Clerk: session tokens verified offline (RS256 against ``CLERK_JWT_KEY``, PyJWT) and
user webhooks verified with ``svix`` (``svix-*`` or Standard Webhooks ``webhook-*``
headers, ±5 minutes), read into vendor-neutral identity events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import jwt
from svix.webhooks import Webhook, WebhookVerificationError

from repurposeflow.domain.enums import WebhookSource
from repurposeflow.domain.errors import InvalidInput, NotConfigured, Unauthorized, WebhookRejected
from repurposeflow.domain.external import (
    Identity,
    IdentityEvent,
    IdentityEventKind,
    VerifiedWebhook,
)

ALGORITHM = "RS256"
_EVENT_KINDS = {
    "user.created": IdentityEventKind.USER_CREATED,
    "user.updated": IdentityEventKind.USER_UPDATED,
    "user.deleted": IdentityEventKind.USER_DELETED,
}


@attrs.frozen
class ClerkSettings:
    webhook_secret: str | None = None  # CLERK_WEBHOOK_SIGNING_SECRET (whsec_…)
    jwt_key: str | None = None  # CLERK_JWT_KEY: the instance's public key, PEM
    # CLERK_AUTHORIZED_PARTIES: the origins allowed in a token's azp; empty allows any.
    authorized_parties: tuple[str, ...] = ()
    leeway_seconds: int = 5


# --- reading Clerk JSON -------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _ms_time(value: Any) -> datetime | None:
    """Milliseconds since the epoch; None for anything else, a date past year 9999,
    infinity or NaN included (the caller falls back to another time)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            return None
    return None


def primary_email(user: Mapping[str, Any]) -> str | None:
    addresses = [a for a in user.get("email_addresses") or () if isinstance(a, Mapping)]
    primary_id = user.get("primary_email_address_id")
    chosen = next((a for a in addresses if a.get("id") == primary_id), None)
    if chosen is None and addresses:
        chosen = addresses[0]
    return _str(chosen.get("email_address")) if chosen else None


def read_clerk_event(payload: Mapping[str, Any]) -> IdentityEvent:
    event_type = payload.get("type")
    data = payload.get("data")
    occurred_at = _ms_time(payload.get("timestamp")) or datetime.now(UTC)
    kind = _EVENT_KINDS.get(event_type) if isinstance(event_type, str) else None
    if kind is None:
        return IdentityEvent(IdentityEventKind.IGNORED, occurred_at)
    if not isinstance(data, Mapping) or not _str(data.get("id")):
        raise InvalidInput(f"The Clerk {event_type} event has no user id.")
    if kind is IdentityEventKind.USER_DELETED:
        return IdentityEvent(kind, occurred_at, clerk_user_id=_str(data.get("id")))
    name = " ".join(p for p in (_str(data.get("first_name")), _str(data.get("last_name"))) if p)
    return IdentityEvent(
        kind,
        occurred_at,
        clerk_user_id=_str(data.get("id")),
        email=primary_email(data),
        full_name=name or None,
    )


# --- webhooks ------------------------------------------------------------------------------


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    return next((lowered[n] for n in names if lowered.get(n)), None)


def verify_clerk_webhook(
    body: bytes, headers: Mapping[str, str], webhook: Webhook
) -> VerifiedWebhook:
    """Verify with svix (either header family); the message id is the event id."""
    message_id = _header(headers, "svix-id", "webhook-id")
    if not message_id or not _header(headers, "svix-signature", "webhook-signature"):
        raise WebhookRejected(
            "Clerk webhook rejected: missing svix-id/svix-signature (or webhook-*) headers."
        )
    try:
        webhook.verify(body, dict(headers))
    except WebhookVerificationError as exc:
        reason = str(exc)
        if "too old" in reason or "too new" in reason:
            raise WebhookRejected(
                "Clerk webhook rejected: the timestamp is more than 5 minutes off."
            ) from None
        if "Missing" in reason or "Invalid Signature Headers" in reason:
            raise WebhookRejected(
                "Clerk webhook rejected: missing or unreadable signature headers."
            ) from None
        raise WebhookRejected(
            "Clerk webhook rejected: the signature does not match the body "
            "(wrong CLERK_WEBHOOK_SIGNING_SECRET, or the body was changed)."
        ) from None
    except (ValueError, TypeError):  # a malformed signature list or a non-UTF-8 body
        raise WebhookRejected("Clerk webhook rejected: malformed signature or body.") from None
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookRejected("Clerk webhook rejected: the body is not JSON.") from None
    except RecursionError:
        raise WebhookRejected("Clerk webhook rejected: the JSON is nested too deeply.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise WebhookRejected("Clerk webhook rejected: the body is not an event with a type.")
    timestamp = _header(headers, "svix-timestamp", "webhook-timestamp") or "0"
    created = _ms_time(payload.get("timestamp")) or datetime.fromtimestamp(int(timestamp), UTC)
    return VerifiedWebhook(
        source=WebhookSource.CLERK,
        event_id=message_id,
        event_type=payload["type"],
        created=created,
        payload=payload,
    )


# --- the verifier ---------------------------------------------------------------------------


class ClerkIdentityVerifier:
    """The IdentityVerifier on Clerk: nothing here calls Clerk's API."""

    def __init__(self, settings: ClerkSettings) -> None:
        self.settings = settings
        self._webhook = Webhook(settings.webhook_secret) if settings.webhook_secret else None
        self._key: Any = None
        if settings.jwt_key:
            try:
                rsa = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
                # Environments often carry the PEM on one line with literal \n.
                self._key = rsa.prepare_key(settings.jwt_key.replace("\\n", "\n"))
            except (ValueError, TypeError, jwt.InvalidKeyError) as exc:
                raise InvalidInput(
                    f"CLERK_JWT_KEY is not an RSA public key in PEM form: {exc}"
                ) from None

    def verify_session_token(self, token: str) -> Identity:
        if self._key is None:
            raise NotConfigured("Session tokens need CLERK_JWT_KEY (the instance's PEM key).")
        token = (token or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        if not token:
            raise Unauthorized("Sign in first: no session token was sent.")
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise Unauthorized("The session token is not a JWT.") from None
        if algorithm != ALGORITHM:
            raise Unauthorized(f"The session token's algorithm {algorithm!r} is not accepted.")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "nbf", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The session token has expired; sign in again.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The session token is not valid yet.") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"The session token is invalid: {exc}.") from None
        parties = self.settings.authorized_parties
        if parties and claims.get("azp") not in parties:
            raise Unauthorized("The session token was issued for another origin (azp).")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("The session token names no user.")
        return Identity(
            clerk_user_id=subject,
            session_id=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
            email=claims.get("email") if isinstance(claims.get("email"), str) else None,
        )

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        if self._webhook is None:
            raise NotConfigured("Clerk webhooks need CLERK_WEBHOOK_SIGNING_SECRET.")
        return verify_clerk_webhook(body, headers, self._webhook)

    def read_event(self, payload: Mapping[str, Any]) -> IdentityEvent:
        return read_clerk_event(payload)
