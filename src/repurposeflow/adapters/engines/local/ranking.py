"""Ranking a source's sentences: keyword coverage, how much a sentence reads like the
author's point, position and length, best first, near-duplicates removed."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from functools import lru_cache

import attrs

from repurposeflow.adapters.engines.local.sentences import WORD, Sentence
from repurposeflow.adapters.engines.local.words import (
    CLAIM_CUE_WORDS,
    FIRST_PERSON,
    FUNCTION_WORDS,
    PAST_EN,
)
from repurposeflow.domain.validation import leaks_in

_DEPENDENT_START = re.compile(
    r"(?i)^(?:this|that|these|those|it|its|they|their|he|she|his|her|ours|theirs|but|and|"
    r"so|also|however|which|then|or|here|there|such|both|before|after|the rest|"
    r"instead|still|yet|otherwise|plus|meanwhile|again|besides|likewise|similarly|because|"
    r"thus|therefore|hence|moreover|furthermore|additionally|consequently|accordingly|"
    r"nevertheless|nonetheless|conversely|in other words|on the other hand|"
    r"(?:as such|in addition|by contrast|in contrast|even then|to do (?:this|so))(?=,)|"
    r"in (?:this|that|such an?|either|both|which) (?:case|cases|scenario|situation)|"
    r"por lo tanto|por eso|así que|en cambio|daher|außerdem|jedoch|allerdings|"
    r"en revanche|de plus|par conséquent|toutefois|"
    r"(?:most|some|all|one|none|many|each|few|both|either|neither) of (?:them|these|those|it)|"
    r"for example|for instance|in fact|as a result|that's why|even so|the same|"
    r"sin embargo|además|por eso|esto|eso|estos|esas?|deshalb|trotzdem|dennoch|dies|"
    r"cependant|pourtant|ainsi|cela|ces|"
    r"pero|y|también|aber|und|auch|mais|et|donc)\b"
)


def leans_back(text: str) -> bool:
    """True when a sentence opens by pointing at the one before ("It…", "But…")."""
    return _DEPENDENT_START.match(text) is not None


def _signature(text: str, cjk: bool) -> frozenset[str]:
    if cjk:
        chars = [c for c in text if not c.isspace()]
        return frozenset(a + b for a, b in itertools.pairwise(chars))
    return frozenset(w.lower() for w in WORD.findall(text) if len(w) > 2)


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


# The frame around a piece, not its content: greetings, "in this post I will…",
# sign-offs, thanks, housekeeping.
_META = re.compile(
    r"(?i)^(?:hi|hey|hello|dear|hola|hallo|bonjour)\b[^.!?]{0,30}[,!]?$"
    r"|\b(?:thanks|thank you)(?: so much)?,? (?:again )?(?:for|to) (?:reading|listening|"
    r"watching|having me|coming on|joining|being here|subscribing)"
    r"|\bin (?:this|today's) (?:post|issue|article|episode|video|newsletter|piece|guide|"
    r"edition|thread)\b,? (?:i|we)(?:'ll|’ll| will| am going| are going|'m going|’m going)"
    r"|\b(?:subscribe (?:below|here|now|to)|leave a review|like and subscribe|"
    r"see you (?:next|in|soon)|that'?s all for|that'?s it for|until next time|"
    r"if you (?:liked|enjoyed) this|share this (?:post|episode|issue))\b"
    r"|^welcome (?:back )?to\b|^this (?:post|piece|article) is part of\b"
    r"|^(?:warmly|cheers|best|regards|best regards|kind regards|talk soon|xo)\b,?$"
    r"|^grab a (?:coffee|tea|cup)\b"
    r"|\bgracias por leer\b|\bdanke fürs lesen\b|\bmerci de m'avoir lu\b"
)
_BYLINE_LINE = re.compile(
    r"(?i)^(?:by|posted by|written by|von|por|par)\s+[^\s.!?]+(?:\s+[^\s.!?]+){0,3}"
    r"(?:\s*[·|•,—–-]\s*.*)?$|\bmin(?:ute)? read\b"
)
BYLINE_NAME = re.compile(
    r"^(?:By|Posted by|Written by|Von|Por|Par)\s+([A-ZÀ-Þ][\w'-]+(?: [A-ZÀ-Þ][\w'-]+){0,2})"
)


def is_meta(text: str) -> bool:
    """True for the piece's frame rather than its content: a greeting, "In this post I
    will…", a sign-off, a byline."""
    return _META.search(text) is not None or _BYLINE_LINE.search(text) is not None


