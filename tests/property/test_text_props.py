"""Input rules: decoding, normalisation, size checks and the request cache key.

DESIGN.md: "A repeat of the same request (same user, SHA-256 of the normalised input,
same platforms, tone and model) returns the stored generation"; "Every bad input gets a
clear message and changes nothing: empty or oversized input, unknown platform or tone
(the message lists the valid ones), non-UTF-8 file".
"""

from __future__ import annotations

import hashlib
import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.errors import (
    EmptyInput,
    InputNotText,
    InputTooLarge,
    InvalidChoice,
    InvalidInput,
)
from repurposeflow.domain.text import (
    MAX_INPUT_CHARS,
    check_input,
    content_hash,
    decode_input,
    normalize_input,
    parse_platforms,
    request_key,
)

# Text with the things normalisation is about: line ends, trailing blanks, combining
# marks, precomposed letters, blank-line runs, BOMs.
_PIECES = st.sampled_from(
    [
        *("a", "Z", "e", "\u0301", "\u0308", "é", "ñ", "日", " ", "\t", "\u00a0"),
        *("\n", "\r\n", "\r", "\ufeff", ".", "word", "Ω", "\U0001f600"),
    ]
)
MESSY = st.lists(_PIECES, max_size=40).map("".join)
WORDS = st.lists(
    st.text(st.characters(categories=("Ll", "Lu", "Lo")), min_size=1, max_size=8),
    min_size=3,
    max_size=30,
)


def key(text: str, platforms=tuple(Platform), tone=Tone.CONVERSATIONAL, engine="e", model="m"):  # type: ignore[no-untyped-def]
    return request_key(content_hash(normalize_input(text)), platforms, tone, engine, model)


# --- normalisation -------------------------------------------------------------------


@given(MESSY)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize_input(text)
    assert normalize_input(once) == once


@given(MESSY)
def test_normal_form_is_nfc_lf_trimmed_without_trailing_blanks(text: str) -> None:
    norm = normalize_input(text)
    assert unicodedata.is_normalized("NFC", norm)
    assert "\r" not in norm and "\ufeff" not in norm
    assert "\n\n\n" not in norm
    assert norm == norm.strip()
    assert all(line == line.rstrip(" \t\u00a0") for line in norm.split("\n"))


@given(WORDS, st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from(["", " ", "\t", "  \t "]))
def test_line_ends_and_trailing_blanks_do_not_change_the_hash(
    words: list[str], newline: str, trailing: str
) -> None:
    lf = "\n".join(words)
    other = newline.join(w + trailing for w in words) + trailing + newline
    assert content_hash(normalize_input(other)) == content_hash(normalize_input(lf))


@given(WORDS)
def test_nfc_and_nfd_give_the_same_hash(words: list[str]) -> None:
    text = " ".join(words) + " café naïve Ångström"
    nfc = unicodedata.normalize("NFC", text)
    nfd = unicodedata.normalize("NFD", text)
    assert content_hash(normalize_input(nfc)) == content_hash(normalize_input(nfd))
    assert key(nfc) == key(nfd)


@given(MESSY)
def test_a_bom_anywhere_does_not_change_the_hash(text: str) -> None:
    plain = text.replace("\ufeff", "")
    assert content_hash(normalize_input(text)) == content_hash(normalize_input(plain))


def test_blank_line_runs_collapse_but_paragraphs_stay() -> None:
    assert normalize_input("one\n\n\n\n\ntwo") == "one\n\ntwo"
    assert normalize_input("one\n\ntwo") == "one\n\ntwo"
    assert normalize_input("one\ntwo") == "one\ntwo"
    assert normalize_input("one \r\n\r\n \r\n two") == "one\n\n two"


def test_content_hash_is_sha256_of_the_utf8_text() -> None:
    assert content_hash("héllo") == hashlib.sha256("héllo".encode()).hexdigest()
    assert content_hash("a") != content_hash("b")


# --- the request key -----------------------------------------------------------------

PLATFORM_SETS = st.lists(st.sampled_from(list(Platform)), min_size=1, max_size=6, unique=True)


