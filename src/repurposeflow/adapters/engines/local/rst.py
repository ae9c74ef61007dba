"""reStructuredText, as PyPI READMEs and Debian docs are written, rewritten as the
Markdown the reader already understands: its headings (a line under- or overlined with
``===``) become ``#`` headings, its literal blocks (after ``::``) and doctests become
fenced code, and its directives (``.. image::`` badges with their ``:target:`` lines,
``.. _name: url`` targets, comments) are dropped, so none of that syntax reaches a post.
Admonitions (``.. note::``) keep their prose."""

from __future__ import annotations

import re
import textwrap

# Signs that only reStructuredText writes: a directive or comment, a literal-block
# marker at a line's end, a `link <url>`_ or `name`_ reference, a ``literal``, a :role:.
_SIGNS = re.compile(
    r"^\.\.\s+\S|\S::[ \t]*$|^::[ \t]*$|`[^`\n]+`__?(?!\w)|``[^`\n]+``|:[a-z]+(?::[a-z]+)?:`",
    re.M,
)
_MARKDOWN = re.compile(r"^(?:```|#{1,6}\s)", re.M)
_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:._])\1{2,}[ \t]*$")
_DIRECTIVE = re.compile(r"^\.\.\s+(?:\|[^|]+\|\s+)?([\w:-]+)::\s*(.*)$")
_TARGET = re.compile(r"^\.\.\s+_([^:]+):")
_ADMONITIONS = frozenset(
    ["note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
     "error", "seealso", "admonition"]
)  # fmt: skip
_OPTION = re.compile(r"^\s*:[\w-]+:")
_GRID = re.compile(r"^\s*\+[-=+]+\+\s*$|^\s*\|.*\|\s*$")
_LINK = re.compile(r"`([^`<]*?)\s*<([^>`]+)>`__?")
_TEXT_ROLE = re.compile(
    r":(?:ref|doc|term|pep|rfc|abbr|download|any|std:\w+):`([^`<]+?)(?:\s*<[^>]+>)?`"
)
_CODE_ROLE = re.compile(r":[\w]+(?::[\w]+)?:`([^`]+)`")
_REFERENCE = re.compile(r"`([^`]+)`__?(?!\w)")
_LITERAL = re.compile(r"``([^`]+)``")
_SUBSTITUTION = re.compile(r"\|[\w][\w .:/-]*\|_{0,2}")


def looks_like_rst(text: str) -> bool:
    """Written in reStructuredText: at least two signs only it uses, and no Markdown
    fence or ``#`` heading."""
    head = text[:20_000]
    return len(_SIGNS.findall(head)) >= 2 and _MARKDOWN.search(head) is None


def rst_to_markdown(text: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    styles: list[str] = []  # adornment styles in order of first use: the heading levels
    targets: set[str] = set()

    def heading(title: str, style: str) -> None:
        if style not in styles:
            styles.append(style)
        out.extend(["", "#" * min(6, styles.index(style) + 1) + " " + _inline(title, targets), ""])

    def indented_block(start: int) -> tuple[list[str], int]:
        """The indented lines from ``start`` (blank lines inside included)."""
        block: list[str] = []
        j = start
        while j < len(lines) and (not lines[j].strip() or lines[j][:1].isspace()):
            block.append(lines[j])
            j += 1
        return block, j

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith(".."):
            target = _TARGET.match(line)
            if target:
                targets.add(target.group(1).strip().strip("`").lower())
            directive = _DIRECTIVE.match(line)
            body, i = indented_block(i + 1)
            if directive and directive.group(1).lower() in _ADMONITIONS:
                prose = [directive.group(2), *(b for b in body if not _OPTION.match(b))]
                out.extend(["", _inline(" ".join(p.strip() for p in prose), targets), ""])
            continue
        if _GRID.match(line):
            out.append("")
            i += 1
            continue
        if (
            _ADORNMENT.match(line)
            and i + 2 < len(lines)
            and nxt.strip()
            and lines[i + 2].strip() == stripped
        ):
            heading(nxt.strip(), "over" + stripped[0])
            i += 3
            continue
        if (
            stripped
            and not line[:1].isspace()
            and _ADORNMENT.match(nxt)
            and len(nxt.strip()) >= len(stripped) - 2
            and not _ADORNMENT.match(line)
        ):
            heading(stripped, nxt.strip()[0])
            i += 2
            continue
        if _ADORNMENT.match(line):
            out.append("")  # a transition
            i += 1
            continue
        if stripped.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i].strip())
                i += 1
            out.extend(["", "```pycon", *block, "```", ""])
            continue
        if stripped.endswith("::"):
            lead = line.rstrip()[:-2].rstrip()
            if lead.strip():
                # "Example::" reads "Example:"; "text ::" reads "text".
                out.append(_inline(lead if line.rstrip()[-3:-2].isspace() else lead + ":", targets))
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j][:1].isspace():
                block, i = indented_block(j)
                code = textwrap.dedent("\n".join(block)).strip("\n")
                out.extend(["", "```", *code.split("\n"), "```", ""])
            else:
                i += 1
            continue
        out.append(_inline(line, targets))
        i += 1
    return "\n".join(out)


def _inline(text: str, targets: set[str]) -> str:
    text = _LINK.sub(lambda m: f"[{m.group(1)}]({m.group(2)})" if m.group(1) else m.group(2), text)
    text = _TEXT_ROLE.sub(r"\1", text)
    text = _CODE_ROLE.sub(r"`\1`", text)
    text = _LITERAL.sub(r"`\1`", text)
    text = _REFERENCE.sub(r"\1", text)
    text = _SUBSTITUTION.sub("", text)
    if targets:
        text = re.sub(
            r"(?<![\w`])([\w.-]+)__?(?![\w`])",
            lambda m: m.group(1) if m.group(1).lower() in targets else m.group(0),
            text,
        )
    return text
