"""Instagram: a caption (hook, a few sentences, a call to action) with at most the
person's hashtag cap, and carousel slides that tell the story on their own."""

from __future__ import annotations

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.writer import Writer, chars, clamp, key, unique
from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import char_count
from repurposeflow.domain.platforms import InstagramOutput


def _cap(w: Writer) -> int:
    return clamp(w.ctx.instagram_hashtag_cap, 0, pf.INSTAGRAM_HARD_HASHTAG_CAP)


def write(w: Writer) -> InstagramOutput:
    tags = w.tags[: min(_cap(w), pf.INSTAGRAM_DEFAULT_HASHTAG_CAP)]
    hook = w.lead(chars(125))
    body = w.text_of(w.take(3, chars(300)))
    cta = w.phrase("instagram_cta")

    def full(parts: list[str]) -> str:
        caption = "\n\n".join(p for p in [hook, *parts, cta] if p)
        return caption if not tags else f"{caption}\n\n{' '.join(tags)}"

    while body and char_count(full(body)) > pf.INSTAGRAM_MAX_CAPTION:
        body.pop()
    caption = "\n\n".join(p for p in [hook, *body, cta] if p)

    # Slides tell the story on their own, so they may reuse the caption's sentences.
    w.used.clear()
    first = w.headline(chars(90)) or w.lead(chars(90))
    slides = [first]
    # A how-to's steps, one slide each.
    if w.steps(chars(150 * 20)):
        slides += [step for step in w.doc.steps if len(step) <= 150]
    for s in w.take(w.body_size(4, 3, 8), chars(150)):
        if key(s.text) != key(first):
            slides.append(s.text)
    slides.append(w.phrase("slide_end", avoid=slides))
    slides = unique(slides)[: pf.INSTAGRAM_MAX_SLIDES]
    return InstagramOutput(caption=caption, hashtags=tags, slides=slides)


def repair(w: Writer, o: InstagramOutput) -> InstagramOutput | None:
    tags = w.fix_tags(o.hashtags, 0, _cap(w))
    tag_room = char_count(" ".join(tags)) + 2 if tags else 0
    caption = w.clean(o.caption)
    if not caption:
        return None
    caption = fit.shorten(caption, chars(pf.INSTAGRAM_MAX_CAPTION - tag_room))
    slides = unique(w.clean(s) for s in o.slides)[: pf.INSTAGRAM_MAX_SLIDES]
    return InstagramOutput(caption=caption, hashtags=tags, slides=slides)