# A line that only sends the reader elsewhere ("See the file COPYING.", "For more
# information, see https://…", "Please report bugs to …") or is licence boilerplate:
# the frame of a README, not something to tell an audience. Its link is still kept.
_POINTER = re.compile(
    r"(?i)^(?:please\s+)?(?:see|refer\s+to|read|consult|siehe|voir|véase)\s+(?:"
    r"also\b|https?://|(?:the\s+)?(?:file|files|docs?|documentation|manual|man\s+page|readme|"
    r"licen[cs]e|gnu\b|api\s+reference|website|wiki|faq|changelog)\b|"
    r"(?:the\s+)?[\w./-]*\.(?:md|txt|rst|html?|gz|texi|pdf)\b|(?:the\s+)?(?-i:[A-Z][A-Z0-9_.-]{2,})\b|"
    r"our\s+(?:docs|documentation|website|wiki)\b|"
    r"[^.!?]{0,80}\bfor\s+(?:more\s+|further\s+|full\s+)?(?:details|information|info|"
    r"instructions)\b)"
    r"|^(?:please\s+)?(?:send|report|submit|file|mail)\s+(?:any\s+|all\s+)?(?:bug|bugs|patches|"
    r"issues|comments|questions|test\s+failures)\b|^reporting\s+bugs\b"
    r"|^for\s+(?:more|further|full)\s+(?:information|details|info)\b"
    r"|^copyright\s*(?:\(c\)|©|\d)"
    r"|\b(?:without|with\s+no)\s+(?:any\s+)?warranty\b|\bmerchantability\b|\bin\s+no\s+event\s+shall\b"
    r"|\bdistributed\s+in\s+the\s+hope\s+that\b|\bpermission\s+is\s+hereby\s+granted\b"
    r"|\bthe\s+software\s+is\s+provided\b|\bdealings\s+in\s+the\s+software\b"
)
# A lead-in to a list or an example that follows it: "…run the following commands:",
# "…you can mask the units, e.g.". Without what follows, it ends mid-thought.
_LEAD_IN = re.compile(r"(?:[:：]|\b(?:e\.\s?g|i\.\s?e|z\.\s?B|p\.\s?ej)\.,?)\s*$")


# "[0] https://… [1] https://…", "Damien Miller djm@example.org": footnotes and
# signatures, nothing but links and names once the links are gone.
_LINKS_AND_MARKERS = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.-]+|\[\d+\]|<[^>\s]*>")


def is_pointer(text: str) -> bool:
    """True for a line that only points elsewhere (a list of links included), or
    licence boilerplate."""
    if _POINTER.search(text) is not None:
        return True
    if "://" not in text and "@" not in text:
        return False
    return len(WORD.findall(_LINKS_AND_MARKERS.sub(" ", text))) < 3


def usable(sentence: Sentence, cjk: bool) -> bool:
    """Sentences worth repeating to an audience on their own."""
    text = sentence.text
    if sentence.words < (4 if cjk else 3) or _LEAD_IN.search(text):
        return False
    return not leaks_in([text]) and not is_meta(text) and not is_pointer(text)


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
        r"turns out|that's the point|most of the battle|are different|is different|"
        r"the (?:whole point|real \w+) is|what matters)\b"
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
    r"^(?:(?:i would say|i'd say|i would tell (?:them|you)(?: to)?|my advice is(?: to)?)\s+)?"
    r"(?:(?:start|stop|measure|find|pick|write|count|fix|keep|try|give|set|ask|make|"
    r"use|avoid|focus|charge|take|build|treat|choose|protect|remember|think|begin|spend|"
    r"learn|don't|do not|never|always)\b|if you\b)"
)
# Past tense: the story of what happened, not its point. English "-ed" words count too,
# but not "-eed" ones (need, speed).
_PAST_ED = re.compile(r"\w\w[^e\W]ed\b")
_PAST_DE = re.compile(r"\b(?:haben wir|hatten|war|waren|wurde|wurden|gab es)\b")
_FIGURE = re.compile(r"(?<![\w.,])\d[\d.,]*")
_BYLINE = re.compile(r"^(?:by|posted by|written by|von|por|par)\s+\S+|\bmin(?:ute)? read\b")
_CLOSED = re.compile(r"[.!?…。！？][\"'”’)\]]*$")
_SUFFIXES = ("ing", "ed", "es", "s")
# "X went from 38 minutes to 9", "followers grew 18%": a result, not a string of figures.
_RESULT = re.compile(
    r"\b(?:grew|rose|fell|dropped|doubled|tripled|halved|cut|saved|increased|decreased|"
    r"reduced|went (?:from|down|up)|(?:more|less) than (?:doubled|halved|tripled|\d)|"
    r"from \d[\d.,]*\s*\w* to)\b"
)
# "That tin is the best lesson I have had.": the sentence after it says what the lesson is.
_ANNOUNCES = re.compile(
    r"\b(?:lesson|takeaway|moral|insight|realization)\b(?![^.!?]*\b(?:that|is|was|:))[^.!?]{0,40}[.!]?$"
)


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(words: list[str], language: str) -> frozenset[str]:
    """Content words (roughly stemmed) of lowercased ``words``: what the title and the
    document's centroid are compared by."""
    stop = FUNCTION_WORDS.get(language, frozenset())
    return frozenset(_stem(w) for w in words if len(w) > 2 and w not in stop and not w.isdigit())


