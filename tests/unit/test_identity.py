"""Identifier rules (domain.identity): lengths and forms checked before any store."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.identity import (
    MAX_IDENTIFIER_CHARS,
    check_clerk_user_id,
    check_email,
    check_full_name,
)

printable = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1)


@given(printable.filter(lambda s: len(s) <= MAX_IDENTIFIER_CHARS))
def test_a_user_id_within_the_limit_is_kept(value: str) -> None:
    assert check_clerk_user_id(value) == value


@given(st.integers(MAX_IDENTIFIER_CHARS + 1, 20_000))
def test_a_user_id_over_the_limit_is_refused_with_its_length(n: int) -> None:
    with pytest.raises(InvalidInput, match=f"{n:,} characters; the limit is 255"):
        check_clerk_user_id("u" * n)


@given(st.integers(MAX_IDENTIFIER_CHARS + 1, 2_000))
def test_an_email_over_the_limit_is_refused(n: int) -> None:
    with pytest.raises(InvalidInput, match="the limit is 255"):
        check_email("a" * (n - len("@example.com")) + "@example.com")


def test_the_message_never_echoes_a_huge_value() -> None:
    with pytest.raises(InvalidInput) as info:
        check_clerk_user_id("x" * 10_000)
    assert len(info.value.message) < 200


@pytest.mark.parametrize("bad", ["", "   ", "no-at-sign", "@example.com", "me@", "a b@c.d"])
def test_malformed_emails_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_email(bad)


@pytest.mark.parametrize("bad", ["", "  ", "tab\there", "nul\x00", 7, ["a", "b"]])
def test_bad_user_ids_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput):
        check_clerk_user_id(bad)  # type: ignore[arg-type]


def test_names_are_optional_but_bounded() -> None:
    assert check_full_name(None) is None
    assert check_full_name("  ") is None
    assert check_full_name(" Ada ") == "Ada"
    with pytest.raises(InvalidInput):
        check_full_name("n" * 256)
