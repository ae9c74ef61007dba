"""Token cost per six-platform generation, through the real prompt builders
(``adapters.engines.estimate.estimate_generation``: tiktoken counts, the provider's
prompt cache applied per the price table), against the naive way: the same seven calls
with the whole prompt (the full source included) billed uncached in every call.

The figure is billed input tokens per generation, a cached token counted at its price
relative to an uncached one (a cache read at 0.1 of the input price is 0.1 token);
output tokens are the same both ways and are left out of the ratio but not out of the
dollars per 1,000 generations, given per provider and model in the note. Inputs: the
example post, the fixtures of 600+ words, articles of ~3,000 and ~10,000 words."""

from __future__ import annotations

import statistics
from decimal import Decimal
from pathlib import Path

from benchmarks.engine import long_article
from benchmarks.report import Figure, Target, not_measured

ROOT = Path(__file__).resolve().parents[1]
MIN_WORDS = 600


def long_inputs() -> dict[str, str]:
    candidates = [ROOT / "examples" / "blog-post.md"]
    candidates += sorted((ROOT / "tests" / "fixtures" / "inputs").glob("*"))
    inputs = {}
    for path in candidates:
        text = path.read_text(encoding="utf-8")
        if len(text.split()) >= MIN_WORDS:
            inputs[path.name] = text
    inputs["3,000-word article"] = long_article(3_000)
    inputs["10,000-word article"] = long_article(10_000)
    return inputs


def token_cost(*, quick: bool) -> list[Figure]:
    try:
        from repurposeflow.adapters.engines.estimate import estimate_generation
        from repurposeflow.adapters.engines.pricing import load_catalogue
        from repurposeflow.domain.model import TokenUsage
    except ImportError as exc:
        return [not_measured("token cost", f"the model engines are not here yet ({exc})")]

    catalogue = load_catalogue()
    inputs = long_inputs()
    figures = []
    for provider in ("openai", "anthropic"):
        models = list(catalogue.models.get(provider, {}))
        default = catalogue.default_model(provider)
        if quick:
            models = [default]
        for model in models:
            price = catalogue.price(provider, model)
            if price is None:
                continue
            billed: list[float] = []
            naive: list[float] = []
            usd: list[Decimal] = []
            usd_naive: list[Decimal] = []
            for text in inputs.values():
                estimate = estimate_generation(text, provider=provider, model=model)
                total = estimate.total
                plain = TokenUsage(
                    input_tokens=total.input_tokens, output_tokens=total.output_tokens
                )
                cost, cost_naive = price.cost(total), price.cost(plain)
                output_usd = Decimal(total.output_tokens) * price.output / Decimal(1_000_000)
                # Dollars of input over the price of one uncached input token.
                billed.append(float((cost - output_usd) * Decimal(1_000_000) / price.input))
                naive.append(float(total.input_tokens))
                usd.append(cost)
                usd_naive.append(cost_naive)
            row = {
                "billed_input_tokens": statistics.mean(billed),
                "naive_input_tokens": statistics.mean(naive),
                "usd_per_1000": float(statistics.mean(usd)) * 1000,
                "naive_usd_per_1000": float(statistics.mean(usd_naive)) * 1000,
            }
            figures.append(
                Figure(
                    f"billed input tokens/generation, {provider} {model}",
                    row["billed_input_tokens"],
                    "tokens",
                    row["naive_input_tokens"],
                    "naive: every call uncached",
                    Target("<=", 0.4),
                    note=(
                        f"${row['usd_per_1000']:.2f} per 1,000 generations vs "
                        f"${row['naive_usd_per_1000']:.2f} naive (outputs included); "
                        f"{len(inputs)} long inputs"
                        + (", default model" if model == default else "")
                    ),
                    details=row,
                )
            )
    return figures
