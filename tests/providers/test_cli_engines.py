"""The model engines from the command line, as a person with a key drives them: a
stand-in provider on 127.0.0.1 reached through the SDKs' own *_BASE_URL variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repurposeflow.domain.enums import Platform
from repurposeflow.entrypoints.cli import main
from tests.providers.stand_in import StandIn, serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "blog-post.md"
KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
BASES = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(home))
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    for var in ("DATABASE_URL", "ENGINE", "MODEL", "BASE_URL", "PRICES", "TIER"):
        monkeypatch.delenv(f"REPURPOSEFLOW_{var}", raising=False)
    for var in (*KEYS.values(), *BASES.values()):
        monkeypatch.delenv(var, raising=False)
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def used(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(capsys, "usage")
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith("Used:"))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_repurpose_through_a_provider_then_show_tokens_and_cost(
    provider, home, capsys, monkeypatch
):
    stand_in = StandIn(provider)
    server, base_url = serve(stand_in)
    try:
        monkeypatch.setenv(KEYS[provider], "sk-test-not-a-real-key")
        monkeypatch.setenv(BASES[provider], base_url if provider == "openai" else base_url[:-3])
        code, out, err = run(capsys, "repurpose", str(EXAMPLE), "--engine", provider, "-f", "json")
        assert code == 0, err
    finally:
        server.shutdown()
    gen = json.loads(out)
    assert gen["status"] == "completed"
    assert set(gen["outputs"]) == {p.value for p in Platform}
    assert gen["engine"] == provider
    usage = gen["usage"]
    assert usage["input_tokens"] > usage["cached_input_tokens"] > 0
    assert usage["estimated_cost_usd"] is not None and float(usage["estimated_cost_usd"]) > 0
    assert sum(stand_in.calls.values()) == 7
    assert used(capsys) == "Used: 1 of 10 this month"

    code, _, err = run(capsys, "show", gen["id"])
    assert code == 0
    assert f"{provider} {gen['model']}:" in err
    assert f"{usage['cached_input_tokens']:,} cached" in err
    assert "$" in err


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_missing_key_is_one_line_and_exit_2_before_any_charge(provider, home, capsys):
    code, out, err = run(capsys, "repurpose", str(EXAMPLE), "--engine", provider)
    assert code == 2
    assert KEYS[provider] in err and err.count("\n") == 1
    assert out == ""
    assert used(capsys) == "Used: 0 of 10 this month"


def test_dry_run_prints_the_estimate_and_charges_nothing(home, capsys):
    code, out, err = run(
        capsys, "repurpose", str(EXAMPLE), "--engine", "anthropic", "--dry-run", "-f", "json"
    )
    assert code == 0, err
    estimate = json.loads(out)
    assert [c["call"] for c in estimate["calls"]] == ["analyze", *(p.value for p in Platform)]
    assert estimate["model"] == "claude-sonnet-5-5"
    first, *renders = estimate["calls"]
    assert first["cache_write_tokens"] > 0 and first["cached_input_tokens"] == 0
    assert all(r["cached_input_tokens"] == first["cache_write_tokens"] for r in renders)
    assert float(estimate["total"]["estimated_cost_usd"]) > 0
    assert not (home / "repurposeflow.db").exists()  # nothing was even opened

    code, out, _ = run(capsys, "repurpose", str(EXAMPLE), "--engine", "openai", "--dry-run")
    assert code == 0 and "nothing was called" in out and "total" in out
    assert used(capsys) == "Used: 0 of 10 this month"


def test_dry_run_with_an_unpriced_model_says_unknown(home, capsys):
    code, out, _ = run(
        capsys, "repurpose", str(EXAMPLE), "-e", "openai", "-m", "my-finetune", "--dry-run"
    )
    assert code == 0
    assert "unknown" in out and "$0.0000" not in out


def test_a_model_of_the_other_provider_is_refused(home, capsys):
    code, _, err = run(
        capsys, "repurpose", str(EXAMPLE), "-e", "openai", "-m", "claude-sonnet-5-5", "--dry-run"
    )
    assert code == 2 and "claude-sonnet-5-5" in err and "--engine anthropic" in err


def test_model_with_the_local_engine_is_refused(home, capsys):
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "--model", "gpt-5.6-terra")
    assert code == 2 and "--model is for the model engines" in err


def test_engines_lists_defaults_keys_and_prices(home, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    code, out, _ = run(capsys, "engines")
    assert code == 0
    flat = " ".join(out.split())
    assert "gpt-5.6-terra" in flat and "claude-sonnet-5-5" in flat
    assert "missing: set OPENAI_API_KEY" in flat
    assert "2.50" in flat


def test_a_price_file_of_ones_own_prices_a_model(home, capsys, tmp_path, monkeypatch):
    prices = tmp_path / "prices.toml"
    prices.write_text('[openai.models."my-finetune"]\ninput = 1\ncached_input = 0.1\noutput = 2\n')
    monkeypatch.setenv("REPURPOSEFLOW_PRICES", str(prices))
    code, out, _ = run(
        capsys,
        "repurpose",
        str(EXAMPLE),
        "-e",
        "openai",
        "-m",
        "my-finetune",
        "--dry-run",
        "-f",
        "json",
    )
    assert code == 0
    assert json.loads(out)["total"]["estimated_cost_usd"] is not None

    prices.write_text('[openai.models."my-finetune"]\ninput = "lots"\n')
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "-e", "openai", "--dry-run")
    assert code == 2 and "needs cached_input, output" in " ".join(err.split())
