"""What the local engine learns from a source, once: language, sentences, keywords and an
extractive ranking of the sentences.

``read_document`` is cached per source (a bounded LRU keyed by the source's hash) because
the pipeline renders six platforms from the same text, and segmentation is the slow part.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import threading
from collections import Counter, OrderedDict
from functools import lru_cache

import attrs

from repurposeflow.adapters.engines.markup import Block, extract_blocks
from repurposeflow.domain.validation import leaks_in

# --- language ---------------------------------------------------------------------------

_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_GREEK = re.compile(r"[\u0370-\u03ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LATIN_WORD = re.compile(r"[a-zà-ÿß]+")

# A handful of the commonest function words per language: enough to tell them apart.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "to",
            "is",
            "in",
            "that",
            "it",
            "for",
            "you",
            "with",
            "was",
            "are",
            "this",
            "on",
            "be",
            "have",
            "not",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "de",
            "que",
            "y",
            "en",
            "los",
            "las",
            "por",
            "con",
            "una",
            "para",
            "es",
            "del",
            "se",
            "no",
            "lo",
            "como",
            "más",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "mit",
            "ein",
            "eine",
            "zu",
            "den",
            "von",
            "sich",
            "auch",
            "auf",
            "für",
            "ich",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "de",
            "et",
            "est",
            "une",
            "des",
            "pour",
            "que",
            "pas",
            "dans",
            "sur",
            "qui",
            "en",
            "du",
            "au",
            "avec",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "di",
            "che",
            "è",
            "e",
            "non",
            "per",
            "una",
            "sono",
            "gli",
            "della",
            "con",
            "anche",
            "come",
            "più",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "de",
            "que",
            "e",
            "não",
            "uma",
            "para",
            "com",
            "do",
            "da",
            "em",
            "é",
            "mais",
            "por",
            "se",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "van",
            "is",
            "dat",
            "niet",
            "met",
            "voor",
            "op",
            "zijn",
            "ook",
            "er",
            "maar",
            "om",
        ]
    ),
}

# pysbd knows these; anything else is segmented with the closest rules we have.
_PYSBD_LANGS = frozenset(
    [
        "en",
        "hi",
        "mr",
        "zh",
        "es",
        "am",
        "ar",
        "hy",
        "bg",
        "ur",
        "ru",
        "pl",
        "fa",
        "nl",
        "da",
        "fr",
        "my",
        "el",
        "it",
        "ja",
        "de",
        "kk",
        "sk",
    ]
)
_PYSBD_FALLBACK = {"pt": "es", "ko": "en"}

CJK_LANGS = frozenset({"ja", "zh"})


def detect_language(text: str) -> str:
    """A cheap guess by script, then by function words for Latin-script text."""
    sample = text[:6000]
    letters = max(1, sum(ch.isalpha() for ch in sample))
    # Kana mark Japanese, but one Japanese line in an English post does not make it one.
    kana = len(_KANA.findall(sample))
    if kana and (kana + len(_HAN.findall(sample))) / letters > 0.3:
        return "ja"
    scripts = (
        ("zh", _HAN),
        ("ko", _HANGUL),
        ("ru", _CYRILLIC),
        ("el", _GREEK),
        ("ar", _ARABIC),
        ("hi", _DEVANAGARI),
    )
    for code, pattern in scripts:
        if len(pattern.findall(sample)) / letters > 0.3:
            return code
    words = Counter(_LATIN_WORD.findall(sample.lower()))
    scores = {lang: sum(words[w] for w in vocab) for lang, vocab in _FUNCTION_WORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 2 else "en"


# --- sentences --------------------------------------------------------------------------


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


_TERMINATOR = re.compile(r"[.!?…]+[\"'”’)\]]*(?:\s|$)|[。！？]")
_CJK_CHAR = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    r"\uff01-\uff0f\uff1a-\uff20\uff5b-\uff65]"
)
_WORD = re.compile(r"\w+", re.UNICODE)
_TIMESTAMP = re.compile(r"^[\[(]?\d{1,2}:\d{2}(?::\d{2})?[\])]?\s*")
_LABEL = re.compile(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}):\s")
_FILLERS = re.compile(r"(?i)(?<!\w)(?:um+|uh+|erm+|you know|i mean)(?!\w)[,.]?\s*")
_DOUBLED = re.compile(r"(?i)\b(\w+)(\s+\1\b)+")
_LONE_I = re.compile(r"(?<!\w)i(?=\s|'|’)")
# Where a speaker starts a new thought (English; other languages break on length).
_STRONG_STARTS = frozenset(
    ["so", "but", "because", "then", "anyway", "okay", "ok", "yeah", "honestly", "also", "and"]
)
_WEAK_STARTS = frozenset(
    [
        "i",
        "we",
        "you",
        "it",
        "that's",
        "this",
        "when",
        "if",
        "which",
        "who",
        "where",
        "and",
        "so",
        "but",
        "because",
        "then",
    ]
)
_OPENING_FILLERS = frozenset(["okay", "ok", "so", "and", "yeah", "well", "right"])


def word_count(text: str) -> int:
    """Words, counting each CJK character as one (CJK text has no spaces)."""
    cjk = len(_CJK_CHAR.findall(text))
    rest = _CJK_CHAR.sub(" ", text)
    return cjk + len(_WORD.findall(rest))


def _segmenter(language: str) -> object:
    import pysbd  # imported late: the CLI starts faster when nothing is rendered

    code = _PYSBD_FALLBACK.get(language, language)
    return pysbd.Segmenter(language=code if code in _PYSBD_LANGS else "en", clean=False)


def _needs_segmenter(text: str) -> bool:
    # A block with no terminator before its end is one sentence: skip pysbd's slow path.
    return _TERMINATOR.search(text.rstrip()[:-1] + " ") is not None if len(text) > 1 else False


_BOUNDARY = re.compile(r"([.!?…]+[\"'”’)\]]*)\s+(?=\S)")
_WORD_BEFORE = re.compile(r"([\w.'’-]*)$")


@lru_cache(maxsize=32)
def _abbreviations(language: str) -> frozenset[str]:
    from pysbd.languages import Language

    code = _PYSBD_FALLBACK.get(language, language)
    try:
        rules = Language.get_language_code(code if code in _PYSBD_LANGS else "en")
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
    cleaned = _DOUBLED.sub(r"\1", _FILLERS.sub("", text)).strip()
    words = cleaned.split()
    chunks: list[list[str]] = [[]]
    for word in words:
        current = chunks[-1]
        bare = word.lower().strip(",;")
        if len(current) >= 12 and (bare in _STRONG_STARTS or current[-1][-1:] in ",;"):
            chunks.append([])
        elif len(current) >= 30:
            # Too long without a strong break: cut before the last word that starts a
            # clause, so no chunk ends on "and" or "what".
            weak = [i for i in range(8, len(current)) if current[i].lower() in _WEAK_STARTS]
            cut = weak[-1] if weak else len(current)
            chunks.append(current[cut:])
            del current[cut:]
        chunks[-1].append(word)
    if len(chunks) > 1 and len(chunks[-1]) < 5:
        tail = chunks.pop()
        chunks[-1].extend(tail)
    out = []
    for chunk in chunks:
        while len(chunk) > 3 and chunk[0].lower().strip(",") in _OPENING_FILLERS:
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


def _clean_block_text(text: str, labels: frozenset[str]) -> str:
    text = _TIMESTAMP.sub("", text)
    match = _LABEL.match(text)
    if match and match.group(1) in labels:
        text = text[match.end() :]
    return text.strip()


def is_spoken(blocks: list[Block], language: str) -> bool:
    """Transcript-like: long runs of words with hardly a full stop."""
    if language in CJK_LANGS:
        return False
    text = " ".join(b.text for b in blocks if b.kind != "heading")
    words = len(text.split())
    stops = len(_TERMINATOR.findall(text + " "))
    return words >= 40 and words / max(1, stops) > 30


def split_sentences(blocks: list[Block], language: str) -> list[Sentence]:
    segmenter = None
    labels = _speaker_labels(blocks)
    spoken = is_spoken(blocks, language)
    out: list[Sentence] = []
    section = 0
    for block_index, block in enumerate(blocks):
        if block.kind == "heading":
            section += 1
            continue
        text = _clean_block_text(block.text, labels)
        if not text:
            continue
        if not _needs_segmenter(text):
            pieces = [text]
        elif (simple := _plain_split(text, language)) is not None:
            pieces = simple
        else:
            if segmenter is None:
                segmenter = _segmenter(language)
            pieces = [p.strip() for p in segmenter.segment(text)]  # type: ignore[attr-defined]
        expanded: list[str] = []
        for piece in pieces:
            # Long stretches without punctuation are speech, not prose.
            if spoken or (language not in CJK_LANGS and len(piece.split()) > 45):
                expanded.extend(_spoken_chunks(piece, language))
            elif piece:
                expanded.append(piece)
        for position, piece in enumerate(expanded):
            out.append(
                Sentence(
                    text=piece,
                    index=len(out),
                    block=block_index,
                    first_in_block=position == 0,
                    kind=block.kind,
                    words=word_count(piece),
                    section=section,
                )
            )
    return out


# --- keywords ---------------------------------------------------------------------------

# yake is linear but slow (a quarter second per 10,000 characters); the headings and the
# opening of a text name its subject well enough.
_YAKE_CHARS = 6_000
_KEYWORD_JUNK = re.compile(r"\d|https?:|www\.|@|[^\w\s'’-]")


def _cjk_keywords(text: str, top: int) -> list[str]:
    """Repeated runs of kanji/hanzi or katakana: the nouns of a CJK text, roughly."""
    runs = re.findall(r"[\u30a0-\u30ff]{2,}|[\u3400-\u4dbf\u4e00-\u9fff]{2,}", text)
    counts: Counter[str] = Counter()
    for run in runs:
        if _KANA.match(run):
            counts[run] += 3
            continue
        for size in (2, 3, 4):
            for start in range(len(run) - size + 1):
                counts[run[start : start + size]] += 1
    scored = {
        gram: n * math.sqrt(len(gram)) for gram, n in counts.items() if n >= 2 or len(counts) < 8
    }
    ranked = sorted(scored, key=lambda g: (-scored[g], g))
    chosen: list[str] = []
    for gram in ranked:
        if any(gram in other or other in gram for other in chosen):
            continue
        chosen.append(gram)
        if len(chosen) == top:
            break
    return chosen


def _usual_case(phrase: str, text: str) -> str:
    """yake keeps sentence-initial capitals: prefer the form the text mostly uses."""
    if phrase.isupper() and len(phrase) > 1:
        return phrase
    lower = phrase.lower()
    as_is = len(re.findall(rf"(?<!\w){re.escape(phrase)}(?!\w)", text))
    lowered = len(re.findall(rf"(?<!\w){re.escape(lower)}(?!\w)", text))
    return lower if lowered >= as_is else phrase


def _yake_keywords(text: str, language: str, top: int) -> list[str]:
    import yake  # heavy import (numpy, networkx): only when a text is analysed

    # Positional arguments: yake renamed its keyword arguments between releases.
    extractor = yake.KeywordExtractor(language, 2, 0.8, top=top * 2)
    try:
        found = extractor.extract_keywords(text)
    except (ValueError, ZeroDivisionError, IndexError):  # degenerate inputs
        found = []
    out: list[str] = []
    seen: set[str] = set()
    for phrase, _score in found:
        phrase = phrase.strip()
        key = phrase.lower()
        if not phrase or key in seen or _KEYWORD_JUNK.search(phrase):
            continue
        if all(len(w) < 3 and not w.isupper() for w in phrase.split()):
            continue
        seen.add(key)
        out.append(_usual_case(phrase, text))
        if len(out) == top:
            break
    return out


def _frequent_words(text: str, top: int) -> list[str]:
    text = _URL_IN_TEXT.sub(" ", text)  # "https" and "github" are not the subject
    words = Counter(w.lower() for w in re.findall(r"[^\W\d_]{4,}", text))
    return [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))][:top]


_ACRONYM = re.compile(r"(?<![\w-])[A-Z]{2,5}(?![\w-])")
_NOT_ACRONYMS = frozenset({"OK", "TV", "AM", "PM", "OR", "AND", "THE", "TODO"})


def _acronyms(text: str) -> list[str]:
    """Repeated acronyms (CI, API, SEO): often the subject, and too short for yake."""
    counts = Counter(a for a in _ACRONYM.findall(text) if a not in _NOT_ACRONYMS)
    return [a for a, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 3]


def extract_keywords(text: str, language: str, top: int = 16) -> list[str]:
    if language in CJK_LANGS:
        found = _cjk_keywords(text, top)
    else:
        found = _yake_keywords(text, language, top)
        known = {k.lower() for k in found}
        for position, acronym in enumerate(_acronyms(text)[:2], start=1):
            if acronym.lower() not in known:
                found.insert(min(position, len(found)), acronym)
    if len(found) < 5:
        extra = [w for w in _frequent_words(text, top) if w not in {k.lower() for k in found}]
        found.extend(extra[: top - len(found)])
    return found


# --- ranking ----------------------------------------------------------------------------

_DEPENDENT_START = re.compile(
    r"(?i)^(?:this|that|these|those|it|its|they|their|he|she|his|her|ours|theirs|but|and|"
    r"so|also|however|which|then|or|here|there|such|both|before|after|the rest|"
    r"pero|y|también|aber|und|auch|mais|et|donc)\b"
)


def leans_back(text: str) -> bool:
    """True when a sentence opens by pointing at the one before ("It…", "But…")."""
    return _DEPENDENT_START.match(text) is not None


def _signature(text: str, cjk: bool) -> frozenset[str]:
    if cjk:
        chars = [c for c in text if not c.isspace()]
        return frozenset(a + b for a, b in itertools.pairwise(chars))
    return frozenset(w.lower() for w in _WORD.findall(text) if len(w) > 2)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / min(len(a), len(b)) > 0.7


def _length_score(words: int, cjk: bool) -> float:
    low, high = (15, 70) if cjk else (8, 30)
    if words < low:
        return words / low
    if words > high:
        return max(0.2, 1 - (words - high) / high)
    return 1.0


def usable(sentence: Sentence, cjk: bool) -> bool:
    """Sentences worth repeating to an audience on their own."""
    text = sentence.text
    if sentence.words < (4 if cjk else 3) or text.endswith((":", "：")):
        return False
    return not leaks_in([text])


# No platform uses more than a few dozen sentences; ranking further only costs time
# (the duplicate check is quadratic).
_RANKED_MAX = 200


# What an author's argument sounds like. Strong cues state a thesis outright ("X is not
# a luxury", "the lesson", "turns out"); weak ones lean that way (advice, stakes,
# comparisons). Narrative and measurements tell the story; these say what it means.
# The patterns are matched against lowercased text: case-insensitive matching costs
# Python's re several times as much.
_STRONG_CLAIM: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"\b(?:is not|isn't|are not|aren't|will not|won't|does not|doesn't|"
        r"is never|the (?:lesson|point|key|goal|trick|secret|truth|real problem)|"
        r"turns out|that's the point|most of the battle)\b"
    ),
    "es": re.compile(r"\b(?:no es|no son|el objetivo|la clave|la lección|el secreto)\b"),
    "de": re.compile(r"\b(?:ist nicht|sind nicht|ist kein|das ziel|der punkt|die lektion|fazit)\b"),
    "fr": re.compile(r"(?:\bn'est pas|\bne sont pas|l'essentiel|\bla clé|\ble but)\b"),
    "ja": re.compile(r"必要があります|べき|ではありません|ではない|大切なのは|重要なのは"),
    "zh": re.compile(r"关键|不是|必须|其实|一定要"),
}
_WEAK_CLAIM: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"\b(?:do not|don't|cannot|can't|should|must|need to|needs to|never|always|"
        r"matters?|decides|the (?:biggest|most|best|hardest|cheapest|only)|worse|better|"
        r"instead of|rather than|worth|cheapest|usually)\b"
    ),
    "es": re.compile(
        r"\b(?:importa|hay que|debes?|deberías|nunca|siempre|lo importante|mejor|peor)\b"
    ),
    "de": re.compile(
        r"\b(?:sollte|sollten|muss|müssen|wichtig\w*|nie|immer|entscheidend|besser)\b"
    ),
    "fr": re.compile(r"\b(?:il faut|doit|doivent|jamais|toujours|compte|mieux)\b"),
    "ja": re.compile(r"大切|重要|てください|ましょう|必要"),
    "zh": re.compile(r"重要|应该|试试|不要|可以"),
}
# Advice addressed to the reader: "Pick one decision…", "If you do one thing…".
_ADVICE = re.compile(
    r"^(?:(?:start|stop|measure|find|pick|write|count|fix|keep|try|give|set|ask|make|"
    r"use|avoid|focus|charge|take|build|treat|choose|protect|remember|think|begin|spend|"
    r"learn|don't|do not|never|always)\b|if you\b)"
)
_FIRST_PERSON = frozenset(["i", "we", "our", "us", "my", "me"])
# Every English cue holds one of these words: a sentence without any skips the patterns
# (most sentences, and ranking a long article scores every one of them).
_CUE_WORDS = frozenset(
    ["not", "isn", "aren", "won", "doesn", "never", "lesson", "point", "key", "goal",
     "trick", "secret", "truth", "problem", "turns", "battle", "do", "don", "cannot", "can",
     "should", "must", "need", "needs", "always", "matter", "matters", "decides", "biggest",
     "most", "best", "hardest", "cheapest", "only", "worse", "better", "instead", "rather",
     "worth", "usually"]
)  # fmt: skip
# Past tense: the story of what happened, not its point. English "-ed" words count too,
# but not "-eed" ones (need, speed).
_PAST_EN = frozenset(
    ["was", "were", "took", "had", "went", "spent", "began", "saw", "knew", "thought",
     "became", "told", "felt"]
)  # fmt: skip
_PAST_ED = re.compile(r"\w\w[^e\W]ed\b")
_PAST_DE = re.compile(r"\b(?:haben wir|hatten|war|waren|wurde|wurden|gab es)\b")
_FIGURE = re.compile(r"(?<![\w.,])\d[\d.,]*")
_URL_IN_TEXT = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:by|posted by|written by|von|por|par)\s+\S+|\bmin(?:ute)? read\b")
_CLOSED = re.compile(r"[.!?…。！？][\"'”’)\]]*$")
_SUFFIXES = ("ing", "ed", "es", "s")


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(words: list[str], language: str) -> frozenset[str]:
    """Content words (roughly stemmed) of lowercased ``words``: what the title and the
    document's centroid are compared by."""
    stop = _FUNCTION_WORDS.get(language, frozenset())
    return frozenset(_stem(w) for w in words if len(w) > 2 and w not in stop and not w.isdigit())


