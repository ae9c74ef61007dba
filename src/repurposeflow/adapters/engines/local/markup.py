"""Input cleaning for the local engine: Markdown, HTML or plain text in, prose blocks out.

Every word that leaves this module was in the source, so whatever the engine builds from
the blocks stays grounded. Code, images, scripts, styles, front matter and link targets
are dropped; link text and bare URLs written in the prose are kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

import attrs
from markdown_it import MarkdownIt
from markdown_it.token import Token

BlockKind = Literal["heading", "paragraph", "item", "quote"]


@attrs.frozen
class Block:
    kind: BlockKind
    text: str
    level: int = 0  # heading level; 0 for everything else


_FRONT_MATTER = re.compile(
    r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.S
)
_HTML_SIGNS = re.compile(
    r"<(?:!doctype|html|head|body|article|section|main|div|p|h[1-6]|ul|ol|li|table|br|span)\b",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def looks_like_html(text: str) -> bool:
    """True when the text is an HTML document or fragment rather than Markdown."""
    head = text[:4000]
    tags = len(_HTML_SIGNS.findall(head))
    return tags >= 2 or head.lstrip().lower().startswith(("<!doctype", "<html"))


def extract_blocks(source: str) -> list[Block]:
    """The prose of ``source`` as headings, paragraphs, list items and quotes."""
    blocks = html_blocks(source) if looks_like_html(source) else markdown_blocks(source)
    return [b for b in blocks if b.text]


# --- Markdown (and plain text, which is Markdown without markup) -------------------------


def _markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("table")
    # Plain text and transcripts often indent paragraphs; an indented block is prose to
    # us, not code (fenced blocks still are code and get dropped).
    md.disable("code")
    return md


_MD = _markdown_parser()


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "html_inline":
            # An inline <br> separates words; other inline tags just vanish.
            parts.append(" " if child.content.lower().startswith("<br") else "")
        # images, link_open/close, emphasis markers: no text of their own
    return _tidy("".join(parts))


def markdown_blocks(source: str) -> list[Block]:
    source = _FRONT_MATTER.sub("", source, count=1)
    tokens = _MD.parse(source)
    blocks: list[Block] = []
    list_depth = 0
    quote_depth = 0
    heading_level = 0
    table_depth = 0
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind == "heading_close":
            heading_level = 0
        elif kind in ("table_open", "table_close"):
            # Tables are data, not prose: their cells read as fragments.
            table_depth += 1 if kind == "table_open" else -1
        elif kind == "html_block":
            blocks.extend(html_blocks(token.content))
        elif kind == "inline" and not table_depth:
            text = _inline_text(token)
            if heading_level:
                blocks.append(Block("heading", text, heading_level))
            elif list_depth:
                blocks.append(Block("item", text))
            elif quote_depth:
                blocks.append(Block("quote", text))
            else:
                blocks.append(Block("paragraph", text))
        # fence / code_block / hr / image-only paragraphs contribute nothing
    return blocks


# --- HTML ---------------------------------------------------------------------------------

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "pre", "code", "svg", "head", "title",
     "iframe", "object", "nav", "footer", "form", "button", "select", "textarea", "figure"}
)  # fmt: skip
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
_BLOCK_KIND: dict[str, BlockKind] = {
    "p": "paragraph",
    "div": "paragraph",
    "section": "paragraph",
    "article": "paragraph",
    "main": "paragraph",
    "td": "paragraph",
    "th": "paragraph",
    "dd": "paragraph",
    "dt": "paragraph",
    "figcaption": "paragraph",
    "li": "item",
    "blockquote": "quote",
    **{f"h{n}": "heading" for n in range(1, 7)},
}


class _HTMLText(HTMLParser):
    """Collects visible prose; every block-level tag closes the current block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._buffer: list[str] = []
        self._kinds: list[tuple[BlockKind, int]] = []
        self._skip = 0

    def _flush(self) -> None:
        text = _tidy("".join(self._buffer))
        self._buffer.clear()
        if not text:
            return
        kind, level = self._kinds[-1] if self._kinds else ("paragraph", 0)
        self.blocks.append(Block(kind, text, level))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag == "br":
                self._buffer.append(" ")
            return
        if tag in _SKIP_TAGS:
            self._skip += 1
            return
        if tag in _BLOCK_KIND and not self._skip:
            self._flush()
            kind = _BLOCK_KIND[tag]
            self._kinds.append((kind, int(tag[1]) if kind == "heading" else 0))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag in _BLOCK_KIND and not self._skip:
            self._flush()
            if self._kinds:
                self._kinds.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._buffer.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(source: str) -> list[Block]:
    parser = _HTMLText()
    parser.feed(source)
    parser.close()
    return parser.blocks
