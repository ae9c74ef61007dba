"""X's weighted length, held to the twitter-text v3 rules (as DESIGN.md states them):

* the text is NFC-normalised first;
* code points in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037 weigh 1,
  every other code point weighs 2;
* any emoji sequence (ZWJ families, flags, keycaps, skin tones, VS16) weighs 2 in all;
* every URL weighs 23, however long it is.

The conformance examples below were written from those rules by hand, and the plain-text
properties use an independent per-code-point oracle rather than the library.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from repurposeflow.domain.measure import twitter_weighted_length

URL_WEIGHT = 23
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def oracle_weight(text: str) -> int:
    """The v3 weight of text with no URLs and no emoji: NFC, then per code point."""
    return sum(
        1 if any(lo <= ord(ch) <= hi for lo, hi in _LIGHT_RANGES) else 2
        for ch in unicodedata.normalize("NFC", text)
    )


CONFORMANCE = [
    # plain ASCII and Latin: one each
    ("", 0),
    ("hello", 5),
    ("Hello, world!", 13),
    ("line\nbreak", 10),
    ("café", 4),
    ("naïve façade", 12),
    # combining marks are composed first (NFC): e + U+0301 is é, one code point
    ("cafe\u0301", 4),
    ("n\u0303", 1),
    ("A\u030a", 1),  # A + ring above -> Å
    # a mark with no precomposed form stays a second code point (both in U+0000–10FF)
    ("q\u0301", 2),
    # Greek, Cyrillic, Hebrew, Arabic, Georgian: all below U+10FF
    ("Ωμέγα", 5),
    ("привет", 6),
    ("שלום", 4),
    ("مرحبا", 5),
    ("\u10d0\u10ff", 2),
    # just above U+10FF: Hangul Jamo weighs 2
    ("\u1100", 2),
    # CJK, kana, Hangul syllables, full-width forms: two each
    ("日本語", 6),
    ("こんにちは", 10),
    ("안녕하세요", 10),
    ("中文，标点。", 12),
    ("Ａ", 2),
    # the general punctuation block: light ranges and their neighbours
    ("\u2000", 1),  # en quad
    ("\u200b", 1),  # zero width space
    ("\u200d", 1),  # ZWJ on its own
    ("\u200e", 2),  # left-to-right mark: just past U+200D
    ("\u2010", 1),  # hyphen
    ("\u2013\u2014", 2),  # en and em dash
    ("\u2018quoted\u2019", 8),
    ("\u201cquoted\u201d", 8),
    ("\u201f", 1),
    ("\u2020", 2),  # dagger: just past U+201F
    ("\u2026", 2),  # ellipsis is not in a light range
    ("\u2030", 2),  # per mille
    ("\u2032", 1),  # prime
    ("\u2037", 1),
    ("\u2038", 2),  # caret: just past U+2037
    ("\u20ac", 2),  # euro sign
    # emoji: any sequence weighs 2
    ("\U0001f600", 2),
    ("\U0001f600\U0001f600", 4),
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", 2),  # family (ZWJ)
    ("\U0001f469\U0001f3fd\u200d\U0001f4bb", 2),  # woman technologist, skin tone
    ("\U0001f1fa\U0001f1f8", 2),  # flag: two regional indicators
    ("\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5", 4),  # two flags
    ("1\ufe0f\u20e3", 2),  # keycap
    ("#\ufe0f\u20e3", 2),
    ("\U0001f44d\U0001f3fd", 2),  # thumbs up, medium skin tone
    ("\u2764\ufe0f", 2),  # red heart with VS16
    ("\U0001f3f3\ufe0f\u200d\U0001f308", 2),  # rainbow flag
    ("I \u2764\ufe0f it", 7),
    # sequences newer than the 2019 emoji list bundled with twitter-text-parser
    ("\U0001f9d1\u200d\U0001f4bb", 2),  # technologist (Emoji 12.1)
    ("\U0001f9d1\U0001f3fb\u200d\U0001f4bb", 2),
    ("\u2764\ufe0f\u200d\U0001f525", 2),  # heart on fire (13.1)
    ("\U0001f3f3\ufe0f\u200d\u26a7\ufe0f", 2),  # transgender flag (13.0)
    ("\U0001f9d4\u200d\u2640\ufe0f", 2),  # woman with beard (13.1)
    ("\U0001faf6\U0001f3fd", 2),  # heart hands with skin tone (14.0)
    ("\U0001fae8", 2),  # shaking face (15.0)
    # a ZWJ that joins nothing is a plain character of weight 1
    ("\U0001f600\u200d", 3),
    ("\U0001f600\u200dabc", 6),
    # URLs: 23 each, whatever their length; the text around them counts as usual
    ("https://example.com", URL_WEIGHT),
    ("http://example.com/a/very/long/path/that/keeps/going?and=query&more=1", URL_WEIGHT),
    ("https://t.co/abc", URL_WEIGHT),
    ("example.com", URL_WEIGHT),
    ("www.example.com/page", URL_WEIGHT),
    ("read https://example.com/post now", 5 + URL_WEIGHT + 4),
    # (twitter-text only links known TLDs, so use real ones)
    ("https://a.co https://b.io", URL_WEIGHT + 1 + URL_WEIGHT),
    ("日本 https://example.jp", 4 + 1 + URL_WEIGHT),
    # hashtags, mentions and cashtags are plain text
    ("#writing @someone $TWTR", 23),
]


@pytest.mark.parametrize(("text", "expected"), CONFORMANCE)
def test_conformance_examples(text: str, expected: int) -> None:
    assert twitter_weighted_length(text) == expected


def test_280_latin_fit_and_140_cjk_fit() -> None:
    assert twitter_weighted_length("a" * 280) == 280
    assert twitter_weighted_length("界" * 140) == 280
    assert twitter_weighted_length("界" * 141) == 282
    assert twitter_weighted_length("\U0001f600" * 140) == 280
    assert twitter_weighted_length("a" * 279 + "界") == 281


# --- properties ------------------------------------------------------------------------

# Text that cannot contain a URL or an emoji: letters, digits, spaces and a little
# punctuation, without '.', ':' or '/' (no domain can form) and without symbols (So/Sk
# hold the emoji). Marks are included to exercise NFC.
_PLAIN = st.characters(
    categories=("Lu", "Ll", "Lo", "Nd", "Zs", "Mn", "Pd", "Ps", "Pe", "Pi", "Pf"),
    exclude_characters=".:/\uff0e\u3002\ufe52\uff61",
    max_codepoint=0x2FFFF,
)
PLAIN_TEXT = st.text(_PLAIN, max_size=60)


@given(PLAIN_TEXT)
def test_plain_text_weighs_per_code_point_after_nfc(text: str) -> None:
    assert twitter_weighted_length(text) == oracle_weight(text)


@given(PLAIN_TEXT)
def test_nfc_and_nfd_spellings_weigh_the_same(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert twitter_weighted_length(nfd) == twitter_weighted_length(text)


@given(PLAIN_TEXT, PLAIN_TEXT)
def test_plain_text_lengths_add_up_under_concatenation(left: str, right: str) -> None:
    # Concatenation is additive unless the join itself composes under NFC
    # (a base letter followed by a combining mark).
    nfc = unicodedata.normalize
    assume(nfc("NFC", left + right) == nfc("NFC", left) + nfc("NFC", right))
    assert twitter_weighted_length(left + right) == twitter_weighted_length(
        left
    ) + twitter_weighted_length(right)


@given(st.text(st.characters(codec="ascii", categories=("Lu", "Ll", "Nd")), max_size=300))
def test_ascii_letters_and_digits_weigh_one_each(text: str) -> None:
    assert twitter_weighted_length(text) == len(text)


@given(st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=200))
def test_cjk_ideographs_weigh_two_each(text: str) -> None:
    assert twitter_weighted_length(text) == 2 * len(text)


_PATH = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_"), max_size=400)


@given(_PATH, st.sampled_from(["https://", "http://"]))
def test_a_url_weighs_23_whatever_its_length(path: str, scheme: str) -> None:
    assert twitter_weighted_length(f"{scheme}example.com/{path}") == URL_WEIGHT
    assert twitter_weighted_length(f"see {scheme}example.com/{path} now") == 4 + URL_WEIGHT + 4


@given(st.lists(_PATH, min_size=1, max_size=6))
def test_every_url_weighs_23(paths: list[str]) -> None:
    text = " ".join(f"https://example.org/{p}" for p in paths)
    assert twitter_weighted_length(text) == URL_WEIGHT * len(paths) + (len(paths) - 1)


EMOJI = st.sampled_from(
    [
        "\U0001f600",
        "\U0001f680",
        "\u2764\ufe0f",
        "\U0001f44b\U0001f3ff",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\U0001f9d1\U0001f3fb\u200d\U0001f4bb",
        "\U0001f1e9\U0001f1ea",
        "\U0001f1ef\U0001f1f5",
        "3\ufe0f\u20e3",
        "*\ufe0f\u20e3",
        "\U0001f3f4\u200d\u2620\ufe0f",
        "\U0001f9d1\U0001f3fb\u200d\U0001f4bb",
        "\u2764\ufe0f\u200d\U0001f525",
        "\U0001f3f3\ufe0f\u200d\u26a7\ufe0f",
        "\U0001faf6\U0001f3fd",
    ]
)


@given(st.lists(EMOJI, max_size=40), st.booleans())
def test_every_emoji_sequence_weighs_two(emoji: list[str], spaced: bool) -> None:
    text = (" " if spaced else "").join(emoji)
    spaces = max(len(emoji) - 1, 0) if spaced else 0
    assert twitter_weighted_length(text) == 2 * len(emoji) + spaces


@given(st.lists(st.tuples(PLAIN_TEXT, EMOJI), max_size=8))
def test_text_and_emoji_mixed_add_up(parts: list[tuple[str, str]]) -> None:
    text = "".join(f"{plain} {emoji} " for plain, emoji in parts)
    expected = sum(oracle_weight(plain) + 1 + 2 + 1 for plain, _ in parts)
    assert twitter_weighted_length(text) == expected