def _is_past(words: list[str], text: str, language: str) -> bool:
    if language == "de":
        return _PAST_DE.search(text) is not None
    if language != "en":
        return False
    return not _PAST_EN.isdisjoint(words) or _PAST_ED.search(text) is not None


def _claim_scores(
    sentences: list[Sentence],
    title: str | None,
    language: str,
    cjk: bool,
    section_ends: frozenset[int] = frozenset(),
) -> list[float]:
    """How much each sentence reads like the author's point, from 0 up: claim wording,
    closeness to the title and to the document as a whole, the intro and the conclusion
    (where authors state their case) and the last paragraph of a section (where they
    sum it up), less for narrative and for strings of figures."""
    strong, weak = _STRONG_CLAIM.get(language), _WEAK_CLAIM.get(language)
    words = [[] if cjk else [w.lower() for w in _WORD.findall(s.text)] for s in sentences]
    if cjk:
        terms = [_signature(s.text, True) for s in sentences]
    else:
        terms = [_terms(ws, language) for ws in words]
    frequency: Counter[str] = Counter(t for ts in terms for t in ts)
    # Terms that recur are the document's subject; one-off words say nothing about it.
    centroid = [
        sum(frequency[t] - 1 for t in ts) / math.sqrt(len(ts)) if ts else 0.0 for ts in terms
    ]
    top = max(centroid, default=0.0) or 1.0
    title_terms: frozenset[str] = frozenset()
    if title:
        title_words = [w.lower() for w in _WORD.findall(title)]
        title_terms = _signature(title, True) if cjk else _terms(title_words, language)
    blocks = sorted({s.block for s in sentences})
    edge = 1 if len(blocks) < 6 else 2
    edges = {*blocks[:edge], *blocks[-edge:]}
    scores = []
    for s, ws, ts, central in zip(sentences, words, terms, centroid, strict=True):
        text = s.text.lower().replace("’", "'")
        claim = 0.0
        if language == "en" and _CUE_WORDS.isdisjoint(ws):
            pass
        elif strong is not None and strong.search(text):
            claim += 0.6
        elif weak is not None and weak.search(text):
            claim += 0.25
        if _is_past(ws, text, language):
            claim -= 0.15
        if language == "en":
            claim += 0.2 * bool(_ADVICE.match(text))
            # A general statement, not an account of what we did.
            claim += 0.1 * _FIRST_PERSON.isdisjoint(ws)
        if title_terms:
            claim += 0.4 * len(ts & title_terms) / len(title_terms)
        claim += 0.3 * central / top
        if s.block in edges:
            claim += 0.2
        elif s.block in section_ends:
            claim += 0.15
        claim -= 0.1 * min(3, len(_FIGURE.findall(text)))
        scores.append(max(0.0, claim))
    return scores


