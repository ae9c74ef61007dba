"""Checking a post a person edited by hand, before they copy it out.

The page asks this on every edit, so it reads (never writes) and charges nothing. The
rules are the validators the engines are held to; grounding is judged against the
generation the post came from, when the caller names it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from repurposeflow.domain.enums import Platform
from repurposeflow.domain.limits import Measure, measures
from repurposeflow.domain.platforms import output_from_dict
from repurposeflow.domain.ports import UnitOfWork
from repurposeflow.domain.validation import ValidationContext, Violation, validate
from repurposeflow.services.history import get_generation
from repurposeflow.services.users import get_user

# Without the source there is nothing to hold numbers and links to: that one rule waits.
_NEEDS_SOURCE = frozenset({"ungrounded-fact"})


@attrs.frozen
class Review:
    violations: tuple[Violation, ...]
    measures: tuple[Measure, ...]


def review_output(
    uow: UnitOfWork,
    clerk_user_id: str,
    platform: Platform,
    data: Mapping[str, Any],
    *,
    generation_id: uuid.UUID | None = None,
) -> Review:
    output = output_from_dict(platform, data)
    user = get_user(uow, clerk_user_id)
    source = (
        get_generation(uow, clerk_user_id, generation_id).input_content
        if generation_id is not None
        else ""
    )
    ctx = ValidationContext.for_user(
        source,
        extra_banned=user.voice.banned_phrases,
        instagram_hashtag_cap=user.voice.instagram_hashtag_cap,
    )
    found = validate(output, ctx)
    if generation_id is None:
        found = [v for v in found if v.code not in _NEEDS_SOURCE]
    return Review(tuple(found), tuple(measures(output)))
