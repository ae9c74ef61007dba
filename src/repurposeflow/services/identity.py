"""Accounts kept in step with the identity provider's user events."""

from __future__ import annotations

from datetime import datetime

from repurposeflow.domain.errors import DuplicateUser, InvalidInput
from repurposeflow.domain.external import IdentityEvent, IdentityEventKind
from repurposeflow.domain.model import User
from repurposeflow.domain.ports import UnitOfWork

MAX_ID_CHARS = 255  # the seed's VARCHAR(255)


def _check(clerk_id: str, event: IdentityEvent) -> None:
    if len(clerk_id) > MAX_ID_CHARS:
        raise InvalidInput(f"The user id is longer than {MAX_ID_CHARS} characters.")
    if event.email is not None and ("@" not in event.email or len(event.email) > MAX_ID_CHARS):
        raise InvalidInput(f"{event.email[:80]!r} is not a usable email address.")
    if event.full_name is not None and len(event.full_name) > MAX_ID_CHARS:
        raise InvalidInput(f"The name is longer than {MAX_ID_CHARS} characters.")


def apply_identity_event(uow: UnitOfWork, event: IdentityEvent, *, now: datetime) -> str:
    """Apply one user event inside the caller's open unit of work; returns what happened.

    created/updated create the account or sync its primary email and name (an email held
    by another live account raises DuplicateUser: a clear error, kept for replay);
    deleted soft-deletes it, which stops generation and frees the email. A created or
    updated event for an account already deleted changes nothing: deletion is final, and
    a person who signs up again gets a new identity id.
    """
    if event.kind is IdentityEventKind.IGNORED:
        return "ignored"
    clerk_id = event.clerk_user_id
    if not clerk_id:
        raise InvalidInput(f"The {event.kind.value} event names no user.")
    user = uow.users.get_by_clerk_id(clerk_id)
    if event.kind is IdentityEventKind.USER_DELETED:
        if user is None:
            return "no such live user"
        uow.users.soft_delete(user.id, now)
        return "deleted"
    _check(clerk_id, event)
    if user is None:
        if uow.users.clerk_id_was_deleted(clerk_id):
            return "account already deleted"
        if not event.email:
            raise InvalidInput(f"The {event.kind.value} event for {clerk_id} has no email.")
        try:
            uow.users.add(
                User.create(
                    clerk_user_id=clerk_id, email=event.email, full_name=event.full_name, now=now
                )
            )
            return "created"
        except DuplicateUser:
            # The person's first API request created the account a moment ago.
            user = uow.users.get_by_clerk_id(clerk_id)
            if user is None:
                raise
    email = event.email or user.email
    if (user.email, user.full_name) == (email, event.full_name):
        return "unchanged"
    uow.users.update_profile(user.id, email=email, full_name=event.full_name)
    return "updated"
