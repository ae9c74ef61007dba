"""The six platform output types, their hard limits and their JSON shape.

Each output is a frozen attrs class; ``to_dict`` is what a generation stores in the
platform's JSON column and ``output_from_dict`` reads it back, refusing unknown shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from repurposeflow.domain.enums import Platform
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.measure import spoken_seconds

TWITTER_MAX_WEIGHTED = 280
THREADS_MAX_CHARS = 500
LINKEDIN_MAX_CHARS = 3000
LINKEDIN_FOLD_CHARS = 210
INSTAGRAM_MAX_CAPTION = 2200
INSTAGRAM_DEFAULT_HASHTAG_CAP = 5  # Instagram's cap since December 2025
INSTAGRAM_HARD_HASHTAG_CAP = 30
INSTAGRAM_MAX_SLIDES = 20
TIKTOK_MAX_CAPTION = 2200
TIKTOK_HOOKS = 3
TIKTOK_TALKING_POINTS = (3, 5)
LINKEDIN_HASHTAGS = (3, 5)
EMAIL_MAX_SUBJECT = 60
EMAIL_PREHEADER_RANGE = (40, 100)


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@attrs.frozen
class TikTokOutput:
    platform: ClassVar[Platform] = Platform.TIKTOK
    hooks: tuple[str, ...] = attrs.field(converter=_strs)
    talking_points: tuple[str, ...] = attrs.field(converter=_strs)
    cta: str
    hashtags: tuple[str, ...] = attrs.field(converter=_strs, default=())

    @property
    def caption(self) -> str:
        """The text posted under the video: the first hook, the CTA, the hashtags."""
        parts = [self.hooks[0] if self.hooks else "", self.cta, " ".join(self.hashtags)]
        return "\n\n".join(p for p in parts if p)

    @property
    def script(self) -> str:
        first = self.hooks[0] if self.hooks else ""
        return "\n".join([first, *self.talking_points, self.cta])

    @property
    def estimated_seconds(self) -> int:
        return spoken_seconds(self.script)

    def texts(self) -> list[str]:
        return [*self.hooks, *self.talking_points, self.cta]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hooks": list(self.hooks),
            "talking_points": list(self.talking_points),
            "cta": self.cta,
            "hashtags": list(self.hashtags),
            "caption": self.caption,
            "estimated_seconds": self.estimated_seconds,
        }


@attrs.frozen
class TwitterOutput:
    platform: ClassVar[Platform] = Platform.TWITTER
    thread: tuple[str, ...] = attrs.field(converter=_strs)
    hashtags: tuple[str, ...] = attrs.field(converter=_strs, default=())
    tweet_count: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.tweet_count is None:
            object.__setattr__(self, "tweet_count", len(self.thread))

    def texts(self) -> list[str]:
        return list(self.thread)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread": list(self.thread),
            "tweet_count": self.tweet_count,
            "hashtags": list(self.hashtags),
        }


@attrs.frozen
class ThreadsOutput:
    platform: ClassVar[Platform] = Platform.THREADS
    posts: tuple[str, ...] = attrs.field(converter=_strs)
    topic_tag: str | None = None

    def texts(self) -> list[str]:
        return list(self.posts)

    def to_dict(self) -> dict[str, Any]:
        return {"posts": list(self.posts), "topic_tag": self.topic_tag}


@attrs.frozen
class LinkedInOutput:
    platform: ClassVar[Platform] = Platform.LINKEDIN
    post: str
    opening_hook: str
    cta: str
    hashtags: tuple[str, ...] = attrs.field(converter=_strs, default=())

    def texts(self) -> list[str]:
        return [self.post, self.opening_hook, self.cta]

    def to_dict(self) -> dict[str, Any]:
        return {
            "post": self.post,
            "opening_hook": self.opening_hook,
            "cta": self.cta,
            "hashtags": list(self.hashtags),
        }


@attrs.frozen
class InstagramOutput:
    platform: ClassVar[Platform] = Platform.INSTAGRAM
    caption: str
    hashtags: tuple[str, ...] = attrs.field(converter=_strs, default=())
    slides: tuple[str, ...] = attrs.field(converter=_strs, default=())

    @property
    def full_caption(self) -> str:
        """What Instagram counts against its 2,200 limit: caption plus hashtags."""
        if not self.hashtags:
            return self.caption
        return f"{self.caption}\n\n{' '.join(self.hashtags)}"

    def texts(self) -> list[str]:
        return [self.caption, *self.slides]

    def to_dict(self) -> dict[str, Any]:
        return {
            "caption": self.caption,
            "hashtags": list(self.hashtags),
            "slides": list(self.slides),
        }


@attrs.frozen
class EmailOutput:
    platform: ClassVar[Platform] = Platform.EMAIL
    subject: str
    preheader: str
    body_markdown: str
    cta: str

    def texts(self) -> list[str]:
        return [self.subject, self.preheader, self.body_markdown, self.cta]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "preheader": self.preheader,
            "body_markdown": self.body_markdown,
            "cta": self.cta,
        }


PlatformOutput = (
    TikTokOutput | TwitterOutput | ThreadsOutput | LinkedInOutput | InstagramOutput | EmailOutput
)

OUTPUT_TYPES: dict[Platform, type[PlatformOutput]] = {
    Platform.TIKTOK: TikTokOutput,
    Platform.TWITTER: TwitterOutput,
    Platform.THREADS: ThreadsOutput,
    Platform.LINKEDIN: LinkedInOutput,
    Platform.INSTAGRAM: InstagramOutput,
    Platform.EMAIL: EmailOutput,
}

_DERIVED_KEYS = {Platform.TIKTOK: {"caption", "estimated_seconds"}}


def output_from_dict(platform: Platform, data: Mapping[str, Any]) -> PlatformOutput:
    """Build a platform output from JSON (an engine's answer or a stored column)."""
    platform = Platform(platform)
    cls = OUTPUT_TYPES[platform]
    fields = {f.name for f in attrs.fields(cls)}
    given = {k: v for k, v in data.items() if k not in _DERIVED_KEYS.get(platform, set())}
    unknown = set(given) - fields
    if unknown:
        raise InvalidInput(f"{platform} output has unknown fields: {', '.join(sorted(unknown))}")
    for field in attrs.fields(cls):
        if field.name in given:
            _check_json_type(platform, field, given[field.name])
    try:
        return cls(**given)
    except TypeError as exc:
        raise InvalidInput(f"{platform} output is malformed: {exc}") from None


def _check_json_type(platform: Platform, field: attrs.Attribute[Any], value: Any) -> None:
    """JSON types per field, so a confused model's answer (a number for a caption, a
    string where a list belongs) is refused here instead of crashing a validator."""
    converter: object = field.converter
    if converter is _strs:
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        wanted = "a list of strings"
    elif field.type in {"int | None", int | None}:
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        wanted = "a whole number"
    elif field.type in {"str | None", str | None}:
        ok = value is None or isinstance(value, str)
        wanted = "a string"
    else:
        ok = isinstance(value, str)
        wanted = "a string"
    if not ok:
        raise InvalidInput(
            f"{platform} output is malformed: {field.name} must be {wanted}, "
            f"not {type(value).__name__}"
        )
