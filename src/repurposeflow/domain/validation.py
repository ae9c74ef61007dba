"""Validators: every rule a platform output must keep before it is stored.

``validate(output, source, ...)`` returns a list of ``Violation``; empty means postable.
Hard limits are per platform; the quality rules (facts grounded in the source, no leaked
placeholders, no "sounds like AI" phrases, no repeated posts) apply to every platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import attrs

from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import (
    URL,
    char_count,
    strip_thread_numbering,
    twitter_weighted_length,
)
from repurposeflow.domain.platforms import (
    EmailOutput,
    InstagramOutput,
    LinkedInOutput,
    PlatformOutput,
    ThreadsOutput,
    TikTokOutput,
    TwitterOutput,
)

DEFAULT_BANNED_PHRASES: tuple[str, ...] = (
    "delve",
    "in conclusion",
    "game-changer",
    "game changer",
    "in today's fast-paced world",
    "in today's digital age",
    "unlock the power",
    "unleash the power",
    "harness the power",
    "it's important to note",
    "it is important to note",
    "navigating the landscape",
    "ever-evolving",
    "rich tapestry",
    "a testament to",
    "let's dive in",
    "embark on a journey",
    "revolutionize",
    "supercharge",
    "elevate your",
    "seamlessly",
    "in the realm of",
    "look no further",
)

# Signs that a prompt, template or model apology leaked into the output.
_LEAK_PATTERNS = (
    r"\{\{.*?\}\}",
    r"\[(?:insert|your|add|link|name|placeholder|todo)[^\]]*\]",
    r"<(?:insert|your|placeholder)[^>]*>",
    r"\bTODO\b",
    r"\blorem ipsum\b",
    r"\bas an ai\b",
    r"\bi(?:'m| am) (?:sorry|unable)\b",
    r"\bi cannot (?:help|assist|comply)\b",
    r"\b(?:here is|here's) (?:your|the) (?:thread|post|caption|email|output)\b",
    r"\b(?:system|user) prompt\b",
    r"\bignore (?:all |the )?previous instructions\b",
    r"```",
)
_LEAK = re.compile("|".join(_LEAK_PATTERNS), re.IGNORECASE | re.DOTALL)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_HASHTAG = re.compile(r"^#[^\W_][\w]*$", re.UNICODE)
# A hashtag inside running text; group 1 is the tag without its "#".
INLINE_HASHTAG = re.compile(r"(?<![\w&#])#([^\W_][\w]*)", re.UNICODE)


@attrs.frozen
class Violation:
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@attrs.frozen
class ValidationContext:
    """What a validator needs to know beyond the output itself."""

    source: str
    banned_phrases: tuple[str, ...] = DEFAULT_BANNED_PHRASES
    instagram_hashtag_cap: int = pf.INSTAGRAM_DEFAULT_HASHTAG_CAP

    @classmethod
    def for_user(
        cls,
        source: str,
        extra_banned: Iterable[str] = (),
        instagram_hashtag_cap: int = pf.INSTAGRAM_DEFAULT_HASHTAG_CAP,
    ) -> ValidationContext:
        extra = tuple(p.strip() for p in extra_banned if p.strip())
        return cls(
            source=source,
            banned_phrases=DEFAULT_BANNED_PHRASES + extra,
            instagram_hashtag_cap=instagram_hashtag_cap,
        )


# --- quality rules -------------------------------------------------------------------


def _canonical_url(url: str) -> str:
    url = url.rstrip(".,;:!?)]}'\"").lower()
    url = re.sub(r"^https?://", "", url)
    url = re.sub(r"^www\.", "", url)
    return url.rstrip("/")


def _canonical_number(number: str) -> str:
    return number.replace(",", "")


@lru_cache(maxsize=64)
def _source_facts(source: str) -> tuple[frozenset[str], frozenset[str]]:
    urls = frozenset(_canonical_url(u) for u in URL.findall(source))
    without_urls = URL.sub(" ", source)
    numbers = frozenset(_canonical_number(n) for n in _NUMBER.findall(without_urls))
    return urls, numbers


def ungrounded_facts(texts: Iterable[str], source: str) -> list[str]:
    """Numbers and URLs in ``texts`` that the source does not contain."""
    source_urls, source_numbers = _source_facts(source)
    missing: list[str] = []
    for text in texts:
        text = strip_thread_numbering(text)
        for url in URL.findall(text):
            if _canonical_url(url) not in source_urls:
                missing.append(url)
        for number in _NUMBER.findall(URL.sub(" ", text)):
            if _canonical_number(number) not in source_numbers:
                missing.append(number)
    return list(dict.fromkeys(missing))


def _phrase_regex(phrase: str) -> str:
    """A phrase as whole words, any run of spaces between them, either apostrophe."""
    phrase = phrase.lower().replace("’", "'")  # people type either apostrophe
    escaped = re.escape(phrase).replace("\\ ", r"\s+").replace("'", "['’]")
    return rf"(?<!\w){escaped}(?!\w)"


@lru_cache(maxsize=256)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(_phrase_regex(phrase), re.IGNORECASE)


@lru_cache(maxsize=64)
def banned_phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``phrases``, matched as the banned-phrase rule matches them: for engines
    that steer clear of the phrases before the validator has its say."""
    return re.compile("|".join(map(_phrase_regex, phrases)) or r"(?!x)x", re.IGNORECASE)


