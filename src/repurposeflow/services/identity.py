"""Accounts kept in step with the identity provider's user events."""

from __future__ import annotations

from datetime import datetime

from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.external import IdentityEvent, IdentityEventKind
from repurposeflow.domain.identity import check_clerk_user_id, check_email, check_full_name
from repurposeflow.domain.model import User
from repurposeflow.domain.ports import UnitOfWork


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
    clerk_id = check_clerk_user_id(clerk_id)
    email = check_email(event.email) if event.email else None
    full_name = check_full_name(event.full_name)
    if user is None:
        if uow.users.clerk_id_was_deleted(clerk_id):
            return "account already deleted"
        if email is None:
            raise InvalidInput(f"The {event.kind.value} event for {clerk_id} has no email.")
        # The person's first API request may be creating the account at this moment.
        user = uow.users.add_if_absent(
            User.create(clerk_user_id=clerk_id, email=email, full_name=full_name, now=now)
        )
        if (user.email, user.full_name) == (email, full_name):
            return "created"
    email = email or user.email
    if (user.email, user.full_name) == (email, full_name):
        return "unchanged"
    uow.users.update_profile(user.id, email=email, full_name=full_name)
    return "updated"
