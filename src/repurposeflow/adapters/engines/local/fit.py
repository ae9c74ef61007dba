"""Making text fit: shorten at clause or word boundaries, split across posts, join
sentences, turn keywords into hashtags.

Cuts never fall inside a word, a number or a link, so a shortened sentence never shows a
number the source did not contain (``1,500`` never becomes ``1,5``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from repurposeflow.domain.measure import CJK_CLASS as _CJK
from repurposeflow.domain.measure import URL_START

# A token is a number written with full-width separators (``1，200``), one CJK character
# or one run of anything else that is not a space, with the spaces after it.
_TOKEN = re.compile(rf"\d+(?:[，．]\d+)+\s*|{_CJK}\s*|(?:(?!{_CJK})\S)+\s*|\s+")
_CLAUSE_END = re.compile(r"[,;:—–]\s*$|[，、；：]$")
_SENTENCE_END = re.compile(r"[.!?。！？…]['\"”’)\]]*$")
_TRAILING_JUNK = re.compile(r"[\s,;:—–\-(\[{'\"“‘，、；：]+$")
_CJK_END = re.compile(rf"{_CJK}$")
_CJK_START = re.compile(rf"^{_CJK}")
ELLIPSIS = "…"
_ENDS_WITH_LINK = re.compile(URL_START + r"\S+$", re.IGNORECASE)

Fits = Callable[[str], bool]


def _finish(text: str, cut: bool) -> str:
    text = _TRAILING_JUNK.sub("", text.rstrip())
    if not text:
        return ""
    if cut and not _SENTENCE_END.search(text):
        # Glued to a link, the ellipsis would read as part of the address.
        text += " " + ELLIPSIS if _ENDS_WITH_LINK.search(text) else ELLIPSIS
    return text


def _prefix(tokens: list[str], fits: Fits, ellipsis: bool) -> int:
    """How many tokens make the longest prefix that still fits, preferring to end at a
    clause boundary when that keeps most of the text."""
    count = 0
    length = 0
    text = ""
    for token in tokens:
        candidate = text + token
        if not fits(_finish(candidate, ellipsis)):
            break
        text = candidate
        count += 1
        length += len(token)
    if count == len(tokens):
        return count
    running = 0
    clause_at = 0
    for i in range(count):
        running += len(tokens[i])
        if _CLAUSE_END.search(tokens[i]) and running >= 0.6 * length:
            clause_at = i + 1
    return clause_at or count


def shorten(text: str, fits: Fits) -> str:
    """``text`` itself if it fits, else its longest fitting head, ending in an ellipsis
    unless it ends a sentence. Empty when not even one word fits."""
    text = text.strip()
    if fits(text):
        return text
    tokens = _TOKEN.findall(text)
    count = _prefix(tokens, fits, ellipsis=True)
    return _finish("".join(tokens[:count]), cut=True) if count else ""


def split_to_fit(text: str, fits: Fits) -> list[str]:
    """Pieces of ``text``, in order, each of which fits (for a sentence longer than a
    post). A single token too big to fit is cut by characters as a last resort."""
    pieces: list[str] = []
    tokens = _TOKEN.findall(text.strip())
    while tokens:
        rest = "".join(tokens).strip()
        if fits(rest):
            pieces.append(rest)
            break
        count = _prefix(tokens, fits, ellipsis=False)
        if count == 0:
            head = tokens[0]
            size = max(1, len(head) // 2)
            while size > 1 and not fits(head[:size]):
                size //= 2
            tokens[0:1] = [head[:size], head[size:]]
            continue
        piece = _finish("".join(tokens[:count]), cut=False)
        if piece:
            pieces.append(piece)
        tokens = tokens[count:]
    return pieces


def join(parts: Iterable[str], cjk: bool = False) -> str:
    """Join sentences into one paragraph. CJK sentences join without spaces, except where
    that would glue two numbers together (``3.`` + ``5`` is not ``3.5``)."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if not out:
            out = part
        elif cjk and _CJK_END.search(out) and _CJK_START.search(part):
            out += part
        else:
            out += " " + part
    return out


def _too_short(piece: str) -> bool:
    cjk_chars = len(re.findall(_CJK, piece))
    return len(piece.split()) < 3 and cjk_chars < 6


# Where a clause ends: punctuation followed by a space, a spaced dash, an em or en dash
# between two words, or CJK punctuation. Never inside a number: ``1,200``, ``3.5``,
# ``10:30``, ``2024–2025``, ``2024 – 2025`` and ``1，200`` stay whole.
_CLAUSE_BREAK = re.compile(
    r"(?<=[,;:])\s+"
    r"|(?<=[^\d\s])\s+[-–—]+\s+|\s+[-–—]+\s+(?=[^\d\s])"
    r"|(?<=[^\W\d_][—–])(?=[^\W\d_])"
    r"|(?<=[，、；：])(?!\d)"
    r"|(?<=[^\d][，、；：])(?=\d)"
)


def _clause_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for brk in _CLAUSE_BREAK.finditer(text):
        if brk.start() > start:
            spans.append((start, brk.start()))
        start = max(start, brk.end())
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def clauses(text: str) -> list[str]:
    """A sentence's clauses (split at commas, semicolons and colons before a space, at
    dashes between words, at CJK punctuation; never inside a number), each a few words
    at least, tidied to read on its own."""
    text = text.strip()
    # Short pieces join their neighbour as the source wrote them, separator and all.
    merged: list[tuple[int, int]] = []
    for start, end in _clause_spans(text):
        if merged and (_too_short(text[start:end]) or _too_short(text[slice(*merged[-1])])):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    out = []
    for start, end in merged:
        piece = _TRAILING_JUNK.sub("", text[start:end].strip())
        if not piece:
            continue
        piece = piece[0].upper() + piece[1:]
        if not _SENTENCE_END.search(piece):
            piece += "。" if _CJK_END.search(piece) else "."
        out.append(piece)
    return out


_TAG_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


def to_hashtag(keyword: str) -> str | None:
    """``pull requests`` -> ``#PullRequests``; ``pipeline`` -> ``#pipeline``. None for
    keywords with digits (joining words could make a number the source never had)."""
    if any(ch.isdigit() for ch in keyword):
        return None
    words = _TAG_WORDS.findall(re.sub(r"['’]", "", keyword))
    if not words:
        return None
    if " " not in keyword.strip():
        # One word, hyphens and all: "pre-commit" -> "#precommit".
        tag = "".join(words)
    elif len(words) == 1:
        tag = words[0]
    else:
        tag = "".join(w if not w.islower() else w[:1].upper() + w[1:] for w in words)
    if not 2 <= len(tag) <= 30:
        return None
    return "#" + tag
