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


@attrs.frozen
class Price:
    """USD per million tokens."""

    input: Decimal
    cached_input: Decimal
    output: Decimal
