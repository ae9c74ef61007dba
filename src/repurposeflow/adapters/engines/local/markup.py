"""Input cleaning for the local engine: Markdown, MDX, HTML or plain text in, prose
blocks and a title out.

Every word that leaves this module was in the source, so whatever the engine builds from
the blocks stays grounded. Code blocks, images, scripts, styles, link targets, template
tags (``{{ … }}``, ``{% … %}``, ``{{< … >}}``) and MDX components and imports are dropped;
front matter gives its ``title`` and nothing else; a whole HTML page gives its
``<article>`` (or ``<main>``) and its ``og:title`` or ``<h1>``, never its navigation,
header, footer or the site name in ``<title>``. Inline code keeps its backticks, so a
how-to's commands still read as commands; link text and bare URLs in prose are kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

import attrs
from markdown_it import MarkdownIt
from markdown_it.token import Token

from repurposeflow.adapters.engines.local.rst import looks_like_rst, rst_to_markdown

# "command": a one-line shell command from a fenced block, kept for a how-to's steps and
# never read as prose.
BlockKind = Literal["heading", "paragraph", "item", "quote", "command"]
_SHELL = frozenset({"", "bash", "sh", "shell", "console", "zsh", "powershell", "cmd"})


@attrs.frozen
class Block:
    kind: BlockKind
    text: str
    level: int = 0  # heading level; 0 for everything else


@attrs.frozen
class Markup:
    blocks: list[Block]
    title: str | None = None  # from front matter or a page's metadata, when it has one


_FRONT_MATTER = re.compile(
    r"\A(?:---|\+\+\+)[ \t]*\n(.*?)\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.S
)
# A block of mail or package-metadata headers opening the text (a newsletter saved with
# its From:/Subject:, a package's METADATA): "Name: value" lines, folded lines indented,
# ended by a blank line. Only taken as headers when one of them is a header such texts
# really carry, so a first paragraph of "Note: …" lines stays prose.
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]+(\S.*)$")
_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "reply-to", "message-id", "mime-version",
        "content-type", "content-transfer-encoding", "list-unsubscribe", "title",
        "metadata-version", "name", "version", "summary", "author", "author-email",
        "license", "home-page", "project-url", "requires-dist", "requires-python",
        "classifier", "keywords", "platform", "provides-extra", "description-content-type",
    }
)  # fmt: skip
# YAML ``title: …`` or TOML ``title = …``, quoted or not.
_FRONT_TITLE = re.compile(r"^title[ \t]*[:=][ \t]*(.+?)[ \t]*$", re.M)
# Hugo shortcodes, Jinja/Liquid/Nunjucks tags, expressions and comments. Liquid's code
# blocks go whole, with what they hold.
_TEMPLATE_CODE = re.compile(r"\{%-?\s*(highlight|raw)\b.*?\{%-?\s*end\1\s*-?%\}", re.S)
_TEMPLATE_TAG = re.compile(r"\{\{<.*?>\}\}|\{\{%.*?%\}\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# MDX: import/export lines, JSX comments, and components (capitalised tags) with whatever
# they wrap: interactive parts, not prose.
_MDX_MODULE = re.compile(
    r"^(?:import\s[^\n]*?\bfrom\s*['\"][^\n]*|import\s+['\"][^\n]*|"
    r"export\s+(?:const|let|default|function)\b[^\n]*)(?:\n|\Z)",
    re.M,
)
_MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.S)
_MDX_PAIRED = re.compile(r"<([A-Z][\w.]*)\b[^<>]*(?<!/)>.*?</\1\s*>", re.S)
_MDX_SINGLE = re.compile(r"<[A-Z][\w.]*\b[^<>]*/>")
_HTML_SIGNS = re.compile(
    r"<(?:!doctype|html|head|body|article|section|main|div|p|h[1-6]|ul|ol|li|table|br|span)\b",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def looks_like_html(text: str) -> bool:
    """True when the text is an HTML document or fragment rather than Markdown. Markdown
    may hold HTML blocks (a README's centred logo and badges): a text with tags that also
    has Markdown's own structure outside them is Markdown."""
    head = text[:4000]
    if head.lstrip().lower().startswith(("<!doctype", "<html")):
        return True
    return len(_HTML_SIGNS.findall(head)) >= 2 and not _has_markdown_structure(text)


# Tokens only Markdown syntax makes: ``#`` headings, fenced code, lists, quotes, rules
# (block level); bold, italics, links and inline code (inline).
_MD_BLOCK_SIGNS = frozenset(
    {"fence", "bullet_list_open", "ordered_list_open", "blockquote_open", "hr"}
)
_MD_INLINE_SIGNS = frozenset({"strong_open", "em_open", "link_open", "code_inline"})


def _has_markdown_structure(text: str) -> bool:
    inline = 0
    for token in _MD.parse(text):
        if token.type in _MD_BLOCK_SIGNS or (
            token.type == "heading_open" and token.markup.startswith("#")
        ):
            return True
        if token.type == "inline":
            inline += sum(
                1
                for child in token.children or ()
                if child.type in _MD_INLINE_SIGNS and child.markup != "autolink"
            )
            if inline >= 2:
                return True
    return False


def read_markup(source: str) -> Markup:
    """The prose of ``source`` as headings, paragraphs, list items and quotes, and the
    title its metadata gives, if any."""
    source = _strip_templates(source)
    if looks_like_html(source):
        markup = read_html(source)
    else:
        body, title = _front_matter(source)
        if looks_like_rst(body):
            body = rst_to_markdown(body)
        markup = Markup(markdown_blocks(_strip_mdx(body)), title)
    return Markup([b for b in markup.blocks if b.text], markup.title)


def extract_blocks(source: str) -> list[Block]:
    return read_markup(source).blocks


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return _tidy(value)


def _header_block(source: str) -> tuple[str, str | None] | None:
    """Leading mail or metadata headers: dropped, their Subject/Title/Summary the title."""
    lines = source.split("\n")
    headers: dict[str, str] = {}
    end = 0
    for i, line in enumerate(lines):
        if not line.strip():
            end = i
            break
        match = _HEADER_LINE.match(line)
        if match:
            headers.setdefault(match.group(1).lower(), match.group(2).strip())
        elif not (line[:1] in " \t" and headers):  # a folded header line continues one
            return None
    else:
        return None
    if len(headers) < 2 or not _KNOWN_HEADERS & set(headers):
        return None
    title = headers.get("subject") or headers.get("title") or headers.get("summary")
    return "\n".join(lines[end + 1 :]), (_tidy(title) if title else None)


def _front_matter(source: str) -> tuple[str, str | None]:
    match = _FRONT_MATTER.match(source)
    if match is None:
        return _header_block(source) or (source, None)
    title = _FRONT_TITLE.search(match.group(1))
    return source[match.end() :], (_unquote(title.group(1)) or None) if title else None


def _strip_templates(source: str) -> str:
    return _TEMPLATE_TAG.sub("", _TEMPLATE_CODE.sub("", source))


def _strip_mdx(source: str) -> str:
    if "<" not in source and "import" not in source and "export" not in source:
        return source
    source = _MDX_COMMENT.sub("", _MDX_MODULE.sub("", source))
    return _MDX_SINGLE.sub("", _MDX_PAIRED.sub("", source))


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
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "html_inline":
            # An inline <br> separates words; other inline tags just vanish.
            parts.append(" " if child.content.lower().startswith("<br") else "")
        # images, link_open/close, emphasis markers: no text of their own
    return _tidy("".join(parts))


def markdown_blocks(source: str) -> list[Block]:
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
        elif kind == "fence" and token.info.strip().lower() in _SHELL:
            lines = [ln.strip().lstrip("$> ").strip() for ln in token.content.splitlines()]
            lines = [ln for ln in lines if ln]
            if len(lines) == 1 and len(lines[0]) <= 80 and "`" not in lines[0]:
                blocks.append(Block("command", lines[0]))
        # other code / hr / image-only paragraphs contribute nothing
    return blocks


# --- HTML ---------------------------------------------------------------------------------

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "pre", "code", "svg", "head", "title",
     "iframe", "object", "nav", "footer", "form", "button", "select", "textarea", "figure",
     "aside", "dialog"}
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
    "header": "paragraph",
    "td": "paragraph",
    "th": "paragraph",
    "dd": "paragraph",
    "dt": "paragraph",
    "figcaption": "paragraph",
    "li": "item",
    "blockquote": "quote",
    **{f"h{n}": "heading" for n in range(1, 7)},
}
# Where a page keeps its piece, best first.
_CONTAINERS = ("article", "main")
# "Post title | Site name", "Post title — Blog": the site's name is not the title.
_SITE_SUFFIX = re.compile(r"\s+[|·•»—–-]\s+")