def rank(
    sentences: list[Sentence],
    keywords: list[str],
    cjk: bool,
    title: str | None = None,
    language: str = "en",
    section_ends: frozenset[int] = frozenset(),
) -> list[Sentence]:
    """Sentences scored by keyword coverage, how much they read like the author's
    point, position and length, best first, with near-duplicates of a better sentence
    removed."""
    total = max(1, len(sentences))
    weights = {k.lower(): 1 / (1 + 0.25 * i) for i, k in enumerate(keywords)}
    coverage = []
    for s in sentences:
        low = s.text.lower()
        coverage.append(sum(w for k, w in weights.items() if k in low))
    top = max(coverage, default=0) or 1
    claims = _claim_scores(sentences, title, language, cjk, section_ends)
    scored = []
    for s, cov, claim in zip(sentences, coverage, claims, strict=True):
        position = 1 - 0.4 * (s.index / total) + (0.2 if s.first_in_block else 0)
        # Coverage saturates: a sentence naming every keyword (often a list of
        # measurements) should not outrank the one sentence that says what they mean.
        score = (
            0.2 * math.sqrt(cov / top)
            + 0.4 * min(claim, 1.0)
            + 0.2 * position
            + 0.2 * _length_score(s.words, cjk)
        )
        if s.kind == "item":
            score += 0.05
        if _DEPENDENT_START.match(s.text):
            score *= 0.75
        low = s.text.lower()
        if _BYLINE.search(low):
            score *= 0.3
        elif not cjk and not _CLOSED.search(s.text):
            score *= 0.8  # a fragment: a caption, a label, an ingredient
        if "://" in low or "www." in low:
            score *= 0.8  # links belong in a post, rarely at its head
        scored.append(attrs.evolve(s, score=round(score, 6)))
    ordered = sorted(scored, key=lambda s: (-s.score, s.index))
    kept: list[Sentence] = []
    signatures: list[frozenset[str]] = []
    exact: set[frozenset[str]] = set()
    for s in ordered:
        if len(kept) == _RANKED_MAX:
            break
        sig = _signature(s.text, cjk)
        if sig in exact or any(_similar(sig, other) for other in signatures):
            continue
        kept.append(s)
        signatures.append(sig)
        exact.add(sig)
    return kept


