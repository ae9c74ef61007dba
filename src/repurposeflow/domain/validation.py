"""Validators: every rule a platform output must keep before it is stored.

``validate(output, source, ...)`` returns a list of ``Violation``; empty means postable.
Hard limits are per platform; the quality rules (facts grounded in the source, no leaked
placeholders, no "sounds like AI" phrases, no repeated posts) apply to every platform.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from types import ModuleType

import attrs

from repurposeflow.domain import platforms as pf
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

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\"']+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THREAD_NUMBERING = re.compile(r"^\s*\d{1,3}\s*/(?:\d{1,3})?\s")
_HASHTAG = re.compile(r"^#[^\W_][\w]*$", re.UNICODE)
_INLINE_HASHTAG = re.compile(r"(?<![\w&#])#[^\W_][\w]*", re.UNICODE)


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
        cls, source: str, extra_banned: Iterable[str] = (), instagram_hashtag_cap: int = 5
    ) -> ValidationContext:
        extra = tuple(p.strip() for p in extra_banned if p.strip())
        return cls(
            source=source,
            banned_phrases=DEFAULT_BANNED_PHRASES + extra,
            instagram_hashtag_cap=instagram_hashtag_cap,
        )


_ZWJ = "\u200d"
# What may follow an emoji inside one sequence: VS16, keycap, skin tones, tag characters.
_EMOJI_TRAIL = frozenset(
    ["\ufe0f", "\u20e3"]
    + [chr(c) for c in range(0x1F3FB, 0x1F400)]
    + [chr(c) for c in range(0xE0020, 0xE0080)]
)
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_X_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def _x_char_weight(ch: str) -> int:
    return 1 if any(lo <= ord(ch) <= hi for lo, hi in _X_LIGHT) else 2


@cache
def _twitter_text() -> ModuleType:
    # Importing it compiles its emoji tables (about half a second): pay that only when
    # X text is measured, not on every command that merely imports the validators.
    import twitter_text

    return twitter_text


def _emoji_overcount(text: str) -> int:
    """How much twitter-text-parser overcounts emoji sequences in ``text``.

    Its emoji list dates from 2019 (Emoji 12), so a newer ZWJ sequence (🧑‍💻, ❤️‍🔥,
    🏳️‍⚧️) or a newer emoji with a skin tone comes out of it in pieces (5-7 instead of 2).
    Group every emoji with its trailing modifiers and ZWJ-joined successors; each group
    weighs 2, as the v3 rules say for any emoji sequence."""
    norm = _LINE_ENDS.sub("\n", unicodedata.normalize("NFC", text))
    if _ZWJ not in norm and not _EMOJI_TRAIL.intersection(norm):
        return 0
    spans = {
        m["indices"][0]: m["indices"][1] for m in _twitter_text().extract_emojis_with_indices(norm)
    }
    in_url = {
        i for u in _twitter_text().extract_urls_with_indices(norm) for i in range(*u["indices"])
    }

    def starts_emoji(i: int) -> bool:
        return (
            i < len(norm)
            and i not in in_url
            and (i in spans or unicodedata.category(norm[i]) == "So")
        )

    def take(i: int) -> tuple[int, int]:  # (end, weight the library gave it)
        return (spans[i], 2) if i in spans else (i + 1, _x_char_weight(norm[i]))

    over = 0
    i = 0
    while i < len(norm):
        if not starts_emoji(i):
            i += 1
            continue
        counted = pieces = 0
        j = i
        while True:
            j, weight = take(j)
            counted, pieces = counted + weight, pieces + 1
            while j < len(norm) and norm[j] in _EMOJI_TRAIL and j not in in_url:
                j, weight = take(j)
                counted, pieces = counted + weight, pieces + 1
            if j < len(norm) and norm[j] == _ZWJ and starts_emoji(j + 1):
                counted, pieces, j = counted + _x_char_weight(_ZWJ), pieces + 1, j + 1
                continue
            break
        if pieces > 1:
            over += counted - 2
        i = j
    return over


def x_weighted_length(text: str) -> int:
    """X's weighted length (twitter-text v3: NFC, CJK and most symbols weigh 2, emoji
    sequences 2, every URL 23)."""
    return _twitter_text().parse_tweet(text).weightedLength - _emoji_overcount(text)


def char_count(text: str) -> int:
    """Characters as Threads, LinkedIn, Instagram and email count them (NFC code points)."""
    return len(unicodedata.normalize("NFC", text))


def strip_thread_numbering(text: str) -> str:
    return _THREAD_NUMBERING.sub("", text, count=1)


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
    urls = frozenset(_canonical_url(u) for u in _URL.findall(source))
    without_urls = _URL.sub(" ", source)
    numbers = frozenset(_canonical_number(n) for n in _NUMBER.findall(without_urls))
    return urls, numbers


def ungrounded_facts(texts: Iterable[str], source: str) -> list[str]:
    """Numbers and URLs in ``texts`` that the source does not contain."""
    source_urls, source_numbers = _source_facts(source)
    missing: list[str] = []
    for text in texts:
        text = strip_thread_numbering(text)
        for url in _URL.findall(text):
            if _canonical_url(url) not in source_urls:
                missing.append(url)
        for number in _NUMBER.findall(_URL.sub(" ", text)):
            if _canonical_number(number) not in source_numbers:
                missing.append(number)
    return list(dict.fromkeys(missing))


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    phrase = phrase.lower().replace("’", "'")  # people type either apostrophe
    escaped = re.escape(phrase).replace("\\ ", r"\s+").replace("'", "['’]")
    return re.compile(rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


def banned_phrases_in(texts: Iterable[str], phrases: Sequence[str]) -> list[str]:
    found = []
    # A link is the source's, not our prose: /delve-into-rust in a URL is no AI tell.
    joined = _URL.sub(" ", "\n".join(texts)).replace("’", "'")
    for phrase in phrases:
        if _phrase_pattern(phrase).search(joined):
            found.append(phrase)
    return found


def leaks_in(texts: Iterable[str]) -> list[str]:
    return [m.group(0) for text in texts for m in [_LEAK.search(text)] if m]


def _norm_for_repeat(text: str) -> str:
    text = strip_thread_numbering(text)
    return re.sub(r"\W+", " ", text.lower()).strip()


def repeated(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dupes = []
    for item in items:
        key = _norm_for_repeat(item)
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


def _hashtag_rules(tags: Sequence[str], label: str) -> list[Violation]:
    out = []
    bad = [t for t in tags if not _HASHTAG.match(t)]
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


# --- per platform -----------------------------------------------------------------------


def _tiktok(o: TikTokOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if len(o.hooks) != 3:
        out.append(Violation("hook-count", f"TikTok needs exactly 3 hooks, got {len(o.hooks)}"))
    if not 3 <= len(o.talking_points) <= 5:
        out.append(
            Violation(
                "talking-points", f"TikTok needs 3-5 talking points, got {len(o.talking_points)}"
            )
        )
    if char_count(o.caption) > pf.TIKTOK_MAX_CAPTION:
        out.append(
            Violation("too-long", f"TikTok caption is {char_count(o.caption)} chars (max 2200)")
        )
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
        weight = x_weighted_length(post)
        if weight > pf.X_MAX_WEIGHTED:
            out.append(
                Violation("too-long", f"X post {i} weighs {weight} (max {pf.X_MAX_WEIGHTED})")
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
            out.append(
                Violation("too-long", f"Threads post {i} is {char_count(post)} chars (max 500)")
            )
    tags = [t for post in o.posts for t in _INLINE_HASHTAG.findall(_URL.sub(" ", post))]
    if o.topic_tag is not None:
        if not _HASHTAG.match("#" + o.topic_tag.lstrip("#")) or " " in o.topic_tag:
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
        out.append(Violation("too-long", f"LinkedIn post is {char_count(o.post)} chars (max 3000)"))
    hook = o.opening_hook.strip()
    position = o.post.find(hook) if hook else -1
    if position < 0 or position + len(hook) > pf.LINKEDIN_FOLD_CHARS:
        out.append(
            Violation(
                "hook-below-fold",
                "LinkedIn opening hook must stand in the first 210 characters of the post",
            )
        )
    if not 3 <= len(o.hashtags) <= 5:
        out.append(
            Violation("hashtag-count", f"LinkedIn needs 3-5 hashtags, got {len(o.hashtags)}")
        )
    out += _hashtag_rules(o.hashtags, "LinkedIn")
    return out


def _instagram(o: InstagramOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    cap = min(ctx.instagram_hashtag_cap, pf.INSTAGRAM_HARD_HASHTAG_CAP)
    if char_count(o.full_caption) > pf.INSTAGRAM_MAX_CAPTION:
        out.append(
            Violation(
                "too-long",
                f"Instagram caption with hashtags is {char_count(o.full_caption)} chars (max 2200)",
            )
        )
    if len(o.hashtags) > cap:
        out.append(
            Violation("hashtag-count", f"Instagram allows {cap} hashtags, got {len(o.hashtags)}")
        )
    if len(o.slides) > pf.INSTAGRAM_MAX_SLIDES:
        out.append(
            Violation("slide-count", f"a carousel holds at most 20 slides, got {len(o.slides)}")
        )
    out += _hashtag_rules(o.hashtags, "Instagram")
    out += _no_repeats(o.slides, "the carousel")
    return out


def _email(o: EmailOutput, ctx: ValidationContext) -> list[Violation]:
    out = []
    if char_count(o.subject) > pf.EMAIL_MAX_SUBJECT:
        out.append(
            Violation("too-long", f"email subject is {char_count(o.subject)} chars (max 60)")
        )
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
