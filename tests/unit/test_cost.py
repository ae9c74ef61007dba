"""Dollars from tokens: exact (Decimal), cache reads and writes at their own prices, and an
unknown price stays unknown through every sum."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from repurposeflow.domain.engine import Price
from repurposeflow.domain.model import TokenUsage

SONNET = Price(
    input=Decimal("2"),
    cached_input=Decimal("0.10"),
    output=Decimal("10"),
    cache_write=Decimal("2.50"),
)


def test_each_kind_of_input_token_is_billed_at_its_own_price():
    # 10,000 prompt tokens: 6,000 read from the cache, 1,000 written to it, 3,000 fresh.
    usage = TokenUsage(
        input_tokens=10_000, cached_input_tokens=6_000, cache_write_tokens=1_000, output_tokens=500
    )
    # 3,000 x $2 + 6,000 x $0.10 + 1,000 x $2.50 + 500 x $10, per million.
    # = (6,000 + 600 + 2,500 + 5,000) / 1,000,000
    assert SONNET.cost(usage) == Decimal("0.0141")


def test_a_price_without_a_cache_write_rate_bills_writes_as_fresh_input():
    price = Price(input=Decimal("2.50"), cached_input=Decimal("0.25"), output=Decimal("15"))
    usage = TokenUsage(input_tokens=2_000, cache_write_tokens=2_000)
    assert price.cost(usage) == Decimal("0.005")


def test_an_unknown_cost_is_never_summed_as_free():
    known = TokenUsage(input_tokens=10, cost_usd=Decimal("0.01"))
    unknown = TokenUsage(input_tokens=5, cost_usd=None)
    assert (known + unknown).cost_usd is None
    assert (unknown + known).input_tokens == 15
    assert (known + known).cost_usd == Decimal("0.02")


counts = st.integers(min_value=0, max_value=10**9)


@given(counts, counts, counts, counts)
def test_cost_is_additive_over_calls(a, b, c, d):
    first = TokenUsage(input_tokens=a + b, cached_input_tokens=b, output_tokens=c)
    second = TokenUsage(input_tokens=d, cache_write_tokens=d, output_tokens=a)
    assert SONNET.cost(first + second) == SONNET.cost(first) + SONNET.cost(second)
