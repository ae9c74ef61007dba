"""What the local engine learns from a source, once: its language, title, headings,
sentences, keywords and the sentences ranked. The engine keeps a small cache of these
per instance, because the pipeline renders six platforms from the same text."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict

import attrs

from repurposeflow.adapters.engines.local.keywords import extract_keywords
from repurposeflow.adapters.engines.local.language import CJK_LANGS, detect_language
from repurposeflow.adapters.engines.local.markup import Block, extract_blocks
from repurposeflow.adapters.engines.local.ranking import rank, usable
from repurposeflow.adapters.engines.local.sentences import (
    CJK_CHAR,
    Sentence,
    split_sentences,
    word_count,
)

# yake is linear but slow (a quarter second per 10,000 characters); the headings and the
# opening of a text name its subject well enough.
_YAKE_CHARS = 6_000


@attrs.frozen
class Document:
    language: str
    title: str | None
    headings: tuple[str, ...]
    sentences: tuple[Sentence, ...]  # every usable sentence, in reading order
    ranked: tuple[Sentence, ...]  # the same, best first, near-duplicates removed
    keywords: tuple[str, ...]

    @property
    def cjk(self) -> bool:
        return self.language in CJK_LANGS


def _promote_title(blocks: list[Block]) -> list[Block]:
    """Plain text often opens with a title line: short, no closing punctuation."""
    if len(blocks) < 2 or any(b.kind == "heading" for b in blocks):
        return blocks
    first = blocks[0]
    short = word_count(first.text) <= (40 if CJK_CHAR.search(first.text) else 15)
    if first.kind == "paragraph" and short and not re.search(r"[.!?。！？:：,，]$", first.text):
        return [Block("heading", first.text, 1), *blocks[1:]]
    return blocks


def _title(blocks: list[Block]) -> str | None:
    headings = [b for b in blocks if b.kind == "heading"]
    if not headings:
        return None
    best = min(headings, key=lambda b: b.level)
    if best.level > 2 or blocks.index(best) > 3:
        return None
    return best.text


def _section_ends(blocks: list[Block]) -> frozenset[int]:
    """Indexes of the paragraphs that close a section (before a heading or the end)."""
    ends = set()
    for i, block in enumerate(blocks):
        following = blocks[i + 1].kind if i + 1 < len(blocks) else "heading"
        if block.kind == "paragraph" and following == "heading":
            ends.add(i)
    return frozenset(ends)


def read_document(source: str) -> Document:
    blocks = extract_blocks(source)
    if not blocks:  # markup with no prose at all: read it as plain text
        blocks = [Block("paragraph", " ".join(source.split()))]
    blocks = _promote_title(blocks)
    prose = "\n\n".join(b.text for b in blocks)
    language = detect_language(prose)
    cjk = language in CJK_LANGS
    all_sentences = split_sentences(blocks, language)
    sentences = [s for s in all_sentences if usable(s, cjk)] or all_sentences
    headings = "\n\n".join(b.text for b in blocks if b.kind == "heading")
    keywords = extract_keywords(f"{headings}\n\n{prose[:_YAKE_CHARS]}", language)
    title = _title(blocks)
    ranked = rank(sentences, keywords, cjk, title, language, _section_ends(blocks))
    by_index = {s.index: s for s in ranked}
    return Document(
        language=language,
        title=title,
        headings=tuple(b.text for b in blocks if b.kind == "heading"),
        sentences=tuple(by_index.get(s.index, s) for s in sentences),
        ranked=tuple(ranked),
        keywords=tuple(keywords),
    )


class DocumentCache:
    """Bounded LRU of analysed sources. One lock: concurrent renders of a new source
    wait for the first one's analysis instead of all repeating it."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._items: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: str) -> Document:
        key = hashlib.sha256(source.encode("utf-8")).hexdigest()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            document = read_document(source)
            self._items[key] = document
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return document
