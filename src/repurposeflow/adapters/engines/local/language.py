"""Which language a source is written in: a cheap guess by script, then by function
words for Latin-script text."""

from __future__ import annotations

import re
from collections import Counter

from repurposeflow.adapters.engines.local.words import FUNCTION_WORDS
from repurposeflow.domain.measure import HAN_CLASS, KANA_CLASS

KANA = re.compile(KANA_CLASS)
_HAN = re.compile(HAN_CLASS)
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_GREEK = re.compile(r"[\u0370-\u03ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LATIN_WORD = re.compile(r"[a-zà-ÿß]+")

CJK_LANGS = frozenset({"ja", "zh"})


def detect_language(text: str) -> str:
    """A cheap guess by script, then by function words for Latin-script text."""
    sample = text[:6000]
    letters = max(1, sum(ch.isalpha() for ch in sample))
    # Kana mark Japanese, but one Japanese line in an English post does not make it one.
    kana = len(KANA.findall(sample))
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
    scores = {lang: sum(words[w] for w in vocab) for lang, vocab in FUNCTION_WORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 2 else "en"
