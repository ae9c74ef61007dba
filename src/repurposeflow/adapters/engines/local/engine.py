"""The local engine: offline, deterministic, no key, no model download.

``analyze`` reads the source once (markup stripped, sentences by pysbd, keywords by
yake, sentences ranked by keyword coverage, claim wording, position and length with
near-duplicates removed) and returns a brief. ``render`` builds one platform's post from
the source's own best sentences, arranged per platform and tone with a few hand-written
openers and calls to action. Facts therefore stay grounded: every number and link shown
was in the source. Each output is checked against the domain validators before it
leaves; a repair request (``RenderRequest.previous``) is fixed by trimming and dropping,
not by starting over, and only falls back to a fresh render when the fix cannot be made.

Thread safety: renders share nothing mutable but the engine's document cache, which
locks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from repurposeflow.adapters.engines.local import (
    email,
    instagram,
    linkedin,
    threads,
    tiktok,
    twitter,
)
from repurposeflow.adapters.engines.local.document import Document, DocumentCache
from repurposeflow.adapters.engines.local.phrases import has_tone_phrases, language_name
from repurposeflow.adapters.engines.local.style import style_of
from repurposeflow.adapters.engines.local.writer import Writer
from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import TokenUsage
from repurposeflow.domain.platforms import PlatformOutput
from repurposeflow.domain.validation import ValidationContext, validate

MODEL = "local-extractive-1"

# Each platform module writes its output from a Writer and repairs its own outputs.
_WRITE: dict[Platform, Callable[[Writer], PlatformOutput]] = {
    Platform.TIKTOK: tiktok.write,
    Platform.TWITTER: twitter.write,
    Platform.THREADS: threads.write,
    Platform.LINKEDIN: linkedin.write,
    Platform.INSTAGRAM: instagram.write,
    Platform.EMAIL: email.write,
}
_REPAIR: dict[Platform, Callable[[Writer, Any], PlatformOutput | None]] = {
    Platform.TIKTOK: tiktok.repair,
    Platform.TWITTER: twitter.repair,
    Platform.THREADS: threads.repair,
    Platform.LINKEDIN: linkedin.repair,
    Platform.INSTAGRAM: instagram.repair,
    Platform.EMAIL: email.repair,
}


class LocalEngine:
    """``ContentEngine`` that needs nothing but the source text."""

    name = "local"

    def __init__(self, model: str = MODEL) -> None:
        self._model = model
        self._documents = DocumentCache()

    @property
    def model(self) -> str:
        return self._model

    def read(self, source: str) -> Document:
        """What the engine learned from ``source`` (analysed once, then cached)."""
        return self._documents.get(source)

    def analyze(self, source: str, tone: Tone) -> Analysis:
        doc = self.read(source)
        writer = Writer(doc, Tone(tone), ValidationContext.for_user(source), doc.keywords)
        notes: tuple[str, ...] = ()
        # Conversational is the default, so only a tone someone chose deserves the note.
        if Tone(tone) is not Tone.CONVERSATIONAL and not has_tone_phrases(doc.language, tone):
            language = language_name(doc.language)
            notes = (
                f"the local engine has no {Tone(tone).value} phrases for {language}; the "
                "tone changes which sentences are picked, not the engine's own lines",
            )
        return Analysis(writer.brief(), TokenUsage(), self._model, notes)

    def render(self, request: RenderRequest) -> PlatformDraft:
        ctx = ValidationContext.for_user(
            request.source, request.voice.banned_phrases, request.voice.instagram_hashtag_cap
        )
        doc = self.read(request.source)
        keywords = tuple(request.brief.keywords) or doc.keywords
        style = style_of(tuple(request.voice.sample_posts))
        writer = Writer(doc, Tone(request.tone), ctx, keywords, style)
        platform = Platform(request.platform)
        previous = request.previous
        if previous is not None and previous.platform is platform:
            fixed = _REPAIR[platform](writer, previous)
            if fixed is not None and not validate(fixed, ctx):
                return PlatformDraft(fixed, TokenUsage(), self._model)
        output = _WRITE[platform](writer)
        if validate(output, ctx):
            # A belt-and-braces pass: the writers aim to be valid, the fixer makes sure.
            fixed = _REPAIR[platform](writer, output)
            if fixed is not None and not validate(fixed, ctx):
                output = fixed
        return PlatformDraft(output, TokenUsage(), self._model)
