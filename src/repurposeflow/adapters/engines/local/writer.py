"""The shared core of every platform writer: which source sentences to use (picking,
with their neighbours), how to pack them, the engine's own few lines, and hashtags.

A ``Writer`` holds one render's worth of choices (which sentences are used already), so
each render gets its own; the platform modules (``tiktok``, ``twitter``, …) shape its
picks into their posts and repair their own outputs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence

from repurposeflow.adapters.engines.local import fit
from repurposeflow.adapters.engines.local.document import Document
from repurposeflow.adapters.engines.local.phrases import phrases
from repurposeflow.adapters.engines.local.ranking import leans_back
from repurposeflow.adapters.engines.local.sentences import Sentence, unbalanced
from repurposeflow.adapters.engines.local.style import Style
from repurposeflow.adapters.engines.local.words import (
    EVERYDAY_WORDS,
    FUNCTION_WORDS,
    GENERIC_TAGS,
    PAST_EN,
    SECTION_WORDS,
)
from repurposeflow.domain.enums import Tone
from repurposeflow.domain.measure import char_count
from repurposeflow.domain.model import Brief
from repurposeflow.domain.validation import (
    ValidationContext,
    banned_phrase_pattern,
    is_hashtag,
    leaks_in,
    repeat_key,
    ungrounded_facts,
)

Fits = Callable[[str], bool]

_C, _E, _O, _A = Tone.CONVERSATIONAL, Tone.EDUCATIONAL, Tone.OPINIONATED, Tone.AUTHORITY

# Sentences that suit a tone get a nudge up the ranking, so tones differ in substance,
# not only in their openers.
_TONE_CUES: dict[Tone, re.Pattern[str]] = {
    _C: re.compile(
        r"(?i)\b(?:i|we|you|my|our|your|me|us|yo|nosotros|mi|tu|ich|wir|du|mein|unser|"
        r"je|nous|tu|mon|notre|votre)\b|私|我"
    ),
    _E: re.compile(
        r"(?i)\b(?:how|why|because|step|first|example|means|when|if|cómo|por qué|porque|"
        r"ejemplo|wie|warum|weil|beispiel|comment|pourquoi|parce que|exemple)\b|なぜ|ため|因为|如何"
    ),
    _O: re.compile(
        r"(?i)\b(?:should|must|never|always|not|wrong|better|worse|stop|don't|matters?|"
        r"point|luxury|cheap(?:er|est)?|nunca|siempre|debes?|mejor|peor|no es|nie|immer|"
        r"muss|sollte|besser|nicht|jamais|toujours|doit|mieux|pas)\b|べき|必要|必须|不要|应该"
    ),
    # Authority: figures, and the author's rules and findings stated outright.
    _A: re.compile(
        r"\d|(?i:\bthe (?:fix|key|rule|answer|lesson|result|data|evidence|problem)\b|"
        r"\b(?:every|only|most|all) \w+s\b)"
    ),
}
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+")
_AUDIENCE = re.compile(
    r"(?i)\b(?:for|if you(?:'re| are)(?: an?)?)\s+((?:[a-z-]+\s){0,2}"
    r"(?:engineers|developers|founders|teams|managers|writers|designers|marketers|"
    r"creators|students|teachers|parents|leaders|freelancers|owners|researchers|"
    r"nurses|doctors|coaches|consultants|programmers|startups|beginners))\b"
)
# "The Slow Growth Letter, issue 41: why we stopped…": the first part names the
# publication, the second says what this one is about.
_DESIGNATION = re.compile(r"(?i)\b(?:issue|episode|ep\.?|vol\.?|volume|no\.|part)\s*\d+|#\d+")
_TITLE_SPLIT = re.compile(r"\s*(?::|\s[—–|]\s)\s*")
_TONE_NUDGE = 0.15
# "These cards…", "this one…" early in a sentence: it points at something said before,
# so it cannot open a post, however well it ranks.
_POINTS_BACK = re.compile(
    r"(?i)^(?:\S+\s+){0,5}?(?:(?:this|these|those|such)\s+(?!is\b|was\b|are\b|were\b|"
    r"means?\b|will\b|year\b|week\b|month\b|morning\b|time\b|post\b|guide\b)[a-z]+|"
    r"(?:eso|esto|ello|dies|dieses|diese|cela|ça)\b)"
    # "The fix is…" answers a problem named before it.
    r"|(?i:^the (?:fix|answer|solution|problem|reason|result|difference|catch) (?:is|was)\b)"
)
# Infinitives and past forms make limp tags in Spanish and French ("#dejar", "#aprendí").
_VERB_ENDINGS = {"es": ("ar", "er", "ir", "í", "é", "ó"), "fr": ("er", "ir", "é")}


key = repeat_key


def unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        item = item.strip()
        k = key(item)
        if not item or (k and k in seen):
            continue
        seen.add(k)
        out.append(item)
    return out


def unique_tags(tags: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for tag in tags:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    return out


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


# The brief's own sizes (not a platform's limits): a core message or key point is one
# sentence of at most a tweet's length, a topic a short title.
BRIEF_SENTENCE_CHARS = 280
TOPIC_CHARS = 100
TOPIC_FROM_CORE_CHARS = 60


def chars(limit: int) -> Fits:
    return lambda text: char_count(text) <= limit


# "…hooks end that ritual": "that" pointing at a thing named earlier. Not after verbs of
# saying and knowing ("shows that it…"), nor before a pronoun or a verb.
_THAT_AFTER = frozenset(
    ["know", "knew", "think", "thought", "say", "says", "said", "mean", "means", "meant",
     "show", "shows", "showed", "ensure", "sure", "so", "such", "realize", "realized",
     "found", "find", "hope", "believe", "than", "now", "is", "was", "are", "were",
     "assume", "assumed", "decided", "learned", "notice", "noticed", "feel", "felt",
     "fact", "idea", "and", "but", "or", "because", "check", "checks", "prove", "proves",
     "given", "except", "way", "things", "something", "anything", "everything", "one",
     "ones", "all", "those", "people", "tell", "told", "agree", "note"]
)  # fmt: skip
_THAT_BEFORE = frozenset(
    ["i", "you", "we", "they", "he", "she", "it", "there", "this", "the", "a", "an", "my",
     "your", "our", "their", "his", "her", "its", "is", "was", "are", "were", "will",
     "would", "can", "could", "should", "has", "have", "had", "does", "did", "do", "much",
     "many", "far", "long", "most", "some", "every", "no", "not", "nobody", "people",
     "someone", "everyone", "anyone", "what", "how", "if", "when", "in", "on", "of", "to"]
)  # fmt: skip


def _that_thing(text: str) -> bool:
    words = re.findall(r"[\w'’]+", text.lower())[:8]
    for i in range(1, len(words) - 1):
        if (
            words[i] == "that"
            and words[i - 1] not in _THAT_AFTER
            and words[i + 1] not in _THAT_BEFORE
            and not words[i + 1].endswith(("ed", "s"))
        ):
            return True
    return False


def not_question(s: Sentence) -> bool:
    return not s.text.rstrip().endswith(("?", "？"))


class Writer:
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
        self.banned = banned_phrase_pattern(ctx.banned_phrases)
        self._allowed: dict[str, bool] = {}
        cue = _TONE_CUES[tone]
        allowed = [s for s in doc.ranked if self.allowed(s.text) and not unbalanced(s.text)]
        self.neutral = allowed
        # People who write short get the source's shorter sentences first.
        over = style.words_over if style is not None else lambda words: 0.0
        self.pool: list[Sentence] = sorted(
            allowed,
            key=lambda s: (
                -(s.score + (_TONE_NUDGE if cue.search(s.text) else 0) - 0.25 * over(s.words)),
                s.index,
            ),
        )
        self.tags = self._hashtags(keywords)
        self.position = {s.index: i for i, s in enumerate(doc.sentences)}

    def sibling(self) -> Writer:
        """A fresh writer for the same source, tone and person: nothing used yet."""
        return Writer(self.doc, self.tone, self.ctx, (), self.style)

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
        taken = {key(a) for a in avoid}
        for candidate in ordered:
            if key(candidate) not in taken and self.allowed(candidate):
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
        fits: Fits | None = None,
        where: Callable[[Sentence], bool] | None = None,
        spread: bool = False,
        pool: Sequence[Sentence] | None = None,
        lean_ok: bool = False,
    ) -> list[Sentence]:
        """The best unused sentences (up to ``count``) that fit, in reading order. With
        ``spread``, the best of each section comes first, so a post walks through the
        whole piece rather than dwelling on its best-scoring part. A sentence that leans
        on the one before it ("Instead, …", "These …") is not taken on its own unless
        ``lean_ok``: it comes in only behind the sentence it leans on."""
        chosen: list[Sentence] = []
        sections: set[int] = set()
        candidates = self.pool if pool is None else pool
        for crowded in (False, True) if spread else (True,):
            # Walking the sections visits their best lines, not a housekeeping list's.
            ranked = candidates if crowded else candidates[: max(12, 3 * count)]
            for s in ranked:
                if len(chosen) == count:
                    break
                if s.index in self.used or (where and not where(s)):
                    continue
                if not lean_ok and not self.opens(s):
                    continue
                if not crowded and s.section in sections:
                    continue
                if fits and not fits(s.text):
                    continue
                chosen.append(s)
                sections.add(s.section)
                self.used.add(s.index)
        return sorted(chosen, key=lambda s: s.index)

    def lead(self, fits: Fits, use_title: bool = False, neutral: bool = True) -> str:
        """The opening line: the title, or the piece's best sentence that fits whole
        (ranked without the tone's nudge unless ``neutral`` is False: a hook carries
        the point whatever the tone)."""
        pool = self.neutral if neutral else self.pool
        if use_title:
            headline = self.headline(fits)
            if headline:
                return headline
        low, high = (12, 70) if self.cjk else (6, 26)
        picked = (
            self.take(
                1,
                fits,
                where=lambda s: low <= s.words <= high and not_question(s) and self.opens(s),
                pool=pool,
            )
            or self.take(1, fits, where=lambda s: s.words >= low // 2, pool=pool)
            or self.take(1, fits, pool=pool)
        )
        if picked:
            return self.with_sequel(picked[0], fits)
        # Nothing fits whole: a clause of the best sentence, which reads as a sentence.
        for s in self.pool:
            if s.index not in self.used:
                for clause in fit.clauses(s.text):
                    if fits(clause) and self.allowed(clause) and not leans_back(clause):
                        self.used.add(s.index)
                        return clause
        return self.headline(fits) or self.phrase("last_resort")

    def opens(self, s: Sentence) -> bool:
        """Whether ``s`` can open a post: it neither leans on nor points back at what
        came before it."""
        return (
            not leans_back(s.text)
            and _POINTS_BACK.match(s.text) is None
            and not (self.doc.language == "en" and _that_thing(s.text))
        )

    def headline(self, fits: Fits) -> str:
        """The title, or the part of it that says what this piece is about, if it fits."""
        title = self.doc.title
        if not title or not self.allowed(title):
            return ""
        parts = [p for p in _TITLE_SPLIT.split(title) if p]
        if len(parts) > 1 and _DESIGNATION.search(parts[0]):
            rest = title[title.index(parts[1]) :]
            title = rest[:1].upper() + rest[1:]
            parts = parts[1:]
        if fits(title):
            return title
        for part in sorted(parts, key=len, reverse=True):
            if len(part.split()) >= 3 and fits(part):
                return part[:1].upper() + part[1:]
        return ""

    def steps(self, fits: Fits, commands: bool = True) -> str:
        """A how-to's steps as a numbered list under a short intro, if it has steps and
        they fit (without their commands, when only that fits)."""
        if not self.doc.steps:
            return ""
        intro = self.phrase("steps_intro")
        for with_commands in (True, False) if commands else (False,):
            items = [s if with_commands else s.split(": `")[0] for s in self.doc.steps]
            lines = [f"{i}. {item}" for i, item in enumerate(items, 1)]
            text = "\n".join([intro, *lines] if intro else lines)
            if fits(text) and all(self.allowed(item) for item in items):
                return text
        return ""

    def link_line(self, fits: Fits) -> str:
        """The main link as the source puts it ("The docs are at https://…") when that
        sentence fits, else introduced by the engine; empty when there is no link."""
        link = self.link()
        if not link:
            return ""
        for s in self.doc.sentences:
            if link in s.text and fits(s.text) and self.allowed(s.text) and self.opens(s):
                return s.text
        line = fit.join([self.phrase("link_intro"), link])
        return line if fits(line) else ""

    def link(self) -> str:
        """The piece's main link: the one that names its subject, else the first."""
        links = [u for u in self.doc.links if self.allowed(u)]
        if not links:
            return ""
        terms = {t for k in self.doc.keywords for t in re.findall(r"\w{4,}", k.lower())}
        terms |= set(re.findall(r"\w{4,}", (self.doc.title or "").lower()))
        return max(links, key=lambda u: (sum(t in u.lower() for t in terms), -links.index(u)))

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

    def with_sequel(self, s: Sentence, fits: Fits) -> str:
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
        """Hashtags from the topic's keywords: named in the title, or said in the prose
        (outside inline code) and named in a heading or repeated. Never a person's name,
        a piece of a phrase ("#HELL #YEAH", "#FridayRitual", "#edge" of "edge cases"), a
        section label ("#Installation", "#Usage"), a code word ("#True") or an everyday
        word; a multi-word tag only when the text uses the whole phrase more than once."""
        title = (self.doc.title or "").lower()
        headings = " ".join(self.doc.headings).lower()
        english = self.doc.language == "en"
        function_words = FUNCTION_WORDS.get(self.doc.language, frozenset())
        scored: list[tuple[float, str]] = []
        loose: list[str] = []
        lows = [k.lower() for k in keywords]
        for rank, keyword in enumerate(keywords):
            low = keyword.lower()
            tokens = low.replace("-", " ").split()
            if not tokens or any(t in self.doc.names for t in tokens):
                continue
            if all(t in EVERYDAY_WORDS or t in GENERIC_TAGS or t in SECTION_WORDS for t in tokens):
                continue
            if any(t in function_words for t in tokens):
                continue  # "#IN", "#OF": shouted licence text, or a phrase cut badly
            if english and (tokens[-1].endswith(("ed", "ly")) or tokens[-1] in PAST_EN):
                continue  # verbs and adverbs make odd tags ("#StartedTracking")
            verbs = _VERB_ENDINGS.get(self.doc.language)
            if verbs and len(tokens) == 1 and tokens[0].endswith(verbs):
                continue
            said = self.doc.occurrences(low)
            in_title = low in title and (
                self.cjk or bool(re.search(rf"(?<!\w)({re.escape(low)})(?!\w)", title))
            )
            if not said and not in_title:
                continue  # only a heading or code says it: a label, not the topic
            if self._fragment(low, said, lows):
                continue
            in_heading = low in headings
            phrase = len(tokens) > 1 and " " in low
            if phrase and said < 2:
                continue
            if not (in_title or in_heading or said >= 2):
                loose.append(keyword)
                continue
            score = rank - 4 * in_title - 2 * in_heading - min(said, 6) / 2
            score += 3 * any(t in EVERYDAY_WORDS or t in SECTION_WORDS for t in tokens)
            score += 4 * (english and tokens[-1].endswith("ing"))
            score -= 2 * (keyword.isupper() and len(keyword) > 1)
            scored.append((score, keyword))
        ranked = [k for _, k in sorted(scored, key=lambda item: item[0])]
        tags: list[str] = []
        seen: set[str] = set()
        for keyword in [*ranked, *loose]:
            tag = fit.to_hashtag(keyword)
            # "#alert" and "#alerts" are one tag.
            stem = tag.lower().rstrip("s") if tag else ""
            if not tag or stem in seen or not self.allowed(tag):
                continue
            seen.add(stem)
            tags.append(tag)
        if len(tags) < 3:
            # A note too short to repeat anything: the generic tags keep LinkedIn's
            # minimum of three (they are the last thing tried).
            fallback, spare = phrases(self.doc.language, "fallback_tag", self.tone)
            for tag in [*fallback, *spare]:
                if len(tags) >= 3:
                    break
                if tag.lower().rstrip("s") not in seen and self.allowed(tag):
                    seen.add(tag.lower().rstrip("s"))
                    tags.append(tag)
        return tags

    def _fragment(self, low: str, said: int, keywords: Sequence[str]) -> bool:
        """Whether the one word ``low`` is nearly always said as part of a longer
        keyword ("edge" of "edge cases"): the tag would be half a name."""
        if " " in low or self.cjk or not said:
            return False
        pattern = re.compile(rf"(?<!\w){re.escape(low)}(?!\w)")
        within = max(
            (self.doc.occurrences(k) for k in keywords if " " in k and pattern.search(k)),
            default=0,
        )
        return within >= 2 and within >= 0.8 * said

    def fix_tags(self, tags: Sequence[str], low: int, high: int) -> list[str]:
        good = [t for t in tags if is_hashtag(t) and self.allowed(t)]
        out = unique_tags(good)
        for tag in self.tags:
            if len(out) >= low:
                break
            if tag.lower() not in {t.lower() for t in out}:
                out.append(tag)
        return out[:high]

    def text_of(self, sentences: Iterable[Sentence]) -> list[str]:
        return [s.text for s in sentences]

    def body_size(self, per: int, low: int, high: int) -> int:
        return clamp(len(self.pool) // per, low, high)

    def uses_title(self) -> bool:
        return self.tone in (_E, _A)

    def pack(
        self,
        sentences: list[Sentence],
        fits: Fits,
        per_post: int,
        reach: int = 0,
    ) -> list[str]:
        """Sentences into posts: long ones split, near neighbours (within ``reach``
        paragraphs) share a post; sentences from far apart would read as a non sequitur."""
        posts: list[str] = []
        count = 0
        previous: Sentence | None = None
        for s in sentences:
            # A sentence too long for a post is left out, not cut: no post ends mid-way.
            pieces = [self.with_sequel(s, fits)] if fits(s.text) else []
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

    def prose(self, sentences: list[Sentence]) -> str:
        """Sentences as they stood: one paragraph per source paragraph."""
        paragraphs: list[list[str]] = []
        previous: Sentence | None = None
        for s in sentences:
            if previous is None or s.block != previous.block:
                paragraphs.append([])
            paragraphs[-1].append(s.text)
            previous = s
        return "\n\n".join(fit.join(p, self.cjk) for p in paragraphs)

    # --- the brief ------------------------------------------------------------------------

    def brief(self) -> Brief:
        # The author's main point is the same whatever tone the posts take.
        core = self.lead(chars(BRIEF_SENTENCE_CHARS), neutral=True)
        points = [
            fit.shorten(s.text, chars(BRIEF_SENTENCE_CHARS))
            for s in self.take(self.body_size(6, 3, 5), where=lambda s: s.words >= 4)
        ]
        title = self.doc.title
        if title:
            topic = fit.shorten(title, chars(TOPIC_CHARS))
        elif self.doc.keywords:
            topic = ", ".join(self.doc.keywords[:2])
        else:
            topic = fit.shorten(core, chars(TOPIC_FROM_CORE_CHARS))
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

    # --- repair -------------------------------------------------------------------------------

    def clean(self, text: str) -> str:
        """``text`` without the sentences that break a quality rule."""
        lines = []
        for line in text.split("\n"):
            kept = [s for s in _SENTENCE_SPLIT.split(line) if s.strip() and self.allowed(s)]
            lines.append(" ".join(kept))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
