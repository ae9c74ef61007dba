"""Email: a subject within 60 characters, a preheader of 40-100, a Markdown body that
opens with the point, lists the rest and closes on the conclusion, and a call to action."""

from __future__ import annotations

import itertools

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.phrases import phrases
from repurposeflow.adapters.engines.local.writer import Writer, chars
from repurposeflow.domain import platforms as pf
from repurposeflow.domain.measure import char_count
from repurposeflow.domain.platforms import EmailOutput


def write(w: Writer) -> EmailOutput:
    subject_fits = chars(pf.EMAIL_MAX_SUBJECT)
    # Subject and preheader announce the body; they do not use its sentences up.
    before = set(w.used)
    # The title (or its subject part), else the piece's best line that fits whole.
    subject = w.headline(subject_fits) or w.lead(subject_fits, neutral=True)
    w.used = set(before)
    # The point first, with the line that completes it.
    opening = [w.lead(chars(400), neutral=True)]
    body_used = set(w.used)
    teaser = w.text_of(w.take(1, chars(pf.EMAIL_PREHEADER_RANGE[1])))
    preheader = _preheader(w, [*teaser, *opening])
    w.used = body_used
    points = w.text_of(w.take(w.body_size(5, 3, 5), chars(240), spread=True))
    tail = int(len(w.doc.sentences) * 0.65)
    closing = w.text_of(w.take(1, chars(400), where=lambda s: s.index >= tail))
    parts = [w.phrase("email_greeting")]
    if opening:
        parts.append(fit.join(opening, w.cjk))
    steps = w.steps(chars(1000))
    if steps:
        parts.append(steps.replace("\n", "\n\n", 1))  # a Markdown list after its intro
    if len(points) >= 2:
        intro = w.phrase("email_points_intro")
        parts.append("\n".join([intro, "", *(f"- {p}" for p in points)]) if intro else "")
    else:
        parts.extend(points)
    parts.extend(closing)
    parts.append(w.phrase("email_signoff"))
    body = "\n\n".join(p for p in parts if p)
    cta = w.phrase("email_cta")
    link = w.link()
    if link and link not in body:
        cta = w.link_line(chars(300)) or cta
    return EmailOutput(subject=subject, preheader=preheader, body_markdown=body, cta=cta)


def _preheader(w: Writer, candidates: list[str]) -> str:
    low, high = pf.EMAIL_PREHEADER_RANGE
    fits = chars(high)
    pad = w.phrase("preheader_pad")
    for text in candidates:
        if low <= char_count(text) <= high:
            return text
    for first, second in itertools.pairwise(candidates):
        both = fit.join([first, second], w.cjk)
        if low <= char_count(both) <= high:
            return both
    own, spares = phrases(w.doc.language, "preheader_pad", w.tone)
    pads = [p for p in (pad, *own, *spares) if p and w.allowed(p)]
    short = [c for c in candidates if char_count(c) < low]
    for extra in dict.fromkeys(pads):
        for text in [*short, ""]:
            joined = fit.join([text, extra], w.cjk)
            if low <= char_count(joined) <= high:
                return joined
    # Nothing whole fits (every pad banned): the last resort is a cut.
    text = candidates[0] if candidates else ""
    for extra in dict.fromkeys(pads):
        text = fit.shorten(fit.join([text, extra], w.cjk), fits)
        if char_count(text) >= low:
            break
    return text


def repair(w: Writer, o: EmailOutput) -> EmailOutput | None:
    fresh = write(w.sibling())
    subject = fit.shorten(w.clean(o.subject), chars(pf.EMAIL_MAX_SUBJECT))
    low, high = pf.EMAIL_PREHEADER_RANGE
    preheader = w.clean(o.preheader)
    if not low <= char_count(preheader) <= high:
        preheader = _preheader(w, [preheader] if preheader else []) if preheader else ""
    if not low <= char_count(preheader) <= high:
        preheader = fresh.preheader
    return EmailOutput(
        subject=subject or fresh.subject,
        preheader=preheader,
        body_markdown=w.clean(o.body_markdown) or fresh.body_markdown,
        cta=w.clean(o.cta) or fresh.cta,
    )
