"""TikTok: three hooks, three to five talking points that can each be said in one
breath, a call to action and hashtags."""

from __future__ import annotations

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.phrases import phrases
from repurposeflow.adapters.engines.local.ranking import leans_back
from repurposeflow.adapters.engines.local.writer import (
    Writer,
    chars,
    key,
    not_question,
    unique,
)
from repurposeflow.domain.platforms import TikTokOutput


def _spoken(text: str) -> str:
    # Backticks mark code on screen; said aloud they are noise.
    return text.replace("`", "")


def write(w: Writer) -> TikTokOutput:
    spoken = chars(150)
    fits = chars(110)
    hooks = [_spoken(w.lead(fits, w.uses_title()))]
    if len(w.pool) < 6:
        # A short note: its lines are the talking points; the other hooks frame them.
        hooks = _framed_hooks(w, hooks)
        # A line that leans on the one before it ("Thus, …") cannot stand as a point.
        points = [_spoken(s.text) for s in w.doc.sentences if w.allowed(s.text) and w.opens(s)]
        points = [p for p in unique([*hooks, *points])[len(hooks) :] if spoken(p)]
        if len(points) < 3:
            points = _stretch_points(w, points, hooks)
        cta = w.phrase("tiktok_cta")
        return TikTokOutput(hooks=hooks, talking_points=points[:5], cta=cta, hashtags=w.tags[:4])
    # The other hooks are the piece's next strongest lines, or a question it asks when
    # that is among them.
    top = {s.index for s in w.neutral[:12]}
    question = w.take(1, fits, where=lambda s: s.index in top and not not_question(s))
    claims = w.take(2, fits, where=lambda s: not_question(s) and w.opens(s), pool=w.neutral)
    for s in [*question, *claims]:
        if len(unique(hooks)) >= 3:
            break
        hooks.append(_spoken(w.with_sequel(s, fits)))
    hooks = unique(hooks)
    if len(hooks) < 3:
        hooks = _framed_hooks(w, hooks)

    wanted = w.body_size(4, 3, 5)
    # Whole sentences that can be said in one breath.
    chosen = w.take(wanted, spoken, where=not_question)
    points = [_spoken(s.text) for s in sorted(chosen, key=lambda s: s.index)]
    points = [p for p in unique([*hooks, *points])[len(hooks) :] if p]
    if len(points) < 3:
        points = _stretch_points(w, points, hooks)
    cta = w.phrase("tiktok_cta")
    return TikTokOutput(hooks=hooks, talking_points=points[:5], cta=cta, hashtags=w.tags[:4])


def _framed_hooks(w: Writer, hooks: list[str]) -> list[str]:
    """A short note has too few lines for three hooks of its own: a frame ("Quick
    lesson:") before one of its sentences, so every hook still says something of it."""
    lines = [s.text for s in sorted(w.doc.sentences, key=lambda s: s.index) if w.opens(s)]
    lines = [_spoken(t) for t in lines if w.allowed(t)]
    out = list(hooks)
    framed = [line for line in lines if not any(key(line) in key(h) for h in out)]
    framed += [line for line in lines if line not in framed]  # then reuse, differently framed
    for offset, line in enumerate(framed):
        if len(out) >= 3:
            break
        frame = w.phrase("hook_frame", offset, avoid=[])
        candidate = fit.join([frame, line], w.cjk) if frame else line
        if chars(150)(candidate):
            out = unique([*out, candidate])
    for offset in range(3):  # a note of a single short line: the last resort
        if len(out) < 3:
            out = unique([*out, w.phrase("last_resort", offset, avoid=out)])
    return out[:3]


def _stretch_points(w: Writer, points: list[str], hooks: list[str]) -> list[str]:
    """A short note has too few sentences for three talking points: use clauses of every
    sentence, then general prompts."""
    candidates = list(points)
    for s in sorted(w.doc.sentences, key=lambda s: s.index):
        if not w.allowed(s.text) or not w.opens(s):
            continue
        pieces = [
            c for c in fit.clauses(_spoken(s.text)) if not leans_back(c) and len(c.split()) >= 5
        ]
        candidates.extend(pieces if len(pieces) > 1 else [_spoken(s.text)])
    for role in ("filler_point", "last_resort"):
        own, spares = phrases(w.doc.language, role, w.tone)
        candidates.extend(p for p in (*own, *spares) if w.allowed(p))
    result = unique([*hooks, *candidates])[len(unique(hooks)) :]
    return [p for p in result if chars(150)(p)][:5]


def repair(w: Writer, o: TikTokOutput) -> TikTokOutput | None:
    fresh = write(w.sibling())
    hooks = unique([*(w.clean(h) for h in o.hooks), *fresh.hooks])[:3]
    points = unique([*hooks, *(w.clean(p) for p in o.talking_points)])[len(hooks) :]
    if len(points) < 3:
        points = unique([*hooks, *points, *fresh.talking_points])[len(hooks) :]
    if len(points) < 3:
        points = _stretch_points(w, points, hooks)
    cta = w.clean(o.cta) or fresh.cta
    tags = w.fix_tags(o.hashtags, 0, 5)
    return TikTokOutput(hooks=hooks, talking_points=points[:5], cta=cta, hashtags=tags)
