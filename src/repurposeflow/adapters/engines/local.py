"""The local engine: offline, deterministic, no key, no model download.

``analyze`` reads the source once (markup stripped, sentences by pysbd, keywords by
yake, sentences ranked by keyword coverage, position and length with near-duplicates
removed) and returns a brief. ``render`` builds one platform's post from the source's
own best sentences, arranged per platform and tone with a few hand-written openers and
calls to action. Facts therefore stay grounded: every number and link shown was in the
source. Each output is checked against the domain validators before it leaves; a
repair request (``RenderRequest.previous``) is fixed by trimming and dropping, not by
starting over, and only falls back to a fresh render when the fix cannot be made.

Thread safety: renders share nothing mutable but the document cache, which locks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from repurposeflow.adapters.engines import fit
from repurposeflow.adapters.engines.extract import Document, Sentence, leans_back, read_document
from repurposeflow.adapters.engines.phrases import phrases
from repurposeflow.adapters.engines.style import Style, style_of
from repurposeflow.domain import platforms as pf
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import Brief, TokenUsage
from repurposeflow.domain.platforms import (
    EmailOutput,
    InstagramOutput,
    LinkedInOutput,
    PlatformOutput,
    ThreadsOutput,
    TikTokOutput,
    TwitterOutput,
)
from repurposeflow.domain.ports import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.validation import (
    ValidationContext,
    char_count,
    leaks_in,
    strip_thread_numbering,
    ungrounded_facts,
    validate,
    x_weighted_length,
)

MODEL = "local-extractive-1"

_C, _E, _O, _A = Tone.CONVERSATIONAL, Tone.EDUCATIONAL, Tone.OPINIONATED, Tone.AUTHORITY

# Sentences that suit a tone get a nudge up the ranking, so tones differ in substance,
# not only in their openers.
_TONE_CUES: dict[Tone, re.Pattern[str]] = {
    _C: re.compile(r"(?i)\b(?:i|we|you|my|our|your|me|us)\b"),
    _E: re.compile(r"(?i)\b(?:how|why|because|step|first|example|means|when|if)\b"),
    _O: re.compile(
        r"(?i)\b(?:should|must|never|always|not|wrong|better|worse|stop|don't|matters?|"
        r"point|luxury|worse|cheap(?:er|est)?)\b"
    ),
    _A: re.compile(r"\d"),
}
_HASHTAG_LIKE = re.compile(r"(?<![\w&#])#([^\W_][\w]*)", re.UNICODE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+")
_AUDIENCE = re.compile(
    r"(?i)\b(?:for|if you(?:'re| are)(?: an?)?)\s+((?:[a-z-]+\s){0,2}"
    r"(?:engineers|developers|founders|teams|managers|writers|designers|marketers|"
    r"creators|students|teachers|parents|leaders|freelancers|owners|researchers|"
    r"nurses|doctors|coaches|consultants|programmers|startups|beginners))\b"
)


@lru_cache(maxsize=64)
def _banned_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """All banned phrases as one pattern, matched the way the validator matches them
    (whole words, any run of spaces, either apostrophe); the validator has the last word."""
    parts = []
    for phrase in phrases:
        escaped = re.escape(phrase.lower()).replace("\\ ", r"\s+").replace("'", "['’]")
        parts.append(rf"(?<!\w){escaped}(?!\w)")
    return re.compile("|".join(parts) or r"(?!x)x", re.IGNORECASE)


def _key(text: str) -> str:
    """How the validator tells posts apart: words only, case folded, numbering gone."""
    return re.sub(r"\W+", " ", strip_thread_numbering(text).lower()).strip()


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        item = item.strip()
        key = _key(item)
        if not item or (key and key in seen):
            continue
        seen.add(key)
        out.append(item)
    return out


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _chars(limit: int) -> Callable[[str], bool]:
    return lambda text: char_count(text) <= limit


class LocalEngine:
    """``ContentEngine`` that needs nothing but the source text."""

    name = "local"

    def __init__(self, model: str = MODEL) -> None:
        self._model = model

    @property
    def model(self) -> str:
        return self._model

    def analyze(self, source: str, tone: Tone) -> Analysis:
        doc = read_document(source)
        writer = _Writer(doc, Tone(tone), ValidationContext.for_user(source), doc.keywords)
        return Analysis(writer.brief(), TokenUsage(), self._model)

    def render(self, request: RenderRequest) -> PlatformDraft:
        ctx = ValidationContext.for_user(
            request.source, request.voice.banned_phrases, request.voice.instagram_hashtag_cap
        )
        doc = read_document(request.source)
        keywords = tuple(request.brief.keywords) or doc.keywords
        style = style_of(tuple(request.voice.sample_posts))
        writer = _Writer(doc, Tone(request.tone), ctx, keywords, style)
        platform = Platform(request.platform)
        previous = request.previous
        if previous is not None and previous.platform is platform:
            fixed = writer.repair(previous)
            if fixed is not None and not validate(fixed, ctx):
                return PlatformDraft(fixed, TokenUsage(), self._model)
        output = writer.write(platform)
        if validate(output, ctx):
            # A belt-and-braces pass: the builders aim to be valid, the fixer makes sure.
            fixed = writer.repair(output)
            if fixed is not None and not validate(fixed, ctx):
                output = fixed
        return PlatformDraft(output, TokenUsage(), self._model)


class _Writer:
    """One render's worth of choices. Holds per-call state, so each call gets its own."""

    def __init__(
        self,
        doc: Document,
        tone: Tone,
        ctx: ValidationContext,
        keywords: Sequence[str],
        style: Style | None = None,
    ) -> None:
        self.doc = doc
        self.tone = tone
        self.style = style
        self.ctx = ctx
        self.cjk = doc.cjk
        self.seed = int(hashlib.sha256(ctx.source.encode("utf-8")).hexdigest()[:8], 16)
        self.used: set[int] = set()
        self.banned = _banned_pattern(ctx.banned_phrases)
        self._allowed: dict[str, bool] = {}
        cue = _TONE_CUES[tone]
        allowed = [s for s in doc.ranked if self.allowed(s.text)]
        self.neutral = allowed
        # People who write short get the source's shorter sentences first.
        over = style.words_over if style is not None else lambda words: 0.0
        self.pool: list[Sentence] = sorted(
            allowed,
            key=lambda s: (
                -(s.score + (0.08 if cue.search(s.text) else 0) - 0.25 * over(s.words)),
                s.index,
            ),
        )
        self.tags = self._hashtags(keywords)
        self.position = {s.index: i for i, s in enumerate(doc.sentences)}

    # --- building blocks ----------------------------------------------------------------

    def allowed(self, text: str) -> bool:
        # Remembered per render: neighbours and phrases are asked about more than once.
        known = self._allowed.get(text)
        if known is None:
            known = self._allowed[text] = not (
                self.banned.search(text.replace("’", "'"))
                or leaks_in([text])
                or ungrounded_facts([text], self.ctx.source)
            )
        return known

    def phrase(self, role: str, offset: int = 0, avoid: Iterable[str] = ()) -> str:
        own, spares = phrases(self.doc.language, role, self.tone)
        start = (self.seed + offset) % len(own) if own else 0
        ordered = [*own[start:], *own[:start], *spares]
        if self.style is not None:
            styled = (self.style.apply(c, role, self.doc.language) for c in ordered)
            ordered = [c for c in styled if c]
        taken = {_key(a) for a in avoid}
        for candidate in ordered:
            if _key(candidate) not in taken and self.allowed(candidate):
                return candidate
        for candidate in ordered:
            if self.allowed(candidate):
                return candidate
        if role != "last_resort":
            return self.phrase("last_resort", avoid=avoid)
        return ""

    def take(
        self,
        count: int,
        fits: Callable[[str], bool] | None = None,
        where: Callable[[Sentence], bool] | None = None,
        spread: bool = False,
        pool: Sequence[Sentence] | None = None,
    ) -> list[Sentence]:
        """The best unused sentences (up to ``count``) that fit, in reading order. With
        ``spread``, the best of each section comes first, so a post walks through the
        whole piece rather than dwelling on its best-scoring part."""
        chosen: list[Sentence] = []
        sections: set[int] = set()
        for crowded in (False, True) if spread else (True,):
            for s in self.pool if pool is None else pool:
                if len(chosen) == count:
                    break
                if s.index in self.used or (where and not where(s)):
                    continue
                if not crowded and s.section in sections:
                    continue
                if fits and not fits(s.text):
                    continue
                chosen.append(s)
                sections.add(s.section)
                self.used.add(s.index)
        return sorted(chosen, key=lambda s: s.index)

    def lead(
        self, fits: Callable[[str], bool], use_title: bool = False, neutral: bool = False
    ) -> str:
        """The opening line: the title, the best sentence that fits, or the best one
        shortened. ``neutral`` ranks without the tone's nudge."""
        pool = self.neutral if neutral else self.pool
        title = self.doc.title
        if use_title and title and self.allowed(title) and fits(title):
            return title
        low, high = (12, 70) if self.cjk else (6, 26)
        picked = (
            self.take(
                1, fits, where=lambda s: low <= s.words <= high and _not_question(s), pool=pool
            )
            or self.take(1, fits, where=lambda s: s.words >= low // 2, pool=pool)
            or self.take(1, fits, pool=pool)
        )
        if picked:
            return self._with_sequel(picked[0], fits)
        for s in self.pool:
            if s.index not in self.used:
                short = fit.shorten(s.text, fits)
                if short:
                    self.used.add(s.index)
                    return short
        return self.phrase("hook")

    def neighbour(self, s: Sentence, step: int) -> Sentence | None:
        """The unused sentence right after (``step`` 1) or before (-1) ``s`` in the same
        or the adjacent paragraph, if nothing was left out between them."""
        at = self.position.get(s.index)
        if at is None or not 0 <= at + step < len(self.doc.sentences):
            return None
        other = self.doc.sentences[at + step]
        if (
            other.index != s.index + step
            or abs(other.block - s.block) > 1
            or other.index in self.used
            or not self.allowed(other.text)
        ):
            return None
        return other

    def _with_sequel(self, s: Sentence, fits: Callable[[str], bool]) -> str:
        """``s``, and the next sentence too when that one leans back on it ("A fast
        pipeline will not make your team better engineers. It will stop punishing
        them…"): a claim cut off from its second half reads as a different claim."""
        sequel = self.neighbour(s, 1)
        if sequel is not None and sequel.block == s.block and leans_back(sequel.text):
            joined = fit.join([s.text, sequel.text], self.cjk)
            if fits(joined):
                self.used.add(sequel.index)
                return joined
        return s.text

    def _hashtags(self, keywords: Sequence[str]) -> list[str]:
        """Keywords as hashtags, topical ones first: named in the title or a heading,
        several words, or an acronym; everyday words last."""
        title = (self.doc.title or "").lower()
        headings = " ".join(self.doc.headings).lower()

        def weight(item: tuple[int, str]) -> float:
            rank, keyword = item
            low = keyword.lower()
            score = float(rank)
            score -= 4 * bool(re.search(rf"(?<!\w){re.escape(low)}(?!\w)", title))
            score -= 2 * (low in headings)
            english = self.doc.language == "en"
            score -= 3 * (" " in keyword and english) + 3 * (keyword.isupper() and len(keyword) > 1)
            tokens = low.split()
            everyday = [t in _EVERYDAY_WORDS for t in tokens]
            score += 12 * all(everyday) + 6 * any(everyday)
            # Verbs and adverbs make odd tags ("#StartedTracking"): nouns end a good one.
            score += 6 * any(t.endswith(("ed", "ly")) for t in tokens) * english
            score += 4 * tokens[-1].endswith("ing") * english
            return score

        ranked = sorted(enumerate(keywords), key=weight)
        candidates = [fit.to_hashtag(k) for _, k in ranked]
        fallback, spare = phrases(self.doc.language, "fallback_tag", self.tone)
        tags = []
        seen: set[str] = set()
        for tag in [*candidates, *fallback, *spare]:
            if not tag or tag.lower() in seen or not self.allowed(tag):
                continue
            seen.add(tag.lower())
            tags.append(tag)
        return tags

    def fix_tags(self, tags: Sequence[str], low: int, high: int) -> list[str]:
        good = [t for t in tags if re.fullmatch(r"#[^\W_][\w]*", t) and self.allowed(t)]
        out = _unique_tags(good)
        for tag in self.tags:
            if len(out) >= low:
                break
            if tag.lower() not in {t.lower() for t in out}:
                out.append(tag)
        return out[:high]

    def text_of(self, sentences: Iterable[Sentence]) -> list[str]:
        return [s.text for s in sentences]

    def _body_size(self, per: int, low: int, high: int) -> int:
        return _clamp(len(self.pool) // per, low, high)

    # --- the brief ------------------------------------------------------------------------

    def brief(self) -> Brief:
        # The author's main point is the same whatever tone the posts take.
        core = self.lead(_chars(280), neutral=True)
        points = [
            fit.shorten(s.text, _chars(280))
            for s in self.take(self._body_size(6, 3, 5), where=lambda s: s.words >= 4)
        ]
        title = self.doc.title
        if title:
            topic = fit.shorten(title, _chars(100))
        elif self.doc.keywords:
            topic = ", ".join(self.doc.keywords[:2])
        else:
            topic = fit.shorten(core, _chars(60))
        return Brief(
            core_message=core,
            key_points=tuple(p for p in points if p) or (core,),
            topic=topic,
            audience=self._audience(),
            keywords=self.doc.keywords,
        )

    def _audience(self) -> str:
        for s in self.doc.sentences:
            match = _AUDIENCE.search(s.text)
            if match:
                return match.group(1).lower()
        words = [k for k in self.doc.keywords[:2]]
        if not words:
            return "general readers"
        return "people interested in " + " and ".join(words)

    # --- platforms --------------------------------------------------------------------------

    def write(self, platform: Platform) -> PlatformOutput:
        builders: dict[Platform, Callable[[], PlatformOutput]] = {
            Platform.TWITTER: self.twitter,
            Platform.THREADS: self.threads,
            Platform.LINKEDIN: self.linkedin,
            Platform.INSTAGRAM: self.instagram,
            Platform.TIKTOK: self.tiktok,
            Platform.EMAIL: self.email,
        }
        return builders[platform]()

    def _uses_title(self) -> bool:
        return self.tone in (_E, _A)

    def _pack(
        self,
        sentences: list[Sentence],
        fits: Callable[[str], bool],
        per_post: int,
        reach: int = 0,
    ) -> list[str]:
        """Sentences into posts: long ones split, near neighbours (within ``reach``
        paragraphs) share a post; sentences from far apart would read as a non sequitur."""
        posts: list[str] = []
        count = 0
        previous: Sentence | None = None
        for s in sentences:
            pieces = (
                [self._with_sequel(s, fits)] if fits(s.text) else fit.split_to_fit(s.text, fits)
            )
            neighbour = previous is not None and s.block - previous.block <= reach
            for piece in pieces:
                merged = fit.join([posts[-1], piece], self.cjk) if posts else ""
                if neighbour and count < per_post and len(pieces) == 1 and fits(merged):
                    posts[-1] = merged
                    count += 1
                else:
                    posts.append(piece)
                    count = 1
            previous = s
        return posts

    def twitter(self) -> TwitterOutput:
        def fits(text: str) -> bool:
            return x_weighted_length("99/ " + text) <= pf.X_MAX_WEIGHTED

        hook = self.lead(lambda t: fits(t + "\n\n" + "x" * 40), self._uses_title())
        opener = self.phrase("opener", avoid=[hook])
        first = f"{hook}\n\n{opener}" if opener and fits(f"{hook}\n\n{opener}") else hook
        body = self.take(self._body_size(4, 3, 7), spread=True)
        posts = [first, *self._pack(body, fits, per_post=2)]
        closer = self.phrase("closer", avoid=posts)
        habit = self.style.hashtags if self.style is not None else "end"
        tags = self.tags[:2] if habit != "none" else []
        trailing = tags
        if habit == "inline":
            posts, woven = self._weave(posts, tags, fits)
            trailing = [t for t in tags if t not in woven]
        if closer:
            with_tags = f"{closer}\n\n{' '.join(trailing)}"
            posts.append(with_tags if trailing and fits(with_tags) else closer)
        posts = _unique(posts)
        thread = [f"{i}/ {post}" for i, post in enumerate(posts, 1)]
        return TwitterOutput(thread=thread, hashtags=tags)

    def _weave(
        self, posts: list[str], tags: list[str], fits: Callable[[str], bool]
    ) -> tuple[list[str], set[str]]:
        """For people who put hashtags inside their sentences: each tag on the first
        word of a post that spells it (``CI`` -> ``#CI``), never inside a link."""
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

    def threads(self) -> ThreadsOutput:
        fits = _chars(pf.THREADS_MAX_CHARS)
        hook = self.lead(_chars(300), self._uses_title())
        opener = self.phrase("opener", offset=1, avoid=[hook])
        first = f"{hook}\n\n{opener}" if opener else hook
        anchors = self.take(self._body_size(5, 2, 6), spread=True)
        posts = [first, *self._thoughts(anchors, fits)]
        closer = self.phrase("closer", offset=1, avoid=posts)
        if closer:
            posts.append(closer)
        # Threads allows one topic tag; hashtags inside quoted sentences would add more.
        posts = _unique(_HASHTAG_LIKE.sub(r"\1", p) for p in posts)
        posts = [p if fits(p) else fit.shorten(p, fits) for p in posts]
        topic = self.tags[0].lstrip("#") if self.tags else None
        return ThreadsOutput(posts=[p for p in posts if p], topic_tag=topic)

    def _thoughts(self, anchors: list[Sentence], fits: Callable[[str], bool]) -> list[str]:
        """Threads posts: each chosen sentence with its neighbours, up to a comfortable
        length, so a post reads as a thought rather than a lone line."""
        low, high = (100, 250) if self.cjk else (250, 450)
        groups = [self._grow(s, low, high) for s in anchors]
        merged: list[list[Sentence]] = []
        for group in groups:
            if merged:
                last = merged[-1]
                # Sentences from far apart would read as a non sequitur.
                near = group[0].block - last[-1].block <= 1
                together = [*last, *group]
                if near and char_count(self._prose(together)) <= high:
                    merged[-1] = together
                    continue
            merged.append(group)
        posts: list[str] = []
        for group in merged:
            text = self._prose(group)
            posts.extend([text] if fits(text) else fit.split_to_fit(text, fits))
        return posts

    def _grow(self, anchor: Sentence, low: int, high: int) -> list[Sentence]:
        group = [anchor]
        while char_count(self._prose(group)) < low:
            before, after = self.neighbour(group[0], -1), self.neighbour(group[-1], 1)
            same = [n for n in (before, after) if n is not None and n.block == anchor.block]
            # A sentence that leans back needs the one before it; otherwise read on, within
            # the paragraph first, then into the next one (never back into the previous
            # one: a post that opens on another paragraph's last line starts mid-thought).
            if not leans_back(group[0].text):
                same.reverse()
            onward = [after] if after is not None and after.block != anchor.block else []
            for option in [*same, *onward]:
                candidate = sorted([*group, option], key=lambda s: s.index)
                if char_count(self._prose(candidate)) <= high:
                    group = candidate
                    self.used.add(option.index)
                    break
            else:
                break
        return group

    def _prose(self, sentences: list[Sentence]) -> str:
        """Sentences as they stood: one paragraph per source paragraph."""
        paragraphs: list[list[str]] = []
        previous: Sentence | None = None
        for s in sentences:
            if previous is None or s.block != previous.block:
                paragraphs.append([])
            paragraphs[-1].append(s.text)
            previous = s
        return "\n\n".join(fit.join(p, self.cjk) for p in paragraphs)

    def linkedin(self) -> LinkedInOutput:
        hook = self.lead(_chars(200))
        context = self.text_of(
            self.take(2, _chars(400), where=lambda s: s.index < len(self.doc.sentences) // 2)
        )
        points = [
            fit.shorten(t, _chars(220))
            for t in self.text_of(self.take(self._body_size(5, 3, 5), spread=True))
        ]
        tail = max(0, int(len(self.doc.sentences) * 0.65))
        takeaway = self.text_of(self.take(1, _chars(400), where=lambda s: s.index >= tail))
        cta = self.phrase("linkedin_cta")
        tags = self.tags[: 4 if len(self.tags) >= 4 else 3]

        def compose(ctx_part: list[str], pts: list[str]) -> str:
            parts = [hook]
            if ctx_part:
                parts.append(fit.join(ctx_part, self.cjk))
            if len(pts) >= 2:
                bridge = self.phrase("linkedin_bridge")
                lines = "\n".join(f"→ {p}" for p in pts)
                parts.append(f"{bridge}\n{lines}" if bridge else lines)
            else:
                parts.extend(pts)
            parts.extend(takeaway)
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

    def instagram(self) -> InstagramOutput:
        cap = _clamp(self.ctx.instagram_hashtag_cap, 0, pf.INSTAGRAM_HARD_HASHTAG_CAP)
        tags = self.tags[: min(cap, pf.INSTAGRAM_DEFAULT_HASHTAG_CAP)]
        hook = self.lead(_chars(125))
        body = self.text_of(self.take(3, _chars(300)))
        cta = self.phrase("instagram_cta")

        def full(parts: list[str]) -> str:
            caption = "\n\n".join(p for p in [hook, *parts, cta] if p)
            return caption if not tags else f"{caption}\n\n{' '.join(tags)}"

        while body and char_count(full(body)) > pf.INSTAGRAM_MAX_CAPTION:
            body.pop()
        caption = "\n\n".join(p for p in [hook, *body, cta] if p)

        # Slides tell the story on their own, so they may reuse the caption's sentences.
        self.used.clear()
        first = self.doc.title if self.doc.title and self.allowed(self.doc.title) else hook
        slides = [fit.shorten(first, _chars(90))]
        for s in self.take(self._body_size(4, 3, 8)):
            if _key(s.text) != _key(first):
                slides.append(fit.shorten(s.text, _chars(150)))
        slides.append(self.phrase("slide_end", avoid=slides))
        slides = _unique(slides)[: pf.INSTAGRAM_MAX_SLIDES]
        return InstagramOutput(caption=caption, hashtags=tags, slides=slides)

    def tiktok(self) -> TikTokOutput:
        spoken = _chars(150)
        hooks: list[str] = []
        if len(self.pool) >= 5:
            hooks.append(self.lead(_chars(110), self._uses_title()))
            hooks.append(self.phrase("hook", avoid=hooks))
            question = self.take(1, spoken, where=lambda s: s.text.rstrip().endswith(("?", "？")))
            hooks.append(question[0].text if question else self.phrase("hook", 1, avoid=hooks))
        for offset in range(8):
            if len(_unique(hooks)) >= 3:
                break
            hooks.append(self.phrase("hook", offset, avoid=hooks))
        hooks = _unique(hooks)[:3]

        wanted = self._body_size(4, 3, 5)
        # Whole sentences that can be said in one breath first; shortened ones only to
        # make up the number.
        chosen = self.take(wanted, spoken, where=_not_question)
        chosen += self.take(wanted - len(chosen), where=_not_question)
        points = [fit.shorten(s.text, spoken) for s in sorted(chosen, key=lambda s: s.index)]
        points = [p for p in _unique([*hooks, *points])[len(hooks) :] if p]
        if len(points) < 3:
            points = self._stretch_points(points, hooks)
        cta = self.phrase("tiktok_cta")
        return TikTokOutput(hooks=hooks, talking_points=points[:5], cta=cta, hashtags=self.tags[:4])

    def _stretch_points(self, points: list[str], hooks: list[str]) -> list[str]:
        """A short note has too few sentences for three talking points: use clauses of
        every sentence, then general prompts."""
        candidates = list(points)
        for s in sorted(self.doc.sentences, key=lambda s: s.index):
            if not self.allowed(s.text):
                continue
            pieces = fit.clauses(s.text)
            candidates.extend(pieces if len(pieces) > 1 else [s.text])
        for role in ("filler_point", "last_resort"):
            own, spares = phrases(self.doc.language, role, self.tone)
            candidates.extend(p for p in (*own, *spares) if self.allowed(p))
        result = _unique([*hooks, *candidates])[len(_unique(hooks)) :]
        return [fit.shorten(p, _chars(150)) or p for p in result][:5]

    def email(self) -> EmailOutput:
        subject_fits = _chars(pf.EMAIL_MAX_SUBJECT)
        title = self.doc.title
        subject = ""
        if title and self.allowed(title):
            subject = fit.shorten(title, subject_fits)
        if not subject:
            subject = fit.shorten(self.lead(_chars(200)), subject_fits)
        if not subject:
            subject = fit.shorten(self.phrase("hook"), subject_fits)

        opening = self.text_of(self.take(2, _chars(400), where=lambda s: s.words >= 5))
        teaser = self.text_of(self.take(1, _chars(pf.EMAIL_PREHEADER_RANGE[1])))
        preheader = self._preheader([*teaser, *opening])
        points = [
            fit.shorten(t, _chars(240))
            for t in self.text_of(self.take(self._body_size(5, 3, 5), spread=True))
        ]
        tail = int(len(self.doc.sentences) * 0.65)
        closing = self.text_of(self.take(1, _chars(400), where=lambda s: s.index >= tail))
        parts = [self.phrase("email_greeting")]
        if opening:
            parts.append(fit.join(opening, self.cjk))
        if len(points) >= 2:
            intro = self.phrase("email_points_intro")
            parts.append("\n".join([intro, "", *(f"- {p}" for p in points)]) if intro else "")
        else:
            parts.extend(points)
        parts.extend(closing)
        parts.append(self.phrase("email_signoff"))
        body = "\n\n".join(p for p in parts if p)
        cta = self.phrase("email_cta")
        return EmailOutput(subject=subject, preheader=preheader, body_markdown=body, cta=cta)

    def _preheader(self, candidates: list[str]) -> str:
        low, high = pf.EMAIL_PREHEADER_RANGE
        fits = _chars(high)
        pad = self.phrase("preheader_pad")
        for text in candidates:
            short = fit.shorten(text, fits)
            if char_count(short) >= low:
                return short
        own, spares = phrases(self.doc.language, "preheader_pad", self.tone)
        pads = [p for p in (pad, *own, *spares) if p and self.allowed(p)]
        text = candidates[0] if candidates else ""
        for extra in dict.fromkeys(pads):
            text = fit.shorten(fit.join([text, extra], self.cjk), fits)
            if char_count(text) >= low:
                break
        return text

    # --- repair -------------------------------------------------------------------------------

    def clean(self, text: str) -> str:
        """``text`` without the sentences that break a quality rule."""
        lines = []
        for line in text.split("\n"):
            kept = [s for s in _SENTENCE_SPLIT.split(line) if s.strip() and self.allowed(s)]
            lines.append(" ".join(kept))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    def fresh(self, platform: Platform) -> PlatformOutput:
        return _Writer(self.doc, self.tone, self.ctx, (), self.style).write(platform)

    def repair(self, previous: PlatformOutput) -> PlatformOutput | None:
        """Fix ``previous`` by dropping and trimming; None when nothing usable is left."""
        if isinstance(previous, TwitterOutput):
            return self._repair_twitter(previous)
        if isinstance(previous, ThreadsOutput):
            return self._repair_threads(previous)
        if isinstance(previous, LinkedInOutput):
            return self._repair_linkedin(previous)
        if isinstance(previous, InstagramOutput):
            return self._repair_instagram(previous)
        if isinstance(previous, TikTokOutput):
            return self._repair_tiktok(previous)
        return self._repair_email(previous)

    def _repair_twitter(self, o: TwitterOutput) -> TwitterOutput | None:
        def fits(text: str) -> bool:
            return x_weighted_length("999/ " + text) <= pf.X_MAX_WEIGHTED

        posts: list[str] = []
        for post in o.thread:
            text = self.clean(strip_thread_numbering(post))
            posts.extend([text] if fits(text) else fit.split_to_fit(text, fits))
        posts = _unique(posts)
        if not posts:
            return None
        thread = [f"{i}/ {p}" for i, p in enumerate(posts, 1)]
        return TwitterOutput(thread=thread, hashtags=self.fix_tags(o.hashtags, 0, 2))

    def _repair_threads(self, o: ThreadsOutput) -> ThreadsOutput | None:
        fits = _chars(pf.THREADS_MAX_CHARS)
        posts: list[str] = []
        for post in o.posts:
            text = _HASHTAG_LIKE.sub(r"\1", self.clean(post))
            posts.extend([text] if fits(text) else fit.split_to_fit(text, fits))
        posts = _unique(posts)
        if not posts:
            return None
        tag = (o.topic_tag or "").lstrip("#")
        good = bool(re.fullmatch(r"[^\W_][\w]*", tag)) and self.allowed("#" + tag)
        topic = tag if good else (self.tags[0].lstrip("#") if self.tags else None)
        return ThreadsOutput(posts=posts, topic_tag=topic)

    def _repair_linkedin(self, o: LinkedInOutput) -> LinkedInOutput | None:
        fresh = self.fresh(Platform.LINKEDIN)
        assert isinstance(fresh, LinkedInOutput)
        hook = fit.shorten(self.clean(o.opening_hook), _chars(200)) or fresh.opening_hook
        body = self.clean(o.post.replace(o.opening_hook, "", 1) if o.opening_hook else o.post)
        body = "\n".join(
            line for line in body.split("\n") if not re.fullmatch(r"(?:#\S+\s*)+", line.strip())
        ).strip()
        tags = self.fix_tags(o.hashtags, 3, 5)
        cta = self.clean(o.cta) or fresh.cta
        tag_line = " ".join(tags)
        room = pf.LINKEDIN_MAX_CHARS - char_count(hook) - char_count(tag_line) - 4
        paragraphs = [p for p in body.split("\n\n") if p.strip()]
        while paragraphs and char_count("\n\n".join(paragraphs)) > room:
            paragraphs.pop()
        post = "\n\n".join([hook, *paragraphs, tag_line])
        return LinkedInOutput(post=post, opening_hook=hook, cta=cta, hashtags=tags)

    def _repair_instagram(self, o: InstagramOutput) -> InstagramOutput | None:
        cap = _clamp(self.ctx.instagram_hashtag_cap, 0, pf.INSTAGRAM_HARD_HASHTAG_CAP)
        tags = self.fix_tags(o.hashtags, 0, cap)
        tag_room = char_count(" ".join(tags)) + 2 if tags else 0
        caption = self.clean(o.caption)
        if not caption:
            return None
        caption = fit.shorten(caption, _chars(pf.INSTAGRAM_MAX_CAPTION - tag_room))
        slides = _unique(self.clean(s) for s in o.slides)[: pf.INSTAGRAM_MAX_SLIDES]
        return InstagramOutput(caption=caption, hashtags=tags, slides=slides)

    def _repair_tiktok(self, o: TikTokOutput) -> TikTokOutput | None:
        fresh = self.fresh(Platform.TIKTOK)
        assert isinstance(fresh, TikTokOutput)
        hooks = _unique([*(self.clean(h) for h in o.hooks), *fresh.hooks])[:3]
        points = _unique([*hooks, *(self.clean(p) for p in o.talking_points)])[len(hooks) :]
        if len(points) < 3:
            points = _unique([*hooks, *points, *fresh.talking_points])[len(hooks) :]
        if len(points) < 3:
            points = self._stretch_points(points, hooks)
        cta = self.clean(o.cta) or fresh.cta
        tags = self.fix_tags(o.hashtags, 0, 5)
        return TikTokOutput(hooks=hooks, talking_points=points[:5], cta=cta, hashtags=tags)

    def _repair_email(self, o: PlatformOutput) -> EmailOutput | None:
        assert isinstance(o, EmailOutput)
        fresh = self.fresh(Platform.EMAIL)
        assert isinstance(fresh, EmailOutput)
        subject = fit.shorten(self.clean(o.subject), _chars(pf.EMAIL_MAX_SUBJECT))
        low, high = pf.EMAIL_PREHEADER_RANGE
        preheader = self.clean(o.preheader)
        if not low <= char_count(preheader) <= high:
            preheader = self._preheader([preheader] if preheader else []) if preheader else ""
        if not low <= char_count(preheader) <= high:
            preheader = fresh.preheader
        return EmailOutput(
            subject=subject or fresh.subject,
            preheader=preheader,
            body_markdown=self.clean(o.body_markdown) or fresh.body_markdown,
            cta=self.clean(o.cta) or fresh.cta,
        )


# Words yake ranks high in many texts that make limp hashtags on their own.
_EVERYDAY_WORDS = frozenset(
    {
        "minute",
        "minutes",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "time",
        "times",
        "run",
        "runs",
        "running",
        "thing",
        "things",
        "way",
        "ways",
        "people",
        "person",
        "lot",
        "part",
        "parts",
        "point",
        "points",
        "small",
        "big",
        "slow",
        "fast",
        "good",
        "bad",
        "new",
        "old",
        "first",
        "last",
        "next",
        "waiting",
        "wait",
        "make",
        "made",
        "take",
        "took",
        "get",
        "got",
        "need",
        "needs",
        "want",
        "change",
        "changes",
        "cost",
        "costs",
        "number",
        "numbers",
        "today",
        "work",
        "works",
        "start",
        "end",
        "half",
        "fix",
        "count",
        "step",
        "steps",
        "job",
        "jobs",
        "idea",
        "ideas",
        "example",
        "examples",
        "yesterday",
        "tomorrow",
        "started",
        "ago",
        "single",
        "honestly",
        "really",
        "actually",
        "side",
        "back",
    }
)


def _not_question(s: Sentence) -> bool:
    return not s.text.rstrip().endswith(("?", "？"))


def _unique_tags(tags: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for tag in tags:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    return out
