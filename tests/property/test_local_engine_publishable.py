"""Posts a creator could publish as they stand: what the local engine shows is a whole
sentence of the source, never the tail of one that the splitter cut off.

Each test here pins one kind of failure seen on texts nobody on the project wrote (the
READMEs of installed packages, /usr/share/doc), on hypothesis-generated sources and on
every platform and tone."""

from __future__ import annotations

import re

import hypothesis.strategies as st
from hypothesis import HealthCheck, example, given, settings

from repurposeflow.adapters.engines.local import LocalEngine
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.measure import strip_thread_numbering
from repurposeflow.domain.model import VoiceSettings
from repurposeflow.domain.text import check_input
from repurposeflow.domain.validation import ValidationContext, validate

ENGINE = LocalEngine()

_PLAIN = (
    "the team shipped a small change and measured what happened next week because "
    "customers asked for faster pages we cut costs tested deployed users growth pricing "
    "onboarding feedback revenue budget keyword extraction documents languages method"
)
WORDS = _PLAIN.split()
_LINE_START = re.compile(r"^(?:\d+/\s*|→\s*|-\s+|\d+\.\s+)")


def lines_of(texts: list[str]) -> list[str]:
    """Every line of every output text, without thread numbering or list markers."""
    out = []
    for text in texts:
        for line in strip_thread_numbering(text).split("\n"):
            line = _LINE_START.sub("", line.strip())
            if line:
                out.append(line)
    return out


def render_all(source: str, tone: Tone) -> list[tuple[Platform, list[str]]]:
    ctx = ValidationContext.for_user(source)
    brief = ENGINE.analyze(source, tone).brief
    out = []
    for platform in Platform:
        output = ENGINE.render(RenderRequest(source, brief, platform, tone, VoiceSettings()))
        assert validate(output.output, ctx) == [], (platform, output.output)
        out.append((platform, [brief.core_message, *output.output.texts()]))
    return out


def _capitalised(words: list[str]) -> str:
    text = " ".join(words)
    return text[:1].upper() + text[1:]


# --- 1. "!" inside a name or before a lowercase word is not a sentence's end ----------

NAMES = ["YAKE", "Yahoo", "Jeopardy", "Zork", "Wham"]
plain = st.builds(
    lambda words, end: _capitalised(words) + end,
    st.lists(st.sampled_from(WORDS), min_size=4, max_size=18),
    st.sampled_from([".", ".", "!"]),
)


@st.composite
def bang_document(draw: st.DrawFn) -> tuple[str, str]:
    """A text about a name that ends in "!" ("YAKE! is a lightweight…"): the name is
    followed by a lowercase word at least once, and by a capital elsewhere."""
    name = draw(st.sampled_from(NAMES))
    tails = draw(
        st.lists(st.lists(st.sampled_from(WORDS), min_size=4, max_size=16), min_size=1, max_size=4)
    )
    lowered = [f"{name}! {' '.join(t)}." for t in tails]
    capital = draw(st.lists(st.lists(st.sampled_from(WORDS), min_size=3, max_size=10), max_size=2))
    capped = [f"{name}! {_capitalised(t)}." for t in capital]
    others = draw(st.lists(plain, min_size=2, max_size=10))
    sentences = draw(st.permutations([*lowered, *capped, *others]))
    cut = draw(st.integers(min_value=1, max_value=max(1, len(sentences) - 1)))
    text = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    return text.strip(), name


YAKE = (
    "# YAKE! (Yet Another Keyword Extractor)\n\n"
    "YAKE! is a lightweight unsupervised automatic keyword extraction method that uses text "
    "statistical features to select the most important keywords from a document. It "
    "requires no training, external corpus, or dictionaries.\n\n"
    'YAKE! now supports keyword lemmatization to aggregate variations (e.g., "tree" and '
    '"trees").\n\n'
    "Campos R. and Jatowt A. (2018). YAKE! Collection-independent Automatic Keyword "
    "Extractor. Advances in Information Retrieval."
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(doc=bang_document(), tone=st.sampled_from(list(Tone)))
@example(doc=(YAKE, "YAKE"), tone=Tone.CONVERSATIONAL)
def test_a_name_that_ends_in_a_bang_stays_with_its_sentence(
    doc: tuple[str, str], tone: Tone
) -> None:
    text, name = doc
    try:
        source = check_input(text)
    except InvalidInput:
        return
    sentences = [s.text for s in ENGINE.read(source).sentences]
    assert not [s for s in sentences if s[:1].islower()], sentences
    assert f"{name}!" not in sentences, sentences
    for platform, texts in render_all(source, tone):
        for line in lines_of(texts):
            assert not line[:1].islower(), (platform, line)
            assert not line.startswith("Collection-independent"), (platform, line)


def test_a_lowercase_word_after_a_bang_or_question_mark_continues_the_sentence() -> None:
    text = (
        "Jeopardy! is a quiz show that has run for decades on network television. "
        "Why? because the format keeps working for every new audience it meets. "
        "Wow! The ratings were higher than anyone on the team had expected."
    )
    assert [s.text for s in ENGINE.read(text).sentences] == [
        "Jeopardy! is a quiz show that has run for decades on network television.",
        "Why? because the format keeps working for every new audience it meets.",
        # "Wow!" is a sentence of its own (too short to be used).
        "The ratings were higher than anyone on the team had expected.",
    ]
