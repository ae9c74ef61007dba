"""Input rules: decoding, normalisation, size limits and the request cache key."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable

from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.errors import EmptyInput, InputNotText, InputTooLarge, InvalidInput

MAX_INPUT_CHARS = 200_000  # a 30,000-word article; past that, split it
# The most bytes MAX_INPUT_CHARS can take in UTF-8: a reader stops one byte past it.
MAX_INPUT_BYTES = MAX_INPUT_CHARS * 4
MIN_INPUT_WORDS = 3

_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_WORD = re.compile(r"\w+", re.UNICODE)
# Control characters (Unicode category Cc) other than tab, LF and CR: binary, not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def decode_input(data: bytes, source: str = "the input") -> str:
    """Bytes from a file or request body to text; anything but UTF-8 text is refused."""
    if b"\x00" in data:
        raise InputNotText(source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputNotText(source) from None
    return text


def normalize_input(text: str) -> str:
    """The canonical form used for hashing and for engines: NFC, LF line ends, no
    trailing spaces, at most one blank line in a row, trimmed."""
    # BOMs go before NFC: one between a letter and its accent would block composition.
    text = text.replace("\ufeff", "")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_SPACE.sub("", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()


def check_input(text: str, *, max_chars: int = MAX_INPUT_CHARS) -> str:
    """Normalise and validate; returns the normalised text or raises a clear error."""
    if _CONTROL.search(text):  # anywhere: a NUL cannot even be stored
        raise InputNotText()
    normalized = normalize_input(text)
    if not normalized:
        raise EmptyInput()
    if len(normalized) > max_chars:
        raise InputTooLarge(len(normalized), max_chars)
    if len(_WORD.findall(normalized)) < MIN_INPUT_WORDS:
        raise InvalidInput(
            f"The input is too short to repurpose (fewer than {MIN_INPUT_WORDS} words)."
        )
    return normalized


def content_hash(normalized: str) -> str:
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def parse_platforms(values: Iterable[str | Platform] | None) -> tuple[Platform, ...]:
    """Distinct platforms in the canonical order; none given means all six."""
    if values is None:
        return tuple(Platform)
    chosen = {Platform.parse(v) for v in values}
    if not chosen:
        return tuple(Platform)
    return tuple(p for p in Platform if p in chosen)


def request_key(
    input_hash: str, platforms: Iterable[Platform], tone: Tone, engine: str, model: str
) -> str:
    """Same user + same normalised input + same platforms, tone and model = same request."""
    material = json.dumps(
        {
            "input": input_hash,
            "platforms": sorted({Platform(p).value for p in platforms}),
            "tone": Tone(tone).value,
            "engine": engine,
            "model": model,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
