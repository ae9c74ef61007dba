"""LinkedIn: a hook above the "see more" fold, context, the points as an arrow list, the
takeaway, a question for the comments and 3-5 hashtags, within 3,000 characters."""

from __future__ import annotations

import re

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.writer import Writer, chars
from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import char_count
from repurposeflow.domain.platforms import LinkedInOutput


def write(w: Writer) -> LinkedInOutput:
    hook = w.lead(chars(200))
    context = w.text_of(w.take(2, chars(400), where=lambda s: s.index < len(w.doc.sentences) // 2))
    points = w.text_of(w.take(w.body_size(5, 3, 5), chars(220), spread=True))
    tail = max(0, int(len(w.doc.sentences) * 0.65))
    takeaway = w.text_of(w.take(1, chars(400), where=lambda s: s.index >= tail))
    cta = w.phrase("linkedin_cta")
    steps = w.steps(chars(700))
    link = w.link()
    # A post about a tool or a page keeps its link, after the takeaway.
    link_line = w.link_line(chars(300))
    tags = w.tags[: 4 if len(w.tags) >= 4 else 3]

    def compose(ctx_part: list[str], pts: list[str]) -> str:
        parts = [hook]
        if ctx_part:
            parts.append(fit.join(ctx_part, w.cjk))
        if steps:
            parts.append(steps)
        if len(pts) >= 2:
            bridge = w.phrase("linkedin_bridge")
            lines = "\n".join(f"→ {p}" for p in pts)
            parts.append(f"{bridge}\n{lines}" if bridge else lines)
        else:
            parts.extend(pts)
        parts.extend(takeaway)
        if link_line and not any(link in p for p in parts):
            parts.append(link_line)
        parts.extend([cta, " ".join(tags)])
        return "\n\n".join(p for p in parts if p)

    post = compose(context, points)
    while char_count(post) > pf.LINKEDIN_MAX_CHARS and (points or context):
        if len(points) > 2:
            points.pop()
        elif context:
            context.pop()
        else:
            points.pop()
        post = compose(context, points)
    return LinkedInOutput(post=post, opening_hook=hook, cta=cta, hashtags=tags)


def repair(w: Writer, o: LinkedInOutput) -> LinkedInOutput | None:
    fresh = write(w.sibling())
    hook = fit.shorten(w.clean(o.opening_hook), chars(200)) or fresh.opening_hook
    body = w.clean(o.post.replace(o.opening_hook, "", 1) if o.opening_hook else o.post)
    body = "\n".join(
        line for line in body.split("\n") if not re.fullmatch(r"(?:#\S+\s*)+", line.strip())
    ).strip()
    tags = w.fix_tags(o.hashtags, 3, 5)
    cta = w.clean(o.cta) or fresh.cta
    tag_line = " ".join(tags)
    room = pf.LINKEDIN_MAX_CHARS - char_count(hook) - char_count(tag_line) - 4
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    while paragraphs and char_count("\n\n".join(paragraphs)) > room:
        paragraphs.pop()
    post = "\n\n".join([hook, *paragraphs, tag_line])
    return LinkedInOutput(post=post, opening_hook=hook, cta=cta, hashtags=tags)