@given(PLATFORM_SETS, st.randoms(use_true_random=False))
def test_platform_order_and_repeats_do_not_change_the_key(platforms, rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(platforms) * 2
    rnd.shuffle(shuffled)
    assert parse_platforms(shuffled) == parse_platforms(platforms)
    assert key("some text here", parse_platforms(shuffled)) == key("some text here", platforms)
    assert key("some text here", shuffled) == key("some text here", platforms)


def test_every_request_detail_makes_a_different_key() -> None:
    text = "one post, a week of content"
    subsets = [
        combo
        for n in range(1, len(Platform) + 1)
        for combo in itertools.combinations(list(Platform), n)
    ]
    variants = {
        (combo, tone, engine, model): key(text, combo, tone, engine, model)
        for combo in subsets
        for tone in Tone
        for engine in ("local", "openai")
        for model in ("m1", "m2")
    }
    # 63 platform sets x 4 tones x 2 engines x 2 models: all distinct.
    assert len(set(variants.values())) == len(variants) == 63 * 4 * 2 * 2
    assert key(text) != key(text + " more")


@given(WORDS, WORDS)
def test_different_normalised_texts_give_different_keys(a: list[str], b: list[str]) -> None:
    ta, tb = " ".join(a), " ".join(b)
    same = normalize_input(ta) == normalize_input(tb)
    assert (key(ta) == key(tb)) is same


def test_parse_platforms_defaults_to_all_six_and_knows_x() -> None:
    assert parse_platforms(None) == tuple(Platform)
    assert parse_platforms([]) == tuple(Platform)
    assert parse_platforms(["X", " LinkedIn "]) == (Platform.TWITTER, Platform.LINKEDIN)


@pytest.mark.parametrize("bad", ["myspace", "", "tik tok", "emails"])
def test_unknown_platform_lists_the_valid_ones(bad: str) -> None:
    with pytest.raises(InvalidChoice) as info:
        parse_platforms(["email", bad])
    message = str(info.value)
    assert repr(bad) in message
    for platform in Platform:
        assert platform.value in message
    assert info.value.valid == tuple(p.value for p in Platform)
    assert isinstance(info.value, InvalidInput)


def test_unknown_tone_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidChoice) as info:
        Tone.parse("sarcastic")
    for tone in Tone:
        assert tone.value in str(info.value)
    assert Tone.parse(" Educational ") is Tone.EDUCATIONAL


# --- decoding ------------------------------------------------------------------------


@given(st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",))))
def test_utf8_text_decodes_to_itself(text: str) -> None:
    assert decode_input(text.encode("utf-8")) == text


def test_a_utf8_bom_is_dropped() -> None:
    assert decode_input("\ufeffhello".encode()) == "hello"


@pytest.mark.parametrize(
    "data",
    [
        "café crème brûlée".encode("latin-1"),
        "日本語のテキスト".encode("shift_jis"),
        "hello".encode("utf-16"),
        b"\xff\xfe\xfd",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"abc\xc3",  # truncated sequence
        b"text with a \x00 NUL byte",
        b"\x00",
    ],
)
def test_non_utf8_and_nul_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(InputNotText) as info:
        decode_input(data, source="notes.txt")
    assert "notes.txt" in str(info.value)
    assert "UTF-8" in str(info.value)
    assert info.value.code == "input-not-text"


@given(st.binary(min_size=1, max_size=64))
def test_decode_input_never_returns_text_with_nul_or_raises_anything_else(data: bytes) -> None:
    try:
        text = decode_input(data)
    except InputNotText:
        return
    assert "\x00" not in text
    assert text.encode("utf-8") in (data, data.removeprefix(b"\xef\xbb\xbf"))


# --- check_input ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n\t ", "\ufeff", "\r\n \u00a0 "])
def test_empty_or_blank_input_is_refused(text: str) -> None:
    with pytest.raises(EmptyInput) as info:
        check_input(text)
    assert "empty" in str(info.value)
    assert info.value.code == "empty-input"


@pytest.mark.parametrize("text", ["hello", "two words", "x  y", "日本"])
def test_too_short_input_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="too short"):
        check_input(text)


def test_three_words_are_enough() -> None:
    assert check_input("  one two three  \r\n") == "one two three"


@given(st.integers(-3, 3))
def test_oversized_input_is_refused_at_the_limit(delta: int) -> None:
    limit = 1000
    text = ("word " * 400)[: limit + delta - 1] + "x"
    assert len(normalize_input(text)) == limit + delta
    if delta <= 0:
        assert check_input(text, max_chars=limit) == normalize_input(text)
    else:
        with pytest.raises(InputTooLarge) as info:
            check_input(text, max_chars=limit)
        assert info.value.size == limit + delta and info.value.limit == limit
        assert f"{limit + delta:,}" in str(info.value) and f"{limit:,}" in str(info.value)
        assert info.value.code == "input-too-large"


def test_the_default_limit_is_200k_characters() -> None:
    assert MAX_INPUT_CHARS == 200_000
    with pytest.raises(InputTooLarge, match="200,000"):
        check_input("word " * 40_001)


@pytest.mark.parametrize("position", [0, 10, 4095, 4096, 10_000, 150_000])
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b"])
def test_control_characters_anywhere_are_refused(position: int, control: str) -> None:
    text = ("plain words here " * 10_000)[:position] + control + " and more words"
    with pytest.raises(InputNotText):
        check_input(text)


@given(WORDS)
def test_check_input_returns_the_normal_form(words: list[str]) -> None:
    text = "\r\n".join(w + "  " for w in words)
    assert check_input(text) == normalize_input(text)
