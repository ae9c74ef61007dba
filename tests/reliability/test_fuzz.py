"""Hostile inputs: arbitrary unicode, huge texts, nested JSON. Each reader either
returns a value or raises one of its documented errors, never anything else.

Example counts: the CI hypothesis profile's default; REPURPOSEFLOW_DRILLS=full
multiplies them.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repurposeflow.adapters.engines.local.document import read_document
from repurposeflow.adapters.engines.local.markup import extract_blocks, html_blocks
from repurposeflow.domain.enums import Platform
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.platforms import OUTPUT_TYPES, output_from_dict
from repurposeflow.domain.text import MAX_INPUT_CHARS, check_input, decode_input
from repurposeflow.domain.validation import ValidationContext, validate
from tests.reliability.conftest import FULL

EXAMPLES = 1000 if FULL else 150
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=8) | st.dictionaries(st.text(max_size=20), children, max_size=8)
    ),
    max_leaves=40,
)

# Markup-ish text: tags, entities, Markdown syntax and arbitrary unicode mixed.
markup_pieces = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='x'>",
        "</div>",
        "<script>alert(1)</script>",
        "<br/>",
        "<!-- c -->",
        "<![CDATA[x]]>",
        "&amp;",
        "&#x1F600;",
        "&#0;",
        "&bogus;",
        "<",
        ">",
        "# ",
        "## ",
        "\n",
        "\n\n",
        "- ",
        "* ",
        "1. ",
        "> ",
        "```",
        "`",
        "**",
        "_",
        "[a](",
        ")",
        "![i](x.png)",
        "| a | b |\n|---|---|",
        "---\ntitle: x\n---\n",
        "\t",
        "\r\n",
        "https://example.com/a?b=c",
        "\u200b",
        "\u202e",
        "\ufeff",
        "🙂",
        "👩‍👩‍👧",
        "日本語",
    ]
)
markupish = st.lists(markup_pieces | st.text(max_size=40), max_size=60).map("".join)


@fuzz
@given(st.binary(max_size=2000))
def test_decode_input_returns_text_or_says_not_text(data: bytes):
    try:
        text = decode_input(data, "fuzz")
    except InvalidInput:
        return
    assert isinstance(text, str)


@fuzz
@given(st.text(max_size=3000) | markupish)
def test_check_input_normalises_or_refuses(text: str):
    try:
        normalised = check_input(text)
    except InvalidInput as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert normalised == check_input(normalised)  # idempotent
    assert 0 < len(normalised) <= MAX_INPUT_CHARS


def test_check_input_refuses_huge_input_in_one_line():
    huge = ("word " * 50 + "\n\n") * (MAX_INPUT_CHARS // 200)
    try:
        check_input(huge)
    except InvalidInput as exc:
        assert "\n" not in exc.message
    else:
        raise AssertionError("an input past the limit was accepted")


@fuzz
@given(markupish | st.text(max_size=2000))
def test_markup_readers_never_crash(source: str):
    blocks = extract_blocks(source)
    assert isinstance(blocks, list)
    assert isinstance(html_blocks(source), list)


@settings(
    max_examples=max(20, EXAMPLES // 5), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(markupish)
def test_read_document_never_crashes(source: str):
    try:
        text = check_input(source)
    except InvalidInput:
        return
    read_document(text)


def _fields(platform: Platform) -> list[str]:
    return [f.name for f in attrs.fields(OUTPUT_TYPES[platform])]


@st.composite
def engine_answers(draw: st.DrawFn) -> tuple[Platform, dict[str, Any]]:
    """What a confused model might answer: the right keys with wrong values, or junk."""
    platform = draw(st.sampled_from(list(Platform)))
    keys = st.sampled_from(_fields(platform)) | st.text(max_size=10)
    answer = draw(st.dictionaries(keys, json_values, max_size=8))
    return platform, answer


@fuzz
@given(engine_answers(), st.text(max_size=500))
def test_engine_answers_are_read_and_validated_or_refused(
    answer: tuple[Platform, dict[str, Any]], source: str
):
    platform, data = answer
    try:
        output = output_from_dict(platform, data)
    except InvalidInput:
        return
    violations = validate(output, ValidationContext(source=source))
    assert all(str(v) for v in violations)
    json.dumps(attrs.asdict(output), default=str)  # storable
