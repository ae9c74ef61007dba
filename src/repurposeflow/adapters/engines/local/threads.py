"""Threads: a hook post, then posts that each read as a whole thought (a chosen sentence
with its neighbours), a closer; every post within 500 characters, one topic tag."""

from __future__ import annotations

import re

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.ranking import leans_back
from repurposeflow.adapters.engines.local.sentences import Sentence
from repurposeflow.adapters.engines.local.writer import Fits, Writer, chars, unique
from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import char_count
from repurposeflow.domain.platforms import ThreadsOutput
from repurposeflow.domain.validation import INLINE_HASHTAG


def write(w: Writer) -> ThreadsOutput:
    fits = chars(pf.THREADS_MAX_CHARS)
    hook = w.lead(chars(300), w.uses_title())
    if hook == w.headline(chars(300)):
        thesis = w.lead(chars(300 - len(hook)), neutral=True)
        hook = f"{hook}\n\n{thesis}" if thesis and thesis != hook else hook
    opener = w.phrase("opener", offset=1, avoid=[hook])
    first = f"{hook}\n\n{opener}" if opener else hook
    anchors = w.take(w.body_size(5, 2, 6), fits, spread=True)
    steps = w.steps(fits)
    posts = [first, *([steps] if steps else []), *_thoughts(w, anchors, fits)]
    closer = w.phrase("closer", offset=1, avoid=posts)
    if closer:
        posts.append(closer)
    # Threads allows one topic tag; hashtags inside quoted sentences would add more.
    posts = [p for p in unique(INLINE_HASHTAG.sub(r"\1", p) for p in posts) if fits(p)]
    topic = w.tags[0].lstrip("#") if w.tags else None
    return ThreadsOutput(posts=[p for p in posts if p], topic_tag=topic)


def _thoughts(w: Writer, anchors: list[Sentence], fits: Fits) -> list[str]:
    """Each chosen sentence with its neighbours, up to a comfortable length, so a post
    reads as a thought rather than a lone line."""
    low, high = (100, 250) if w.cjk else (250, 450)
    groups = [_grow(w, s, low, high) for s in anchors]
    merged: list[list[Sentence]] = []
    for group in groups:
        if merged:
            last = merged[-1]
            # Sentences from far apart would read as a non sequitur.
            near = group[0].block - last[-1].block <= 1
            together = [*last, *group]
            if near and char_count(w.prose(together)) <= high:
                merged[-1] = together
                continue
        merged.append(group)
    posts: list[str] = []
    for group in merged:
        # A sentence that leans back heads a post only with what it leans on.
        while len(group) > 1 and leans_back(group[0].text):
            group = group[1:]
        if leans_back(group[0].text):
            continue
        text = w.prose(group)
        while not fits(text) and len(group) > 1:
            group = group[:-1]
            text = w.prose(group)
        if fits(text):
            posts.append(text)
    return posts


def _grow(w: Writer, anchor: Sentence, low: int, high: int) -> list[Sentence]:
    group = [anchor]
    while char_count(w.prose(group)) < low:
        before, after = w.neighbour(group[0], -1), w.neighbour(group[-1], 1)
        same = [n for n in (before, after) if n is not None and n.block == anchor.block]
        # A sentence that leans back needs the one before it; otherwise read on, within
        # the paragraph first, then into the next one (never back into the previous
        # one: a post that opens on another paragraph's last line starts mid-thought).
        if not leans_back(group[0].text):
            same.reverse()
        onward = [after] if after is not None and after.block != anchor.block else []
        for option in [*same, *onward]:
            candidate = sorted([*group, option], key=lambda s: s.index)
            if char_count(w.prose(candidate)) <= high:
                group = candidate
                w.used.add(option.index)
                break
        else:
            break
    return group


def repair(w: Writer, o: ThreadsOutput) -> ThreadsOutput | None:
    fits = chars(pf.THREADS_MAX_CHARS)
    posts: list[str] = []
    for post in o.posts:
        text = INLINE_HASHTAG.sub(r"\1", w.clean(post))
        posts.extend([text] if fits(text) else fit.split_to_fit(text, fits))
    posts = unique(posts)
    if not posts:
        return None
    tag = (o.topic_tag or "").lstrip("#")
    good = bool(re.fullmatch(r"[^\W_][\w]*", tag)) and w.allowed("#" + tag)
    topic = tag if good else (w.tags[0].lstrip("#") if w.tags else None)
    return ThreadsOutput(posts=posts, topic_tag=topic)
