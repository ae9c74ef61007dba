"""The price table and the cost preview: exact money from the file, one's own prices laid
over it, defaults the installed SDK knows, and an estimate built from the real prompts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from repurposeflow.adapters.engines import estimate as est
from repurposeflow.adapters.engines import prompting
from repurposeflow.adapters.engines.pricing import load_catalogue, sdk_models
from repurposeflow.domain.enums import Platform
from repurposeflow.domain.errors import InvalidInput
from tests.unit._services_support import SOURCE


def test_the_shipped_table_prices_each_default_and_the_sdk_knows_it():
    catalogue = load_catalogue()
    for provider in ("openai", "anthropic"):
        model = catalogue.default_model(provider)
        assert catalogue.price(provider, model) is not None
        assert model in sdk_models(provider)


def test_a_float_price_in_ones_own_file_is_read_exactly(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[openai.models."tuned"]\ninput = 0.1\ncached_input = 0.01\noutput = 0.3\n')
    price = load_catalogue(path).price("openai", "tuned")
    assert price is not None
    assert price.input == Decimal("0.1") and price.output == Decimal("0.3")
    # The shipped models are still there underneath.
    assert load_catalogue(path).price("openai", "gpt-5.6-terra") is not None


def test_a_default_the_sdk_does_not_know_is_skipped(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[openai]\npreferred = ["gpt-retired-2019", "gpt-5.6-luna"]\n')
    assert load_catalogue(path).default_model("openai") == "gpt-5.6-luna"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[openai.models."m"]\ninput = -1\ncached_input = 0\noutput = 1\n', "0 or more"),
        ('[openai.models."m"]\ninput = "nan"\ncached_input = 0\noutput = 1\n', "0 or more"),
        ('[openai.models."m"]\ninput = 1\n', "needs cached_input, output"),
        ('[openai.models."m"]\ninput = 1\ncached_input = 0\noutput = 1\nfee = 2\n', "fee"),
        ("[mistral]\n", "unknown provider"),
        ("[openai\n", "not valid TOML"),
    ],
)
def test_a_bad_price_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        load_catalogue(path)


def test_a_missing_price_file_is_named(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_catalogue(tmp_path / "nope.toml")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_estimate_counts_the_prompts_the_engines_send(provider):
    estimate = est.estimate_generation(SOURCE * 40, provider=provider)
    assert [c.name for c in estimate.calls] == ["analyze", *(p.value for p in Platform)]
    schema = prompting.answer_schema()
    shared = prompting.analyze_prompt(SOURCE * 40, "conversational").shared
    assert estimate.calls[0].usage.input_tokens > est.approximate_tokens(shared)
    first, *renders = estimate.calls
    assert first.usage.cached_input_tokens == 0
    assert {r.usage.cached_input_tokens for r in renders} == {
        est.approximate_tokens(json.dumps(schema, separators=(",", ":")))
        + est.approximate_tokens(shared)
    }
    writes = first.usage.cache_write_tokens
    assert (writes > 0) == (provider == "anthropic")  # OpenAI bills no cache write
    price = load_catalogue().price(provider, estimate.model)
    assert price is not None
    assert estimate.total.cost_usd == sum((price.cost(c.usage) for c in estimate.calls), Decimal(0))


def test_the_estimate_of_an_unpriced_model_is_unknown():
    estimate = est.estimate_generation(SOURCE, provider="openai", model="my-own-model")
    assert estimate.total.cost_usd is None
    assert "unknown" in est.dollars(None)


def test_counting_never_downloads_a_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # an empty cache
    est._o200k.cache_clear()
    try:
        name, encoding = est.counter_for("openai")
    finally:
        est._o200k.cache_clear()
    assert encoding is None and "estimated" in name


def test_cjk_text_counts_a_token_per_character():
    assert est.approximate_tokens("日本語のテキスト") == 8
    assert est.approximate_tokens("abcdefgh") == 2
