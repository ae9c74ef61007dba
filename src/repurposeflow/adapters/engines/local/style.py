"""How a person writes, read from their own past posts, and applied to the few words the
local engine adds (openers, closers, calls to action).

Only a handful of numbers and yes/no answers leave the samples: emoji or not, where their
hashtags go, how long their sentences run, exclamation marks, lowercase openings,
contractions. No word of a sample ever reaches an output, so facts still come from the
source alone.
"""

from __future__ import annotations

import re
import statistics
from functools import lru_cache
from typing import Literal

import attrs

from repurposeflow.domain.measure import URL, word_count

HashtagHabit = Literal["inline", "end", "none"]

# Emoji and pictographs, with the joiners and variation selectors that glue sequences.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u2190-\u21ff"
    "\u3030\u303d\u3297\u3299\u200d\ufe0f\U0001f3fb-\U0001f3ff]+"
)
_HASHTAG = re.compile(r"(?<![\w#&])#[^\W\d_][\w]*")
_TRAILING_TAGS = re.compile(r"(?:\s*#[^\W\d_][\w]*)+\s*$")
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_CONTRACTION = re.compile(r"(?i)\b\w+['’](?:s|t|re|ll|d|ve|m)\b")
_CJK_LANGS = frozenset({"ja", "zh"})

# The engine's own emoji, one per role, for people whose posts use them: never one of
# theirs, so nothing of a sample is copied.
_ROLE_EMOJI = {
    "closer": "🙌",
    "tiktok_cta": "👇",
    "linkedin_cta": "👇",
    "instagram_cta": "✨",
    "slide_end": "✨",
}
# Spelled out for people who never use contractions.
_EXPANSIONS = {
    "here's": "here is",
    "that's": "that is",
    "it's": "it is",
    "what's": "what has",  # "What's been…", "What's worked…": the engine's only uses
    "i'd": "I would",
    "i'll": "I will",
    "i'm": "I am",
    "you'd": "you would",
    "you'll": "you will",
    "you're": "you are",
    "everyone's": "everyone is",
    "don't": "do not",
    "isn't": "is not",
    "can't": "cannot",
    "won't": "will not",
    "who'd": "who would",
    "who's": "who is",
}
_EXPANDABLE = re.compile(
    r"(?i)\b(" + "|".join(re.escape(k) for k in _EXPANSIONS).replace("'", "['’]") + r")\b"
)
# Sentence starts to lowercase; "I" stays a capital even in casual writing.
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)(?!I[\s'’])([A-Z])(?=[a-z'’ ])")


@attrs.frozen
class Style:
    emoji: bool
    hashtags: HashtagHabit
    sentence_words: float  # median words per sentence
    exclaims: bool
    lowercase: bool  # starts posts in lowercase
    contractions: bool

    @property
    def short(self) -> bool:
        return self.sentence_words <= 8

    def words_over(self, words: int) -> float:
        """How far past this person's usual sentence length ``words`` runs (0 to 1); zero
        for people who do not write short."""
        if not self.short:
            return 0.0
        target = max(6.0, 1.5 * self.sentence_words)
        return min(1.0, max(0.0, words - target) / target)

    def apply(self, phrase: str, role: str, language: str) -> str:
        """The engine's ``phrase`` for ``role`` said the way this person says things."""
        text = phrase
        cjk = language in _CJK_LANGS
        if not self.emoji:
            text = re.sub(r"\s{2,}", " ", _EMOJI.sub("", text)).strip()
            # The 👇 told readers more follows; without it, a colon does.
            if role == "opener" and text and text[-1].isalnum():
                text += "：" if cjk else ":"
        elif not _EMOJI.search(text) and role in _ROLE_EMOJI and text:
            text = f"{text} {_ROLE_EMOJI[role]}"
        if language == "en" and not self.contractions and not self.lowercase:
            text = _EXPANDABLE.sub(lambda m: _expand(m.group(1)), text)
        if self.exclaims:
            text = re.sub(r"\.(?=\s*(?:[^\w\s]*)$)", "!", text, count=1)
            text = re.sub(r"。(?=[^。]*$)", "！", text, count=1) if cjk else text
        if self.lowercase and language not in _CJK_LANGS:
            text = _SENTENCE_START.sub(_lower_start, text)
        return text


def _expand(word: str) -> str:
    full = _EXPANSIONS[word.lower().replace("’", "'")]
    return full[:1].upper() + full[1:] if word[:1].isupper() else full


def _lower_start(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2).lower()


def _hashtag_habit(sample: str) -> HashtagHabit:
    text = URL.sub(" ", sample)
    if not _HASHTAG.search(text):
        return "none"
    body = _TRAILING_TAGS.sub("", text)
    return "inline" if _HASHTAG.search(body) else "end"


@lru_cache(maxsize=256)
def style_of(samples: tuple[str, ...]) -> Style | None:
    """The style of ``samples`` (a person's own posts), or None when there are none: the
    engine then writes exactly as it always has."""
    posts = [p.strip() for p in samples if p and p.strip()]
    if not posts:
        return None
    sentences: list[str] = []
    for post in posts:
        plain = _HASHTAG.sub(" ", URL.sub(" ", post))
        sentences.extend(s.strip() for s in _SENTENCES.split(plain) if s.strip())
    lengths = [word_count(_EMOJI.sub(" ", s)) for s in sentences]
    lengths = [n for n in lengths if n] or [12]
    enders = [_EMOJI.sub("", s).rstrip(" \t\"'”’)")[-1:] for s in sentences]
    firsts = [next((ch for ch in p if ch.isalpha()), "") for p in posts]
    cased = [ch for ch in firsts if ch.lower() != ch.upper()]
    habits = [_hashtag_habit(p) for p in posts]
    inline, end = habits.count("inline"), habits.count("end")
    hashtags: HashtagHabit = "none" if not inline + end else "inline" if inline >= end else "end"
    return Style(
        emoji=sum(bool(_EMOJI.search(p)) for p in posts) * 3 >= len(posts),
        hashtags=hashtags,
        sentence_words=float(statistics.median(lengths)),
        exclaims=sum(e in ("!", "！") for e in enders) * 4 >= len(enders),
        lowercase=bool(cased) and sum(ch.islower() for ch in cased) * 2 >= len(cased),
        contractions=any(_CONTRACTION.search(p) for p in posts),
    )