def _is_past(words: list[str], text: str, language: str) -> bool:
    if language == "de":
        return _PAST_DE.search(text) is not None
    if language != "en":
        return False
    return not PAST_EN.isdisjoint(words) or _PAST_ED.search(text) is not None


def _claim_scores(
    sentences: list[Sentence],
    title: str | None,
    language: str,
    cjk: bool,
    section_ends: frozenset[int] = frozenset(),
    spoken: bool = False,
) -> list[float]:
    """How much each sentence reads like the author's point, from 0 up: claim wording,
    closeness to the title and to the document as a whole, the intro and the conclusion
    (where authors state their case) and the last paragraph of a section (where they
    sum it up), less for narrative and for strings of figures."""
    strong, weak = _STRONG_CLAIM.get(language), _WEAK_CLAIM.get(language)
    words = [[] if cjk else [w.lower() for w in WORD.findall(s.text)] for s in sentences]
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
        title_words = [w.lower() for w in WORD.findall(title)]
        title_terms = _signature(title, True) if cjk else _terms(title_words, language)
    blocks = sorted({s.block for s in sentences})
    edge = 1 if len(blocks) < 6 else 2
    # A talk opens with introductions and small talk; it lands its point at the end.
    edges = {*blocks[-edge:]} if spoken else {*blocks[:edge], *blocks[-edge:]}
    scores = []
    announced = False
    for s, ws, ts, central in zip(sentences, words, terms, centroid, strict=True):
        text = s.text.lower().replace("’", "'")
        claim = 0.0
        if language == "en" and CLAIM_CUE_WORDS.isdisjoint(ws):
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
            claim += 0.1 * FIRST_PERSON.isdisjoint(ws)
        if title_terms:
            claim += 0.4 * len(ts & title_terms) / len(title_terms)
        claim += 0.3 * central / top
        if s.block in edges:
            claim += 0.2
        elif s.block in section_ends:
            claim += 0.15
        figures = len(_FIGURE.findall(text))
        if figures and _RESULT.search(text):
            claim += 0.3  # a headline number: what changed, and by how much
        else:
            claim -= 0.1 * min(3, figures)
        if s.emphasis:
            claim += 0.6
        if announced:
            claim += 0.4
        announced = _ANNOUNCES.search(text) is not None and not _FIGURE.search(text)
        scores.append(max(0.0, claim))
    return scores


def rank(
    sentences: list[Sentence],
    keywords: list[str],
    cjk: bool,
    title: str | None = None,
    language: str = "en",
    section_ends: frozenset[int] = frozenset(),
    spoken: bool = False,
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
    claims = _claim_scores(sentences, title, language, cjk, section_ends, spoken)
    scored = []
    for s, cov, claim in zip(sentences, coverage, claims, strict=True):
        position = 1 - 0.4 * (s.index / total) + (0.2 if s.first_in_block else 0)
        if spoken:
            position = 0.8
        # Coverage saturates: a sentence naming every keyword (often a list of
        # measurements) should not outrank the one sentence that says what they mean.
        score = (
            0.2 * math.sqrt(cov / top)
            + 0.5 * min(claim, 1.2)
            + 0.15 * position
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
