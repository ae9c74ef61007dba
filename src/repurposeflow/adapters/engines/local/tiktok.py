"""TikTok: three hooks, three to five talking points that can each be said in one
breath, a call to action and hashtags."""

from __future__ import annotations

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.phrases import phrases
from repurposeflow.adapters.engines.local.writer import Writer, chars, not_question, unique
from repurposeflow.domain.platforms import TikTokOutput


def write(w: Writer) -> TikTokOutput:
    spoken = chars(150)
    hooks: list[str] = []
    if len(w.pool) >= 5:
        hooks.append(w.lead(chars(110), w.uses_title()))
        hooks.append(w.phrase("hook", avoid=hooks))
        question = w.take(1, spoken, where=lambda s: s.text.rstrip().endswith(("?", "？")))
        hooks.append(question[0].text if question else w.phrase("hook", 1, avoid=hooks))
    for offset in range(8):
        if len(unique(hooks)) >= 3:
            break
        hooks.append(w.phrase("hook", offset, avoid=hooks))
    hooks = unique(hooks)[:3]

    wanted = w.body_size(4, 3, 5)
    # Whole sentences that can be said in one breath first; shortened ones only to make
    # up the number.
    chosen = w.take(wanted, spoken, where=not_question)
    chosen += w.take(wanted - len(chosen), where=not_question)
    points = [fit.shorten(s.text, spoken) for s in sorted(chosen, key=lambda s: s.index)]
    points = [p for p in unique([*hooks, *points])[len(hooks) :] if p]
    if len(points) < 3:
        points = _stretch_points(w, points, hooks)
    cta = w.phrase("tiktok_cta")
    return TikTokOutput(hooks=hooks, talking_points=points[:5], cta=cta, hashtags=w.tags[:4])


def _stretch_points(w: Writer, points: list[str], hooks: list[str]) -> list[str]:
    """A short note has too few sentences for three talking points: use clauses of every
    sentence, then general prompts."""
    candidates = list(points)
    for s in sorted(w.doc.sentences, key=lambda s: s.index):
        if not w.allowed(s.text):
            continue
        pieces = fit.clauses(s.text)
        candidates.extend(pieces if len(pieces) > 1 else [s.text])
    for role in ("filler_point", "last_resort"):
        own, spares = phrases(w.doc.language, role, w.tone)
        candidates.extend(p for p in (*own, *spares) if w.allowed(p))
    result = unique([*hooks, *candidates])[len(unique(hooks)) :]
    return [fit.shorten(p, chars(150)) or p for p in result][:5]


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