# --- the document -------------------------------------------------------------------------


@attrs.frozen
class Document:
    language: str
    title: str | None
    headings: tuple[str, ...]
    sentences: tuple[Sentence, ...]  # every usable sentence, in reading order
    ranked: tuple[Sentence, ...]  # the same, best first, near-duplicates removed
    keywords: tuple[str, ...]

    @property
    def cjk(self) -> bool:
        return self.language in CJK_LANGS


def _promote_title(blocks: list[Block]) -> list[Block]:
    """Plain text often opens with a title line: short, no closing punctuation."""
    if len(blocks) < 2 or any(b.kind == "heading" for b in blocks):
        return blocks
    first = blocks[0]
    short = word_count(first.text) <= (40 if _CJK_CHAR.search(first.text) else 15)
    if first.kind == "paragraph" and short and not re.search(r"[.!?。！？:：,，]$", first.text):
        return [Block("heading", first.text, 1), *blocks[1:]]
    return blocks


def _title(blocks: list[Block]) -> str | None:
    headings = [b for b in blocks if b.kind == "heading"]
    if not headings:
        return None
    best = min(headings, key=lambda b: b.level)
    if best.level > 2 or blocks.index(best) > 3:
        return None
    return best.text


def _section_ends(blocks: list[Block]) -> frozenset[int]:
    """Indexes of the paragraphs that close a section (before a heading or the end)."""
    ends = set()
    for i, block in enumerate(blocks):
        following = blocks[i + 1].kind if i + 1 < len(blocks) else "heading"
        if block.kind == "paragraph" and following == "heading":
            ends.add(i)
    return frozenset(ends)


