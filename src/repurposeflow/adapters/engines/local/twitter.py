"""X: a numbered thread. The hook and an opener first, the piece's points section by
section, a closer with the hashtags last; every post within X's weighted 280."""

from __future__ import annotations

import re

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.writer import Fits, Writer, unique
from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import (
    NUMBERING_ROOM,
    NUMBERING_ROOM_LONG,
    number_thread,
    strip_thread_numbering,
    twitter_weighted_length,
)
from repurposeflow.domain.platforms import TwitterOutput


def _fits(text: str) -> bool:
    return twitter_weighted_length(NUMBERING_ROOM + text) <= pf.TWITTER_MAX_WEIGHTED


def write(w: Writer) -> TwitterOutput:
    fits = _fits
    hook = w.lead(lambda t: fits(t + "\n\n" + "x" * 40), w.uses_title())
    if hook == w.headline(fits):
        # A headline names the topic; the first post also says what the piece concludes.
        thesis = w.lead(lambda t: fits(f"{hook}\n\n{t}\n\n" + "x" * 40), neutral=True)
        hook = f"{hook}\n\n{thesis}" if thesis and thesis != hook else hook
    opener = w.phrase("opener", avoid=[hook])
    first = f"{hook}\n\n{opener}" if opener and fits(f"{hook}\n\n{opener}") else hook
    body = w.take(w.body_size(4, 3, 7), fits, spread=True)
    steps = w.steps(fits)
    posts = [first, *([steps] if steps else []), *w.pack(body, fits, per_post=2)]
    closer = w.phrase("closer", avoid=posts)
    link = w.link()
    if link and not any(link in p for p in posts):
        # A post about a tool or a page keeps its link: the thread's last post.
        line = w.link_line(lambda t: fits(f"{t}\n\n{closer}"))
        closer = f"{line}\n\n{closer}" if line else closer
    habit = w.style.hashtags if w.style is not None else "end"
    tags = w.tags[:2] if habit != "none" else []
    trailing = tags
    if habit == "inline":
        posts, woven = _weave(posts, tags, fits)
        trailing = [t for t in tags if t not in woven]
    if closer:
        with_tags = f"{closer}\n\n{' '.join(trailing)}"
        posts.append(with_tags if trailing and fits(with_tags) else closer)
    posts = unique(posts)
    thread = number_thread(posts)
    return TwitterOutput(thread=thread, hashtags=tags)


def _weave(posts: list[str], tags: list[str], fits: Fits) -> tuple[list[str], set[str]]:
    """For people who put hashtags inside their sentences: each tag on the first word
    of a post that spells it (``CI`` -> ``#CI``), never inside a link."""
    out = list(posts)
    woven: set[str] = set()
    for tag in tags:
        word = tag[1:]
        pattern = re.compile(rf"(?<![\w#/.@-]){re.escape(word)}(?![\w/-])", re.IGNORECASE)
        for i, post in enumerate(out):
            match = pattern.search(post)
            if match is None:
                continue
            candidate = f"{post[: match.start()]}#{match.group(0)}{post[match.end() :]}"
            if fits(candidate):
                out[i] = candidate
                woven.add(tag)
                break
    return out, woven


def repair(w: Writer, o: TwitterOutput) -> TwitterOutput | None:
    def fits(text: str) -> bool:
        return twitter_weighted_length(NUMBERING_ROOM_LONG + text) <= pf.TWITTER_MAX_WEIGHTED

    posts: list[str] = []
    for post in o.thread:
        text = w.clean(strip_thread_numbering(post))
        posts.extend([text] if fits(text) else fit.split_to_fit(text, fits))
    posts = unique(posts)
    if not posts:
        return None
    thread = number_thread(posts)
    return TwitterOutput(thread=thread, hashtags=w.fix_tags(o.hashtags, 0, 2))