class _HTMLText(HTMLParser):
    """Collects visible prose; every block-level tag closes the current block. Each
    block remembers whether it stood inside an ``<article>``, a ``<main>`` or a
    page-level ``<header>`` (a site's banner, unless inside the article)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[Block, frozenset[str]]] = []
        self.meta_title: str | None = None
        self.page_title: list[str] = []
        self._buffer: list[str] = []
        self._kinds: list[tuple[BlockKind, int]] = []
        self._skip = 0
        self._inside: list[str] = []  # open containers: article, main, header
        self._in_title = False

    def _where(self) -> frozenset[str]:
        return frozenset(self._inside)

    def _flush(self) -> None:
        text = _tidy("".join(self._buffer))
        self._buffer.clear()
        if not text:
            return
        kind, level = self._kinds[-1] if self._kinds else ("paragraph", 0)
        self.blocks.append((Block(kind, text, level), self._where()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            found = dict(attrs)
            name = (found.get("property") or found.get("name") or "").lower()
            if name in ("og:title", "twitter:title") and found.get("content"):
                self.meta_title = self.meta_title or _tidy(found["content"] or "")
            return
        if tag == "title":
            self._in_title = True
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
            if tag in (*_CONTAINERS, "header"):
                self._inside.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag in _BLOCK_KIND and not self._skip:
            self._flush()
            if self._kinds:
                self._kinds.pop()
            if tag in self._inside:
                del self._inside[len(self._inside) - 1 - self._inside[::-1].index(tag)]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("meta", "br"):
            self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page_title.append(data)
        elif not self._skip:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(source: str) -> Markup:
    parser = _HTMLText()
    parser.feed(source)
    parser.close()
    blocks = parser.blocks
    for container in _CONTAINERS:
        inside = [b for b, where in blocks if container in where]
        if sum(len(b.text) for b in inside) >= 200:
            chosen = inside
            break
    else:
        # No article: everything but a page-level header (the site's banner).
        chosen = [b for b, where in blocks if "header" not in where or where & {*_CONTAINERS}]
    h1 = next((b.text for b in chosen if b.kind == "heading" and b.level == 1), None)
    title = parser.meta_title or h1 or _page_title("".join(parser.page_title))
    return Markup(chosen, title)


def _page_title(text: str) -> str | None:
    parts = [p for p in _SITE_SUFFIX.split(_tidy(text)) if p]
    return max(parts, key=len) if parts else None


def html_blocks(source: str) -> list[Block]:
    return read_html(source).blocks
