"""The count each editable text is held to, as a person editing a post sees it.

The web page shows these next to every post while someone edits it; they come from the
same measures (``measure.py``) and limits (``platforms.py``) the validators judge by, so
a count the page shows over its limit is exactly a "too-long" violation on the server.
"""

from __future__ import annotations

import attrs

from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import char_count, twitter_weighted_length
from repurposeflow.domain.platforms import (
    EmailOutput,
    InstagramOutput,
    LinkedInOutput,
    PlatformOutput,
    ThreadsOutput,
    TikTokOutput,
    TwitterOutput,
)


@attrs.frozen
class Measure:
    """One text's size against its limit. ``field`` names where it lives in the output
    (``thread.0``, ``post``, ``subject``…), ``unit`` how it is counted."""

    field: str
    size: int
    limit: int
    unit: str = "chars"
    minimum: int = 0

    @property
    def ok(self) -> bool:
        return self.minimum <= self.size <= self.limit


def measures(output: PlatformOutput) -> list[Measure]:
    """Every limited text of ``output``, measured the way its platform counts."""
    if isinstance(output, TwitterOutput):
        return [
            Measure(f"thread.{i}", twitter_weighted_length(p), pf.TWITTER_MAX_WEIGHTED, "weighted")
            for i, p in enumerate(output.thread)
        ]
    if isinstance(output, ThreadsOutput):
        return [
            Measure(f"posts.{i}", char_count(p), pf.THREADS_MAX_CHARS)
            for i, p in enumerate(output.posts)
        ]
    if isinstance(output, LinkedInOutput):
        return [Measure("post", char_count(output.post), pf.LINKEDIN_MAX_CHARS)]
    if isinstance(output, InstagramOutput):
        return [Measure("caption", char_count(output.full_caption), pf.INSTAGRAM_MAX_CAPTION)]
    if isinstance(output, TikTokOutput):
        return [Measure("caption", char_count(output.caption), pf.TIKTOK_MAX_CAPTION)]
    if isinstance(output, EmailOutput):
        low, high = pf.EMAIL_PREHEADER_RANGE
        return [
            Measure("subject", char_count(output.subject), pf.EMAIL_MAX_SUBJECT),
            Measure("preheader", char_count(output.preheader), high, minimum=low),
        ]
    raise TypeError(f"not a platform output: {type(output).__name__}")
