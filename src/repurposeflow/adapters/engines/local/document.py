"""What the local engine learns from a source, once: its language, title, headings,
sentences, keywords and the sentences ranked. The engine keeps a small cache of these
per instance, because the pipeline renders six platforms from the same text."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping

import attrs

from repurposeflow.adapters.engines.local.keywords import extract_keywords
from repurposeflow.adapters.engines.local.language import CJK_LANGS, detect_language
from repurposeflow.adapters.engines.local.markup import Block, read_markup
from repurposeflow.adapters.engines.local.ranking import BYLINE_NAME, is_pointer, rank, usable
from repurposeflow.adapters.engines.local.sentences import (
    Sentence,
    split_sentences,
)
from repurposeflow.adapters.engines.local.words import SECTION_WORDS
from repurposeflow.domain.measure import CJK, URL, word_count

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
    # Who is named as a person: speaker labels, bylines; never a hashtag.
    names: frozenset[str] = frozenset()
    # A how-to's steps ("Step 2: describe your hooks"), each with its command if the
    # step shows one: "Install the tool: `pip install pre-commit`".
    steps: tuple[str, ...] = ()
    # Links written in the prose, in reading order: what a post about a tool points to.
    links: tuple[str, ...] = ()
    # The usable sentences, lowercased and joined, without inline code, and their words
    # counted: how often the text says something, asked once per keyword per render.
    text: str = ""
    word_counts: Mapping[str, int] = attrs.field(factory=dict, eq=False)

    def occurrences(self, phrase: str) -> int:
        """How often the text says ``phrase`` (lowercase), as whole words."""
        if " " not in phrase and not self.cjk:
            return self.word_counts.get(phrase, 0)
        return self.text.count(phrase)

    @property
    def cjk(self) -> bool:
        return self.language in CJK_LANGS


def _promote_title(blocks: list[Block]) -> list[Block]:
    """Plain text often opens with a title line: short, no closing punctuation."""
    if len(blocks) < 2 or any(b.kind == "heading" for b in blocks):
        return blocks
    first = blocks[0]
    short = word_count(first.text) <= (40 if CJK.search(first.text) else 15)
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
    # "Introduction", "Abstract", "Code status:": the name of a section, not of the piece.
    if all(w in SECTION_WORDS for w in re.findall(r"[^\W\d_]+", best.text.lower())):
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


# An unpunctuated question, as transcription tools write them: "and what changed".
_ASKS = re.compile(
    r"(?i)^(?:(?:and|so|okay|ok|but)\s+)*(?:what|why|how|when|where|who|which|do you|did you|"
    r"are you|is it|would you|could you|can you|have you|tell me)\b"
)


_WORDS = re.compile(r"[\w'’-]+")
# Inline code (`print`, ``True``): what a text shows, not what it talks about.
_CODE_SPAN = re.compile(r"`+[^`]*`+")
_OPEN_END = re.compile(r"[^.!?…。！？:：\"'”’)\]]$")


def _closed(s: Sentence, cjk: bool) -> Sentence:
    """A list item or a line written without a full stop, given one: used on its own in
    a post, it should read as the sentence it is (ranking has already judged it)."""
    if not _OPEN_END.search(s.text) or URL.search(s.text.split()[-1]):
        return s
    return attrs.evolve(s, text=s.text + ("。" if cjk else "."))


_STEP = re.compile(r"(?i)^(?:step\s*(\d+)|(\d+)[.)])\s*[:.)—–-]?\s*(\S.*)$")


def _steps(blocks: list[Block]) -> tuple[str, ...]:
    """Headings numbered as steps, in order, each with the first command of its section."""
    steps: list[str] = []
    current: str | None = None
    command: str | None = None
    numbers: list[int] = []

    def close() -> None:
        if current is not None:
            steps.append(f"{current}: `{command}`" if command else current)

    for block in blocks:
        if block.kind == "heading":
            close()
            current, command = None, None
            match = _STEP.match(block.text)
            if match:
                numbers.append(int(match.group(1) or match.group(2)))
                label = match.group(3).rstrip(".:")
                current = label[:1].upper() + label[1:]
        elif current is not None and command is None:
            if block.kind == "command":
                command = block.text
            else:
                inline = re.search(r"`([^`]{3,60})`", block.text)
                command = inline.group(1) if inline and " " in inline.group(1) else None
    close()
    # Numbered 1, 2, 3…: a how-to, not a list of numbered essays.
    return tuple(steps) if len(steps) >= 2 and numbers == list(range(1, len(numbers) + 1)) else ()


# A newsletter's links roundup or notices, a project page's support, licence and
# contribution sections: housekeeping, not the piece's argument.
_HOUSEKEEPING = re.compile(
    r"(?i)^(?:worth (?:your time|reading)|links?|reading list|what i'?m reading|elsewhere|"
    r"housekeeping|announcements?|in other news|quick links|odds and ends|also this week|"
    r"further reading|related|resources|sponsors?|sponsorship|p\.?s\.?|support(?:ing)?|"
    r"funding|donat(?:e|ions?)|backers|licen[cs]e|contribut(?:e|ing|ors)|"
    r"acknowledge?ments|credits|change ?log|release notes|code of conduct|security)\b"
)


def _housekeeping_sections(blocks: list[Block]) -> frozenset[int]:
    sections: set[int] = set()
    section = 0
    for block in blocks:
        if block.kind == "heading":
            section += 1
            if _HOUSEKEEPING.match(block.text):
                sections.add(section)
    return frozenset(sections)


# "pluggy - A minimalist plugin system", "Grimp: imports as a graph": a project page's
# title names its subject before the dash or colon.
_TITLE_SUBJECT = re.compile(r"^([^\s:–—][^:–—]{0,40}?)\s*(?:\s-|–|—|:)\s+\S")
_POINTS_AT_TITLE = re.compile(r"^(?:This|It)(?= is | was | has | provides | lets )")


def _name_the_subject(blocks: list[Block], sentences: list[Sentence]) -> list[Sentence]:
    """A page's first sentence under its title that says "This is the core framework…"
    points at the title, not at a sentence before it: it gets the title's subject
    ("pluggy is the core framework…"), words the source wrote, instead of being left
    out as a sentence that leans on what came before."""
    title = next((i for i, b in enumerate(blocks) if b.kind == "heading"), None)
    if title is None or title + 1 >= len(blocks) or blocks[title + 1].kind != "paragraph":
        return sentences
    match = _TITLE_SUBJECT.match(blocks[title].text)
    if match is None or len(match.group(1).split()) > 4:
        return sentences
    return [
        attrs.evolve(s, text=_POINTS_AT_TITLE.sub(match.group(1), s.text, count=1))
        if s.block == title + 1 and s.first_in_block
        else s
        for s in sentences
    ]


def _interviewer(sentences: list[Sentence]) -> str | None:
    """In a transcript with two or more speakers, the one who mostly asks: their
    questions frame the talk, the answers carry it."""
    asked: Counter[str] = Counter()
    said: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for s in sentences:
        if s.speaker is not None:
            said[s.speaker] += 1
            words[s.speaker] += s.words
            asked[s.speaker] += bool(s.text.rstrip().endswith(("?", "？")) or _ASKS.match(s.text))
    if len(said) < 2:
        return None
    ratio = {who: asked[who] / said[who] for who in said}
    host = max(ratio, key=lambda who: (ratio[who], -said[who]))
    if ratio[host] >= 0.2:
        return host
    # No questions to go by: the one who says least, when they say much less.
    quiet = min(words, key=lambda who: words[who])
    return quiet if words[quiet] < 0.35 * sum(words.values()) else None


# "Jatowt A.", "Campos, R.", "Jorge A.M." before a comma, "and", "&" or a year.
_CITED = re.compile(
    r"(?<![\w.])([A-ZÀ-Þ][a-zß-ÿ'’-]+),? (?:[A-Z]\.[ -]?){1,3}(?=[,;&]|\s(?:and|&|\()|\s*$)"
)
_ET_AL = re.compile(r"([A-ZÀ-Þ][a-zß-ÿ'’-]+)(?:,? et al\b)")


def _names(blocks: list[Block], sentences: list[Sentence], keywords: list[str]) -> frozenset[str]:
    names = {s.speaker.lower() for s in sentences if s.speaker}
    for block in blocks:
        match = BYLINE_NAME.search(block.text)
        if match:
            names.add(match.group(1).lower())
    for block in blocks:
        # A reference list ("Campos R., Jatowt A. (2018)", "Smith et al."): authors.
        cited = _CITED.findall(block.text)
        if len(cited) >= 2 or "et al" in block.text:
            names.update(c.lower() for c in cited)
            names.update(n.lower() for n in _ET_AL.findall(block.text))
    parts = {part for name in names for part in name.split()}
    # "Maya" is a speaker, so "Maya Chen" is a person, and so is "Chen".
    for keyword in keywords:
        tokens = keyword.lower().split()
        if len(tokens) > 1 and keyword.istitle() and parts.intersection(tokens):
            parts.update(tokens)
    return frozenset(names | parts)


def read_document(source: str) -> Document:
    markup = read_markup(source)
    blocks = markup.blocks
    if not blocks:  # markup with no prose at all: read it as plain text
        blocks = [Block("paragraph", " ".join(source.split()))]
    blocks = _promote_title(blocks)
    language = detect_language("\n\n".join(b.text for b in blocks))
    cjk = language in CJK_LANGS
    all_sentences = _name_the_subject(blocks, split_sentences(blocks, language))
    host = _interviewer(all_sentences)
    aside = _housekeeping_sections(blocks)
    content = [s for s in all_sentences if usable(s, cjk) and (host is None or s.speaker != host)]
    # Housekeeping sections give way first; a page that is nothing but them still says
    # what it says, and only a text with no usable sentence at all falls back to every one.
    sentences = [s for s in content if s.section not in aside] or content or all_sentences
    headings = [b.text for b in blocks if b.kind == "heading"]
    title = markup.title or _title(blocks)
    if title and title not in headings:
        headings.insert(0, title)
    # Keywords from what is said, not from labels, timestamps and bylines.
    prose = "\n\n".join(s.text for s in sentences)
    said = _CODE_SPAN.sub(" ", prose.lower())
    keywords = extract_keywords("\n\n".join([*headings, prose[:_YAKE_CHARS]]), language)
    spoken = any(s.speaker for s in sentences)
    ranked = [
        _closed(s, cjk)
        for s in rank(sentences, keywords, cjk, title, language, _section_ends(blocks), spoken)
    ]
    by_index = {s.index: s for s in ranked}
    return Document(
        language=language,
        title=title,
        headings=tuple(headings),
        sentences=tuple(by_index.get(s.index) or _closed(s, cjk) for s in sentences),
        ranked=tuple(ranked),
        keywords=tuple(keywords),
        names=_names(blocks, all_sentences, keywords),
        steps=_steps(blocks),
        links=tuple(
            dict.fromkeys(
                u.rstrip(".,;:!?`")
                for s in all_sentences
                # "See https://… for details" is not content, but its link is the one.
                if (usable(s, cjk) or is_pointer(s.text)) and (host is None or s.speaker != host)
                for u in URL.findall(s.text)
            )
        ),
        text=said,
        word_counts=Counter(_WORDS.findall(said)),
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
