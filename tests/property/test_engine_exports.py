"""What validation exports for engines agrees with the rules the validator applies:
an engine that steers by these never argues with the validator."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.domain.measure import number_thread, strip_thread_numbering
from repurposeflow.domain.validation import (
    DEFAULT_BANNED_PHRASES,
    INLINE_HASHTAG,
    banned_phrase_pattern,
    banned_phrases_in,
    is_hashtag,
    repeat_key,
    repeated,
)

words = st.text(alphabet="abcdefg hij'’ \n", max_size=60)
phrases = st.lists(st.sampled_from(DEFAULT_BANNED_PHRASES), min_size=1, max_size=4, unique=True)


@given(words, phrases, st.sampled_from(DEFAULT_BANNED_PHRASES), words)
def test_the_banned_pattern_matches_when_the_rule_finds_a_phrase(
    before: str, chosen: list[str], inserted: str, after: str
) -> None:
    text = f"{before} {inserted.upper()} {after}"
    found = banned_phrases_in([text], chosen)
    assert bool(banned_phrase_pattern(tuple(chosen)).search(text)) == bool(found)


def test_an_empty_banned_list_matches_nothing() -> None:
    assert banned_phrase_pattern(()).search("anything at all") is None


@given(st.lists(st.text(alphabet="ab c.!", min_size=1, max_size=12), min_size=1, max_size=5))
def test_numbered_posts_repeat_exactly_when_their_keys_do(posts: list[str]) -> None:
    numbered = number_thread(posts)
    assert [strip_thread_numbering(p) for p in numbered] == posts
    keys = [repeat_key(p) for p in numbered]
    expected = [p for i, p in enumerate(numbered) if keys[i] and keys[i] in keys[:i]]
    assert repeated(numbered) == expected


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_]{0,10}", fullmatch=True))
def test_an_inline_hashtag_is_a_hashtag(word: str) -> None:
    tag = "#" + word
    assert is_hashtag(tag)
    assert INLINE_HASHTAG.findall(f"see {tag} here") == [word]


def test_hashtag_check_refuses_what_platforms_refuse() -> None:
    assert not is_hashtag("#")
    assert not is_hashtag("#two words")
    assert not is_hashtag("word")
    assert not is_hashtag("#_under")
