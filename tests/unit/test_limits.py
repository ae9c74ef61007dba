"""The counts the page shows (``domain/limits.py``) and the validators agree: a count
over its limit is exactly a length violation, for X's weighted length, CJK, emoji and
links alike."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.domain import platforms as pf
from repurposeflow.domain.limits import measures
from repurposeflow.domain.measure import twitter_weighted_length
from repurposeflow.domain.platforms import EmailOutput, ThreadsOutput, TwitterOutput
from repurposeflow.domain.validation import ValidationContext, validate

LENGTH_CODES = {"too-long", "preheader-length"}
CASES = [
    "plain words " * 20,
    "漢" * 140,
    "漢" * 141,
    "👩‍👩‍👧‍👦" * 140,
    "👩‍👩‍👧‍👦" * 141,
    "see https://example.com/" + "a" * 300,
    "é" * 280,
    "e\u0301" * 281,  # NFC makes each pair one character
    "🇺🇸 flags " * 30,
]
pieces = st.sampled_from(
    ["a", "漢", "😀", "👩‍👩‍👧‍👦", " https://example.com/x ", "é", "\u2014", " "]
)
texts = st.lists(pieces, min_size=1, max_size=200).map("".join).filter(str.strip)


def _length_violations(output: object) -> int:
    ctx = ValidationContext(source="")
    return sum(v.code in LENGTH_CODES for v in validate(output, ctx))  # type: ignore[arg-type]


def test_x_counts_are_the_weighted_length_on_known_cases() -> None:
    for text in CASES:
        [m] = measures(TwitterOutput(thread=(text,), tweet_count=1))
        assert m.size == twitter_weighted_length(text)
        assert m.limit == pf.TWITTER_MAX_WEIGHTED
        assert m.unit == "weighted"


def test_edge_cases_land_on_the_right_side_of_the_limit() -> None:
    assert measures(TwitterOutput(thread=("漢" * 140,)))[0].ok
    assert not measures(TwitterOutput(thread=("漢" * 141,)))[0].ok
    assert measures(TwitterOutput(thread=("x https://example.com/" + "a" * 400,)))[0].size == 25


@given(st.lists(texts, min_size=1, max_size=4))
def test_x_count_over_the_limit_iff_the_validator_says_too_long(thread: list[str]) -> None:
    out = TwitterOutput(thread=tuple(thread), tweet_count=len(thread))
    over = sum(not m.ok for m in measures(out))
    assert over == _length_violations(out)


@given(st.lists(texts, min_size=1, max_size=3))
def test_threads_counts_agree_with_the_validator(posts: list[str]) -> None:
    out = ThreadsOutput(posts=tuple(posts))
    assert sum(not m.ok for m in measures(out)) == _length_violations(out)


@given(texts, texts)
def test_email_counts_agree_with_the_validator(subject: str, preheader: str) -> None:
    out = EmailOutput(subject=subject, preheader=preheader, body_markdown="Body.", cta="Reply.")
    assert sum(not m.ok for m in measures(out)) == _length_violations(out)
