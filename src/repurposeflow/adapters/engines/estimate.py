"""What a generation will cost before it runs: the real prompts of every call (the same
``prompting`` code the engines send), counted, with the provider's prompt cache applied
the way the price table bills it. No provider is called. ``repurpose --dry-run`` prints
it and the token-cost benchmark measures with it.

How tokens are counted, and what is estimated:
- OpenAI models: ``tiktoken``'s ``o200k_base`` when its encoding file is already on this
  machine (tiktoken downloads it on first use; this code never triggers a download, so a
  dry run works offline). Without it, and for Anthropic, whose tokenizer is not public:
  about 4 characters per token for text in Latin script, 1 token per CJK character or
  emoji. That is within ~15% on English prose; the note printed says which was used.
- The brief and the outputs do not exist yet: a brief is taken as ~250 tokens and each
  platform's answer at its typical size (``OUTPUT_TOKENS``), the envelope's nulls
  included. Thinking tokens, when a model thinks, are not in the estimate.
- Caching: the shared prefix (instructions, tone, fenced source, plus the answer schema
  that precedes it) is written by the analysis call and read by every render, when it is
  at least ``MIN_CACHEABLE`` tokens long (the providers' minimum). OpenAI bills no cache
  write; Anthropic bills it at its cache-write price.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs

from repurposeflow.adapters.engines import prompting
from repurposeflow.adapters.engines.pricing import Catalogue, load_catalogue
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import Brief, TokenUsage, VoiceSettings

MIN_CACHEABLE = 1024
BRIEF_TOKENS = 250
OUTPUT_TOKENS: dict[str, int] = {
    prompting.BRIEF_KEY: 300,
    Platform.TIKTOK.value: 350,
    Platform.TWITTER.value: 450,
    Platform.THREADS.value: 350,
    Platform.LINKEDIN.value: 500,
    Platform.INSTAGRAM.value: 450,
    Platform.EMAIL.value: 550,
}
# Framing the providers add per message and the envelope's null keys, per call.
OVERHEAD_TOKENS = 30

_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
_WIDE = re.compile(
    r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U0001f000-\U0001faff\U00020000-\U0003134f]"
)


@attrs.frozen
class CallEstimate:
    name: str  # "analyze" or a platform
    usage: TokenUsage


@attrs.frozen
class GenerationEstimate:
    provider: str
    model: str
    calls: tuple[CallEstimate, ...]
    counter: str  # how the tokens were counted, said with the figures

    @property
    def total(self) -> TokenUsage:
        usage = TokenUsage()
        for call in self.calls:
            usage += call.usage
        return usage


def _tiktoken_file_present() -> bool:
    """tiktoken's own cache path for the o200k file (see tiktoken.load): using it only
    when present keeps a dry run from reaching the network."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir == "":
        return False
    folder = Path(cache_dir or Path(tempfile.gettempdir()) / "data-gym-cache")
    return (folder / hashlib.sha1(_O200K_URL.encode()).hexdigest()).is_file()


@lru_cache(maxsize=1)
def _o200k() -> Any:
    if not _tiktoken_file_present():
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # a damaged cache file: fall back to the estimate
        return None


def approximate_tokens(text: str) -> int:
    """~4 characters per token in Latin script, one per CJK character or emoji."""
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / 4)


def counter_for(provider: str) -> tuple[str, Any]:
    if provider == "openai":
        encoding = _o200k()
        if encoding is not None:
            return "tiktoken o200k_base", encoding
    return "estimated at ~4 characters per token (see estimate.py)", None


def _count(text: str, encoding: Any) -> int:
    if encoding is None:
        return approximate_tokens(text)
    return len(encoding.encode(text, disallowed_special=()))


_PLACEHOLDER_BRIEF = Brief(
    core_message="x " * 20,
    key_points=tuple("x " * 30 for _ in range(5)),
    topic="x x x",
    audience="x x x",
    keywords=("x",) * 5,
)


def estimate_generation(
    text: str,
    *,
    provider: str,
    model: str | None = None,
    platforms: Sequence[Platform] | None = None,
    tone: Tone = Tone.CONVERSATIONAL,
    voice: VoiceSettings | None = None,
    catalogue: Catalogue | None = None,
) -> GenerationEstimate:
    """Every call of one generation (the analysis, then one render per platform), with
    the prompt cache applied; costs from the price table (None when unpriced)."""
    catalogue = catalogue or load_catalogue()
    model = model or catalogue.default_model(provider)
    price = catalogue.price(provider, model)
    counter, encoding = counter_for(provider)
    voice = voice or VoiceSettings()
    chosen = tuple(platforms or tuple(Platform))

    schema = json.dumps(prompting.answer_schema(), separators=(",", ":"))
    analyze = prompting.analyze_prompt(text, tone)
    prefix = _count(schema, encoding) + _count(analyze.shared, encoding)
    cacheable = prefix >= MIN_CACHEABLE
    writes = provider == "anthropic"  # OpenAI bills no cache write

    def call(name: str, task: str, first: bool) -> CallEstimate:
        own = _count(task, encoding) + OVERHEAD_TOKENS
        if name != "analyze":
            own += BRIEF_TOKENS - _count(prompting.brief_text(_PLACEHOLDER_BRIEF), encoding)
        usage = TokenUsage(
            input_tokens=prefix + max(own, 0),
            cached_input_tokens=prefix if cacheable and not first else 0,
            cache_write_tokens=prefix if cacheable and first and writes else 0,
            output_tokens=OUTPUT_TOKENS[name if name != "analyze" else prompting.BRIEF_KEY],
        )
        cost = price.cost(usage) if price is not None else None
        return CallEstimate(name, attrs.evolve(usage, cost_usd=cost))

    calls = [call("analyze", analyze.task, True)]
    for platform in chosen:
        request = RenderRequest(text, _PLACEHOLDER_BRIEF, platform, tone, voice)
        calls.append(call(platform.value, prompting.render_task(request), False))
    return GenerationEstimate(provider, model, tuple(calls), counter)


def dollars(value: Decimal | None) -> str:
    """A cost as a person reads it: unknown stays unknown."""
    if value is None:
        return "unknown (no price for this model; add one with the prices setting)"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"