def analyse(source: str) -> Document:
    blocks = extract_blocks(source)
    if not blocks:  # markup with no prose at all: read it as plain text
        blocks = [Block("paragraph", " ".join(source.split()))]
    blocks = _promote_title(blocks)
    prose = "\n\n".join(b.text for b in blocks)
    language = detect_language(prose)
    cjk = language in CJK_LANGS
    all_sentences = split_sentences(blocks, language)
    sentences = [s for s in all_sentences if usable(s, cjk)] or all_sentences
    headings = "\n\n".join(b.text for b in blocks if b.kind == "heading")
    keywords = extract_keywords(f"{headings}\n\n{prose[:_YAKE_CHARS]}", language)
    title = _title(blocks)
    ranked = rank(sentences, keywords, cjk, title, language, _section_ends(blocks))
    by_index = {s.index: s for s in ranked}
    return Document(
        language=language,
        title=title,
        headings=tuple(b.text for b in blocks if b.kind == "heading"),
        sentences=tuple(by_index.get(s.index, s) for s in sentences),
        ranked=tuple(ranked),
        keywords=tuple(keywords),
    )


class _DocumentCache:
    """Bounded LRU of analysed sources. One lock: concurrent renders of a new source
    wait for the first one's analysis instead of all repeating it."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._items: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: str) -> Document:
        key = hashlib.sha256(source.encode("utf-8")).hexdigest()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            document = analyse(source)
            self._items[key] = document
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return document


_CACHE = _DocumentCache()


def read_document(source: str) -> Document:
    return _CACHE.get(source)
