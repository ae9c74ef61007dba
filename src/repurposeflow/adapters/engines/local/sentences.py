"""Sentences of a source's prose blocks: pysbd where a boundary is ambiguous, a plain
split where it is not (pysbd is exact but slow), and transcript speech (long runs with
hardly a full stop) cut where a speaker would start a new thought."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import attrs

from repurposeflow.adapters.engines.local.language import CJK_LANGS
from repurposeflow.adapters.engines.local.markup import Block
from repurposeflow.adapters.engines.local.words import (
    OPENING_FILLERS,
    PYSBD_FALLBACK,
    PYSBD_LANGUAGES,
    STRONG_STARTS,
    WEAK_STARTS,
)
from repurposeflow.domain.measure import word_count


@attrs.frozen
class Sentence:
    text: str
    index: int  # position among the document's sentences
    block: int  # which block it came from
    first_in_block: bool
    kind: str  # the block's kind: paragraph, item, quote
    words: int
    score: float = 0.0
    section: int = 0  # how many headings come before it
    speaker: str | None = None  # who says it, in a transcript with speaker labels
    emphasis: bool = False  # the author flagged it ("Remember this: …", "Bottom line: …")


_TERMINATOR = re.compile(r"[.!?…]+[\"'”’)\]]*(?:\s|$)|[。！？]")
WORD = re.compile(r"\w+", re.UNICODE)
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
# At the head of a block: "[00:01:05]", "(01:05)", "00:01:05", an SRT cue's number and
# "00:00:01,000 --> 00:00:04,000", in any mix.
_TIMESTAMP = re.compile(
    rf"^(?:\d{{1,5}}\s+(?={_CLOCK}))?[\[(]?{_CLOCK}[\])]?\s*"
    rf"(?:-->\s*[\[(]?{_CLOCK}[\])]?\s*)?"
)
# Anywhere else only bracketed ones: "at 10:30" in a sentence is content.
_INNER_TIMESTAMP = re.compile(rf"\s*[\[(]{_CLOCK}[\])]\s*")
# "Maya:", "Maya Chen (00:04):", "HOST:", "Speaker 1:".
_LABEL = re.compile(
    rf"^([A-Z][\w.'-]*(?: (?:[A-Z][\w.'-]*|\d+)){{0,2}})\s*(?:[\[(]?{_CLOCK}[\])]?)?:\s"
)
# Framing that opens a sentence but is not part of its point: "Remember this: …".
_FRAME_PREFIX = re.compile(
    r"(?i)^(?:remember this|here'?s the thing|the bottom line|bottom line|tl;?dr|pro tip|"
    r"key takeaway|takeaway|the takeaway|quick note(?: to self)?(?: [^:]{0,40})?|"
    r"note to self(?: [^:]{0,40})?|update|ps|p\.s\.)\s*[:—–]\s+(?=\S)"
)
_FILLERS = re.compile(r"(?i)(?<!\w)(?:um+|uh+|erm+|you know|i mean)(?!\w)[,.]?\s*")
_FILLER_CLAUSE = re.compile(r"(?i),\s+(?:um+|uh+|erm+),")
_FILLER_START = re.compile(r"(?<![\w,])(?:um+|uh+|erm+),\s+(\w)", re.IGNORECASE)
# A guest's "thanks for having me" opens an answer; it is not part of it.
_SPOKEN_THANKS = re.compile(
    r"(?i)^(?:thanks|thank you)(?: so much)? for (?:having me|inviting me)[,.!]?\s*(?:yeah\b)?"
)
# A word said twice ("the the"): words only, never numbers, so "2014-2023 2023-2024" is
# not fused into the range "2014-2023-2024" that the source never wrote.
_DOUBLED = re.compile(r"(?i)\b([^\W\d_]\w*)(\s+\1\b)+")
_LONE_I = re.compile(r"(?<!\w)i(?=\s|'|’)")


def _segmenter(language: str) -> object:
    import pysbd  # imported late: the CLI starts faster when nothing is rendered

    code = PYSBD_FALLBACK.get(language, language)
    return pysbd.Segmenter(language=code if code in PYSBD_LANGUAGES else "en", clean=False)


def _needs_segmenter(text: str) -> bool:
    # A block with no terminator before its end is one sentence: skip pysbd's slow path.
    return _TERMINATOR.search(text.rstrip()[:-1] + " ") is not None if len(text) > 1 else False


_BOUNDARY = re.compile(r"([.!?…]+[\"'”’)\]]*)\s+(?=\S)")
_WORD_BEFORE = re.compile(r"([\w.'’-]*)$")


@lru_cache(maxsize=32)
def _abbreviations(language: str) -> frozenset[str]:
    from pysbd.languages import Language

    code = PYSBD_FALLBACK.get(language, language)
    try:
        rules = Language.get_language_code(code if code in PYSBD_LANGUAGES else "en")
    except ValueError:
        return frozenset()
    return frozenset(a.lower() for a in rules.Abbreviation.ABBREVIATIONS)


def _plain_split(text: str, language: str) -> list[str] | None:
    """Sentences of a paragraph whose every boundary is unambiguous, or None so pysbd
    decides. pysbd is exact but slow (about a third of a second on a 10,000-word
    article); most prose never needs its abbreviation and number rules."""
    if language in CJK_LANGS:
        return None
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if "." not in match.group(1) and text[match.end() : match.end() + 1].islower():
            # "YAKE! is a lightweight…", "Why? because…": a sentence does not go on in
            # lowercase, so this "!" or "?" is part of a name or an aside (pysbd agrees).
            continue
        if "." in match.group(1):
            before = _WORD_BEFORE.search(text, 0, match.start()).group(1)  # type: ignore[union-attr]
            after = text[match.end() : match.end() + 1]
            word = before.lower().strip("'’-")
            if (
                (len(word) <= 1 and not word.isdigit())
                or "." in word
                or word in _abbreviations(language)
                or not (after.isupper() or after in "\"“‘'(¿¡")
            ):
                return None
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _spoken_chunks(text: str, language: str) -> list[str]:
    """Sentences for transcript-like text that barely has punctuation: break where a
    speaker would start a new thought, drop fillers, capitalise."""
    cleaned = _DOUBLED.sub(r"\1", _FILLERS.sub("", _SPOKEN_THANKS.sub("", text))).strip()
    words = cleaned.split()
    chunks: list[list[str]] = [[]]
    for word in words:
        current = chunks[-1]
        bare = word.lower().strip(",;")
        if len(current) >= 12 and (bare in STRONG_STARTS or current[-1][-1:] in ",;"):
            chunks.append([])
        elif len(current) >= 30:
            # Too long without a strong break: cut before the last word that starts a
            # clause, so no chunk ends on "and" or "what".
            weak = [i for i in range(8, len(current)) if current[i].lower() in WEAK_STARTS]
            cut = weak[-1] if weak else len(current)
            chunks.append(current[cut:])
            del current[cut:]
        chunks[-1].append(word)
    if len(chunks) > 1 and len(chunks[-1]) < 5:
        tail = chunks.pop()
        chunks[-1].extend(tail)
    out = []
    for chunk in chunks:
        while len(chunk) > 3 and chunk[0].lower().strip(",") in OPENING_FILLERS:
            chunk = chunk[1:]
        sentence = " ".join(chunk).strip(" ,;")
        if not sentence:
            continue
        if language == "en":
            sentence = _LONE_I.sub("I", sentence)
        sentence = sentence[0].upper() + sentence[1:]
        if sentence[-1] not in ".!?…":
            sentence += "."
        out.append(sentence)
    return out


def _speaker_labels(blocks: list[Block]) -> frozenset[str]:
    starts = (_TIMESTAMP.sub("", b.text) for b in blocks)
    counts = Counter(m.group(1) for text in starts if (m := _LABEL.match(text)))
    return frozenset(label for label, n in counts.items() if n >= 2)


def _speaker_and_text(text: str, labels: frozenset[str]) -> tuple[str | None, str]:
    """The block's speaker label (if it opens with one) and its words without the label
    and timestamps."""
    text = _TIMESTAMP.sub("", text)
    speaker = None
    match = _LABEL.match(text)
    if match and match.group(1) in labels:
        speaker = match.group(1)
        text = _TIMESTAMP.sub("", text[match.end() :])
    if "[" in text or "(" in text:
        text = _INNER_TIMESTAMP.sub(" ", text)
    return speaker, text.strip()


def unbalanced(text: str) -> bool:
    """True when a quote or bracket opened in ``text`` is not closed (or the reverse)."""
    return (
        text.count('"') % 2 == 1
        or text.count("“") != text.count("”")
        or text.count("(") != text.count(")")
        or text.count("[") != text.count("]")
        or text.count("«") != text.count("»")
        or text.count("「") != text.count("」")
    )


def _rejoin(pieces: list[str], cjk: bool) -> list[str]:
    """Sentences split inside quotes or brackets put back together: ``He said "wow!"
    and left.`` is one sentence, and so is a sentence that goes on in lowercase."""
    out: list[str] = []
    for piece in pieces:
        if out and (
            unbalanced(out[-1]) or (not cjk and piece[:1].islower() and out[-1][-1:] in '"”’)')
        ):
            out[-1] = f"{out[-1]}{'' if cjk else ' '}{piece}"
        else:
            out.append(piece)
    return out


# "YAKE! is…": a word the text itself follows with "!" and a lowercase word.
_BANG_NAME = re.compile(r"(?<![\w!])([^\W\d_a-z][\w.+-]*)!\s+(?=[^\W\d_])")


def bang_names(texts: list[str]) -> frozenset[str]:
    """Names that end in "!" ("YAKE!", "Yahoo!"): a word the text follows with "!" and
    then a lowercase word at least once. After such a name a capital does not start a
    sentence either ("YAKE! Keyword Extraction from…")."""
    return frozenset(
        m.group(1)
        for t in texts
        if "!" in t
        for m in _BANG_NAME.finditer(t)
        if t[m.end()].islower() and m.group(1)[0].isupper()
    )


def _keep_names(pieces: list[str], names: frozenset[str]) -> list[str]:
    """Pieces split right after a name that ends in "!" put back together."""
    out: list[str] = []
    for piece in pieces:
        last = out[-1].rsplit(None, 1)[-1] if out else ""
        if last.endswith("!") and last[:-1] in names:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _unframed(text: str) -> str:
    """``text`` without a framing opener ("Remember this: …"), capitalised."""
    match = _FRAME_PREFIX.match(text)
    if match is None or len(text) - match.end() < 12:
        return text
    rest = text[match.end() :]
    return rest[:1].upper() + rest[1:]


def is_spoken(blocks: list[Block], language: str) -> bool:
    """Transcript-like: most of the prose is long paragraphs with hardly a full stop.
    A README of headings, list items and short lead-ins ("…these standards:") has few
    full stops too, but none of it is speech: its paragraphs are read as written."""
    if language in CJK_LANGS:
        return False
    total = speech = 0
    for block in blocks:
        if block.kind in ("heading", "command"):
            continue
        words = len(block.text.split())
        total += words
        if block.kind == "paragraph" and words >= 25:
            stops = len(_TERMINATOR.findall(block.text + " "))
            speech += words if words / max(1, stops) > 30 else 0
    return speech >= 40 and 2 * speech >= total


def split_sentences(blocks: list[Block], language: str) -> list[Sentence]:
    segmenter = None
    labels = _speaker_labels(blocks)
    names = frozenset() if language in CJK_LANGS else bang_names([b.text for b in blocks])
    spoken = is_spoken(blocks, language)
    out: list[Sentence] = []
    section = 0
    speaker: str | None = None
    for block_index, block in enumerate(blocks):
        if block.kind == "heading":
            section += 1
            continue
        if block.kind == "command":
            continue
        said_by, text = _speaker_and_text(block.text, labels) if labels else (None, block.text)
        if said_by is not None:
            speaker = said_by
        if not text:
            continue
        if not _needs_segmenter(text):
            pieces = [text]
        elif (simple := _plain_split(text, language)) is not None:
            pieces = _rejoin(simple, False)
        else:
            if segmenter is None:
                segmenter = _segmenter(language)
            pieces = [p.strip() for p in segmenter.segment(text)]  # type: ignore[attr-defined]
            pieces = _rejoin([p for p in pieces if p], language in CJK_LANGS)
        if names:
            pieces = _keep_names(pieces, names)
        expanded: list[str] = []
        if labels:
            # Speech with punctuation still has its "um"s.
            pieces = [
                _FILLER_START.sub(lambda m: m.group(1).upper(), _FILLER_CLAUSE.sub(",", p))
                for p in pieces
            ]
        for piece in pieces:
            # Long stretches without punctuation are speech, not prose.
            if spoken or (language not in CJK_LANGS and len(piece.split()) > 45):
                expanded.extend(_spoken_chunks(piece, language))
            elif piece:
                expanded.append(piece)
        for position, piece in enumerate(expanded):
            flagged = _FRAME_PREFIX.match(piece) is not None
            piece = _unframed(piece) if flagged else piece
            out.append(
                Sentence(
                    text=piece,
                    index=len(out),
                    block=block_index,
                    first_in_block=position == 0,
                    kind=block.kind,
                    words=word_count(piece),
                    section=section,
                    speaker=speaker if labels else None,
                    emphasis=flagged and _FRAME_PREFIX.match(piece) is None,
                )
            )
    return out
