"""A source's keywords: yake for alphabetic scripts (with repeated acronyms, which are
too short for it), repeated runs of kanji, hanzi or katakana for Chinese and Japanese."""

from __future__ import annotations

import math
import re
from collections import Counter

from repurposeflow.adapters.engines.local.language import CJK_LANGS, KANA
from repurposeflow.adapters.engines.local.words import NOT_ACRONYMS
from repurposeflow.domain.measure import HAN_CLASS, KATAKANA_CLASS, URL, URL_START

_KEYWORD_JUNK = re.compile(r"\d|" + URL_START + r"|https?:|@|[^\w\s'’-]")


def _cjk_keywords(text: str, top: int) -> list[str]:
    """Repeated runs of kanji/hanzi or katakana: the nouns of a CJK text, roughly."""
    runs = re.findall(rf"{KATAKANA_CLASS}{{2,}}|{HAN_CLASS}{{2,}}", text)
    counts: Counter[str] = Counter()
    for run in runs:
        if KANA.match(run):
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
    stopwords = getattr(extractor, "stopword_set", None) or set()
    for phrase, _score in found:
        phrase = phrase.strip()
        key = phrase.lower()
        if not phrase or key in seen or _KEYWORD_JUNK.search(phrase):
            continue
        if phrase.isupper() and key in stopwords:
            continue  # "IN", "OF", "NO": shouted licence text or a constant, not a topic
        if all(len(w) < 3 and not w.isupper() for w in phrase.split()):
            continue
        seen.add(key)
        out.append(_usual_case(phrase, text))
        if len(out) == top:
            break
    return out


def _frequent_words(text: str, top: int) -> list[str]:
    text = URL.sub(" ", text)  # "https" and "github" are not the subject
    words = Counter(w.lower() for w in re.findall(r"[^\W\d_]{4,}", text))
    return [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))][:top]


_ACRONYM = re.compile(r"(?<![\w-])[A-Z]{2,5}(?![\w-])")


def _acronyms(text: str) -> list[str]:
    """Repeated acronyms (CI, API, SEO): often the subject, and too short for yake."""
    counts = Counter(a for a in _ACRONYM.findall(text) if a not in NOT_ACRONYMS)
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