def banned_phrases_in(texts: Iterable[str], phrases: Sequence[str]) -> list[str]:
    found = []
    # A link is the source's, not our prose: /delve-into-rust in a URL is no AI tell.
    joined = URL.sub(" ", "\n".join(texts)).replace("’", "'")
    for phrase in phrases:
        if _phrase_pattern(phrase).search(joined):
            found.append(phrase)
    return found


def leaks_in(texts: Iterable[str]) -> list[str]:
    return [m.group(0) for text in texts for m in [_LEAK.search(text)] if m]


_NON_WORDS = re.compile(r"\W+")


def repeat_key(text: str) -> str:
    """What tells two posts apart: their words, case folded, thread numbering gone. Two
    posts with the same key repeat each other."""
    return _NON_WORDS.sub(" ", strip_thread_numbering(text).lower()).strip()


def repeated(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dupes = []
    for item in items:
        key = repeat_key(item)
        if key and key in seen:
            dupes.append(item)
        seen.add(key)
    return dupes


def _quality(output: PlatformOutput, ctx: ValidationContext) -> list[Violation]:
    texts = output.texts()
    out: list[Violation] = []
    missing = ungrounded_facts(texts, ctx.source)
    if missing:
        out.append(
            Violation(
                "ungrounded-fact", f"numbers or links not in the source: {', '.join(missing)}"
            )
        )
    leaks = leaks_in(texts)
    if leaks:
        out.append(
            Violation("leaked-instructions", f"leaked template or prompt text: {leaks[0]!r}")
        )
    banned = banned_phrases_in(texts, ctx.banned_phrases)
    if banned:
        out.append(Violation("banned-phrase", f"banned phrases: {', '.join(banned)}"))
    if any(not t.strip() for t in texts):
        out.append(Violation("empty-text", "an empty text field"))
    return out


def is_hashtag(tag: str) -> bool:
    """``#`` then a letter or digit, then word characters: one tag every platform takes."""
    return _HASHTAG.match(tag) is not None


def _hashtag_rules(tags: Sequence[str], label: str) -> list[Violation]:
    out = []
    bad = [t for t in tags if not is_hashtag(t)]
    if bad:
        out.append(Violation("bad-hashtag", f"{label} hashtags must look like #word: {bad[0]!r}"))
    if len({t.lower() for t in tags}) != len(tags):
        out.append(Violation("repeated-hashtag", f"{label} repeats a hashtag"))
    return out


def _no_repeats(items: Sequence[str], label: str) -> list[Violation]:
    dupes = repeated(items)
    if dupes:
        return [Violation("repeated-post", f"{label} repeats itself: {dupes[0][:60]!r}")]
    return []


def _too_long(what: str, size: int, limit: int, unit: str = "chars") -> Violation:
    return Violation("too-long", f"{what} is {size} {unit} (max {limit})")


# --- per platform -----------------------------------------------------------------------


def _tiktok(o: TikTokOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if len(o.hooks) != pf.TIKTOK_HOOKS:
        out.append(
            Violation(
                "hook-count", f"TikTok needs exactly {pf.TIKTOK_HOOKS} hooks, got {len(o.hooks)}"
            )
        )
    low, high = pf.TIKTOK_TALKING_POINTS
    if not low <= len(o.talking_points) <= high:
        out.append(
            Violation(
                "talking-points",
                f"TikTok needs {low}-{high} talking points, got {len(o.talking_points)}",
            )
        )
    if char_count(o.caption) > pf.TIKTOK_MAX_CAPTION:
        out.append(_too_long("TikTok caption", char_count(o.caption), pf.TIKTOK_MAX_CAPTION))
    out += _hashtag_rules(o.hashtags, "TikTok")
    out += _no_repeats([*o.hooks, *o.talking_points], "TikTok script")
    return out


def _twitter(o: TwitterOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if not o.thread:
        out.append(Violation("empty-thread", "the X thread has no posts"))
    if o.tweet_count != len(o.thread):
        out.append(
            Violation("tweet-count", f"tweet_count {o.tweet_count} != {len(o.thread)} posts")
        )
    for i, post in enumerate(o.thread, 1):
        weight = twitter_weighted_length(post)
        if weight > pf.TWITTER_MAX_WEIGHTED:
            out.append(
                _too_long(f"X post {i}", weight, pf.TWITTER_MAX_WEIGHTED, unit="weighted chars")
            )
    out += _hashtag_rules(o.hashtags, "X")
    out += _no_repeats(o.thread, "the X thread")
    return out


def _threads(o: ThreadsOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if not o.posts:
        out.append(Violation("empty-thread", "Threads needs at least one post"))
    for i, post in enumerate(o.posts, 1):
        if char_count(post) > pf.THREADS_MAX_CHARS:
            out.append(_too_long(f"Threads post {i}", char_count(post), pf.THREADS_MAX_CHARS))
    tags = [t for post in o.posts for t in INLINE_HASHTAG.findall(URL.sub(" ", post))]
    if o.topic_tag is not None:
        if not is_hashtag("#" + o.topic_tag.lstrip("#")) or " " in o.topic_tag:
            out.append(
                Violation("bad-hashtag", f"Threads topic tag {o.topic_tag!r} is not one tag")
            )
        tags.append(o.topic_tag)
    if len({t.lstrip("#").lower() for t in tags}) > 1:
        out.append(Violation("topic-tags", "Threads allows at most one topic tag"))
    out += _no_repeats(o.posts, "Threads")
    return out


def _linkedin(o: LinkedInOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if char_count(o.post) > pf.LINKEDIN_MAX_CHARS:
        out.append(_too_long("LinkedIn post", char_count(o.post), pf.LINKEDIN_MAX_CHARS))
    hook = o.opening_hook.strip()
    position = o.post.find(hook) if hook else -1
    # Counted as every other limit is (char_count), not in Python string indexes.
    if position < 0 or char_count(o.post[: position + len(hook)]) > pf.LINKEDIN_FOLD_CHARS:
        out.append(
            Violation(
                "hook-below-fold",
                "LinkedIn opening hook must stand in the first "
                f"{pf.LINKEDIN_FOLD_CHARS} characters of the post",
            )
        )
    low, high = pf.LINKEDIN_HASHTAGS
    if not low <= len(o.hashtags) <= high:
        out.append(
            Violation(
                "hashtag-count", f"LinkedIn needs {low}-{high} hashtags, got {len(o.hashtags)}"
            )
        )
    out += _hashtag_rules(o.hashtags, "LinkedIn")
    return out


def _instagram(o: InstagramOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    cap = min(ctx.instagram_hashtag_cap, pf.INSTAGRAM_HARD_HASHTAG_CAP)
    if char_count(o.full_caption) > pf.INSTAGRAM_MAX_CAPTION:
        out.append(
            _too_long(
                "Instagram caption with hashtags",
                char_count(o.full_caption),
                pf.INSTAGRAM_MAX_CAPTION,
            )
        )
    if len(o.hashtags) > cap:
        out.append(
            Violation("hashtag-count", f"Instagram allows {cap} hashtags, got {len(o.hashtags)}")
        )
    if len(o.slides) > pf.INSTAGRAM_MAX_SLIDES:
        out.append(
            Violation(
                "slide-count",
                f"a carousel holds at most {pf.INSTAGRAM_MAX_SLIDES} slides, got {len(o.slides)}",
            )
        )
    out += _hashtag_rules(o.hashtags, "Instagram")
    out += _no_repeats(o.slides, "the carousel")
    return out


def _email(o: EmailOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if char_count(o.subject) > pf.EMAIL_MAX_SUBJECT:
        out.append(_too_long("email subject", char_count(o.subject), pf.EMAIL_MAX_SUBJECT))
    low, high = pf.EMAIL_PREHEADER_RANGE
    if not low <= char_count(o.preheader) <= high:
        out.append(
            Violation(
                "preheader-length",
                f"email preheader is {char_count(o.preheader)} chars (needs {low}-{high})",
            )
        )
    return out


_RULES = {
    TikTokOutput: _tiktok,
    TwitterOutput: _twitter,
    ThreadsOutput: _threads,
    LinkedInOutput: _linkedin,
    InstagramOutput: _instagram,
    EmailOutput: _email,
}


def validate(output: PlatformOutput, ctx: ValidationContext) -> list[Violation]:
    """Every violation of ``output`` against its platform's limits and the quality rules."""
    return _RULES[type(output)](output, ctx) + _quality(output, ctx)  # type: ignore[operator]
