"""What a content engine hands back and what it is asked: the values that cross the
``ContentEngine`` port, and the price table engines cost their tokens with."""

from __future__ import annotations

from decimal import Decimal

import attrs

from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import Brief, TokenUsage, VoiceSettings
from repurposeflow.domain.platforms import PlatformOutput


@attrs.frozen
class Analysis:
    brief: Brief
    usage: TokenUsage
    model: str
    # What the person should know about how their request was read, said once per run
    # (e.g. "no opinionated phrases in Spanish"); never an error.
    notes: tuple[str, ...] = ()


@attrs.frozen
class PlatformDraft:
    output: PlatformOutput
    usage: TokenUsage
    model: str

    @property
    def platform(self) -> Platform:
        return self.output.platform


@attrs.frozen
class RenderRequest:
    """Everything one platform render needs. Engines put ``source`` and ``brief`` (shared
    by every platform) first in their prompts and the platform part last, so provider
    prompt caches hit."""

    source: str
    brief: Brief
    platform: Platform
    tone: Tone
    voice: VoiceSettings = attrs.field(factory=VoiceSettings)
    # The previous attempt and what was wrong with it: a repair, not a fresh render.
    previous: PlatformOutput | None = None
    violations: tuple[str, ...] = ()
    # A previous answer that could not even be read as this platform's output (broken
    # JSON, a refusal): what the model said, so its repair can be shown it.
    previous_raw: str | None = None


@attrs.frozen
class Price:
    """USD per million tokens: fresh input, input read from the prompt cache, input
    written to it, and output."""

    input: Decimal
    cached_input: Decimal
    output: Decimal
    cache_write: Decimal | None = None  # None: writing costs what fresh input costs

    def cost(self, usage: TokenUsage) -> Decimal:
        """The exact dollars of ``usage`` at these prices (Decimal: no float drift in a
        bill summed over millions of calls)."""
        write = self.input if self.cache_write is None else self.cache_write
        micro = (
            Decimal(usage.uncached_input_tokens) * self.input
            + Decimal(usage.cached_input_tokens) * self.cached_input
            + Decimal(usage.cache_write_tokens) * write
            + Decimal(usage.output_tokens) * self.output
        )
        return micro / MILLION


MILLION = Decimal(1_000_000)
