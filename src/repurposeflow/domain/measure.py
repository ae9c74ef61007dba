"""Measuring text the way each platform measures it: X's weighted length, plain
characters, words, spoken seconds, and the patterns those measures rest on (links, CJK
script, thread numbering). Validators and engines both measure through this module, so a
post the engine thinks fits is a post the validator lets through.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from types import ModuleType

# --- patterns -------------------------------------------------------------------------

# A link as people paste it: with a scheme or starting at www., up to a space, bracket
# or quote. URL_START, for patterns built on it (a link at the end of a text, junk in a
# keyword), is how every link begins.
URL_START = r"(?:https?://|www\.)"
URL = re.compile(URL_START + r"[^\s<>()\"']+", re.IGNORECASE)

# Characters of scripts written without spaces between words (CJK punctuation and
# full-width symbols, kana, CJK ideographs, Hangul, compatibility ideographs): each one is
# a unit of its own when text is counted or cut. A character class, for use inside other
# patterns.
CJK_CLASS = (
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    r"\uff01-\uff0f\uff1a-\uff20\uff5b-\uff65]"
)
CJK = re.compile(CJK_CLASS)
# The scripts within it that tell Chinese and Japanese apart, and whose runs are words.
KANA_CLASS = r"[\u3040-\u30ff]"
KATAKANA_CLASS = r"[\u30a0-\u30ff]"
HAN_CLASS = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
# Han (with the iteration marks 々 and 〆) and kana: each one is said aloud.
SPOKEN_CJK = re.compile(
    r"[\u3005\u3006\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\uff66-\uff9f\U00020000-\U0003134f]"
)
# CJK punctuation and full-width symbols are silent; left in, they would count as words.
SILENT_CJK = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")

# "1/ ", "2/7 ": how a thread numbers its posts.
THREAD_NUMBERING = re.compile(r"^\s*\d{1,3}\s*/(?:\d{1,3})?\s")

_WORD = re.compile(r"\w+", re.UNICODE)
_SPOKEN_WORD = re.compile(r"\S+")
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def strip_thread_numbering(text: str) -> str:
    return THREAD_NUMBERING.sub("", text, count=1)


def number_post(index: int, text: str) -> str:
    """A thread's post ``index`` (from 1) as posted: ``"3/ text"``."""
    return f"{index}/ {text}"


# What numbering adds to a post at most, for a thread of up to 99 (or 999) posts: an
# engine measures a post with it before the numbers are known.
NUMBERING_ROOM = "99/ "
NUMBERING_ROOM_LONG = "999/ "


def number_thread(posts: Iterable[str]) -> list[str]:
    return [number_post(i, post) for i, post in enumerate(posts, 1)]


# --- counts -----------------------------------------------------------------------------


def char_count(text: str) -> int:
    """Characters as Threads, LinkedIn, Instagram, TikTok and email count them (NFC code
    points)."""
    return len(unicodedata.normalize("NFC", text))


def word_count(text: str) -> int:
    """Words, counting each CJK character as one (CJK text has no spaces)."""
    cjk = len(CJK.findall(text))
    rest = CJK.sub(" ", text) if cjk else text
    return cjk + len(_WORD.findall(rest))


# --- spoken length ----------------------------------------------------------------------

SPOKEN_WORDS_PER_MINUTE = 150
# Chinese and Japanese have no spaces to count words by; speech in both runs at roughly
# 250 characters a minute.
SPOKEN_CJK_CHARS_PER_MINUTE = 250


def spoken_seconds(text: str) -> int:
    """Seconds to say ``text`` aloud: about 150 words a minute, and 250 characters a
    minute for Chinese and Japanese, which a whitespace count would take for one word."""
    cjk = len(SPOKEN_CJK.findall(text))
    rest = SILENT_CJK.sub(" ", SPOKEN_CJK.sub(" ", text)) if cjk else text
    words = len(_SPOKEN_WORD.findall(rest))
    # Integer arithmetic: 150 words or 250 characters is exactly one minute.
    per_minute = SPOKEN_WORDS_PER_MINUTE * SPOKEN_CJK_CHARS_PER_MINUTE
    units = words * SPOKEN_CJK_CHARS_PER_MINUTE + cjk * SPOKEN_WORDS_PER_MINUTE
    return -(-units * 60 // per_minute)


# --- X's weighted length ----------------------------------------------------------------

_ZWJ = "\u200d"
# What may follow an emoji inside one sequence: VS16, keycap, skin tones, tag characters.
_EMOJI_TRAIL = frozenset(
    ["\ufe0f", "\u20e3"]
    + [chr(c) for c in range(0x1F3FB, 0x1F400)]
    + [chr(c) for c in range(0xE0020, 0xE0080)]
)
# twitter-text v3: these code points weigh 1, every other one 2.
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


def twitter_weighted_length(text: str) -> int:
    """X's weighted length (twitter-text v3: NFC, CJK and most symbols weigh 2, emoji
    sequences 2, every URL 23)."""
    weighted: int = _twitter_text().parse_tweet(text).weightedLength
    return weighted - _emoji_overcount(text)
