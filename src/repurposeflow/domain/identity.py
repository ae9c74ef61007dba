"""Identifiers a person or an identity provider hands us: checked before any store sees
them, so every store (memory, SQLite, PostgreSQL) gives the same answer to a bad one."""

from __future__ import annotations

from repurposeflow.domain.errors import InvalidInput

# The seed's VARCHAR(255) for Clerk ids, emails and names.
MAX_IDENTIFIER_CHARS = 255


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _bounded(what: str, value: str) -> str:
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise InvalidInput(
            f"The {what} {_shown(value)} has {len(value):,} characters; "
            f"the limit is {MAX_IDENTIFIER_CHARS}."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"The {what} {_shown(value)} contains control characters.")
    return value


def check_clerk_user_id(value: str) -> str:
    """A user id as given (trimmed); raises InvalidInput if empty or over-long."""
    if not isinstance(value, str):
        raise InvalidInput(f"A user id must be text, not {type(value).__name__}.")
    value = value.strip()
    if not value:
        raise InvalidInput("A user needs a Clerk user id.")
    return _bounded("user id", value)


def check_email(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"An email address must be text, not {type(value).__name__}.")
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in value):
        raise InvalidInput(f"{_shown(value)} is not an email address.")
    return _bounded("email address", value)


def check_full_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"A name must be text, not {type(value).__name__}.")
    value = value.strip()
    return _bounded("name", value) if value else None
