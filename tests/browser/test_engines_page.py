"""The engine picker: the engines from /v1/engines (those this server cannot run are
disabled with the key to set), and for a model engine its model and the estimated cost
from /v1/estimates, recounted as the text and platforms change. No model is called (a
dummy key makes the engine available; an estimate never uses it) and nothing is charged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, shoot
from tests.browser.test_page import ARTICLE

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live server runs in this process: its environment is this one's."""
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


def _estimate(server: LiveServer, **body: Any) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=30) as api:
        answer = api.post("/v1/estimates", json={"text": ARTICLE, **body})
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


def _open(page: Page, server: LiveServer) -> None:
    """The page, once /v1/engines has answered (the first answer in a process imports
    the SDKs for their model names: seconds on a busy machine)."""
    page.goto(server.url + "/")
    expect(page.locator('#engine option[value="openai"]')).not_to_have_text(
        "openai", timeout=90_000
    )


def _dollars(value: str) -> str:
    return f"${Decimal(value):.4f}"


def test_unavailable_engines_are_disabled_with_the_key_to_set(
    page: Page, live_server: LiveServer
) -> None:
    _open(page, live_server)
    picker = page.get_by_label("Engine")
    openai = picker.locator('option[value="openai"]')
    expect(openai).to_have_text("openai: unavailable, set OPENAI_API_KEY on the server")
    expect(openai).to_be_disabled()
    expect(picker.locator('option[value="anthropic"]')).to_contain_text(
        "set ANTHROPIC_API_KEY on the server"
    )
    expect(picker.locator('option[value="anthropic"]')).to_be_disabled()
    expect(picker.locator('option[value="local"]')).to_be_enabled()
    expect(picker).to_have_value("scripted")  # the server's engine
    expect(page.locator("#estimate")).to_have_text("Free: no tokens, no key, no charge.")
    picker.select_option("local")
    expect(page.locator("#engine-note")).to_have_text(
        "Writes from your own sentences, on this server."
    )
    shoot(page, "engines-unavailable")


def test_a_model_engine_shows_its_model_and_the_estimated_cost(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-never-used")
    _open(page, live_server)
    picker = page.get_by_label("Engine")
    expect(picker.locator('option[value="openai"]')).to_be_enabled()
    generate = page.get_by_role("button", name="Generate")
    before = generate.bounding_box()
    picker.select_option("openai")
    note = page.locator("#engine-note")
    line = page.locator("#estimate")
    expect(note).to_contain_text("Model gpt-5.6-terra")
    expect(note).to_contain_text("$2.50 in / $15.00 out per million tokens")
    expect(line).to_have_text(
        "Paste your text to see the estimated cost (no charge for the estimate)."
    )

    page.get_by_label("Your long piece").fill(ARTICLE)
    six = _estimate(live_server, engine="openai")
    expect(line).to_have_text(
        f"Estimated cost {_dollars(six['total']['estimated_cost_usd'])} for 6 platforms, "
        "7 calls · no charge for the estimate"
    )
    # Neither the note nor the estimate moved the form.
    assert generate.bounding_box() == before
    shoot(page, "estimate")

    # Fewer platforms, a new figure (debounced: one request for the change).
    page.get_by_label("Email").uncheck()
    page.get_by_label("TikTok").uncheck()
    four = _estimate(
        live_server, engine="openai", platforms=["twitter", "threads", "linkedin", "instagram"]
    )
    expect(line).to_have_text(
        f"Estimated cost {_dollars(four['total']['estimated_cost_usd'])} for 4 platforms, "
        "5 calls · no charge for the estimate"
    )
    # Estimates charge nothing.
    expect(page.get_by_text("0 of 10 used")).to_be_visible()
    # Back to an engine that runs here: free, and the form still in place.
    picker.select_option("local")
    expect(line).to_have_text("Free: no tokens, no key, no charge.")
    assert generate.bounding_box() == before


def test_the_engine_is_chosen_with_the_keyboard(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-dummy")
    _open(page, live_server)
    page.get_by_label("Your long piece").fill(ARTICLE)
    picker = page.get_by_label("Engine")
    expect(picker.locator('option[value="anthropic"]')).to_be_enabled()
    picker.focus()
    # scripted, local, openai (disabled: skipped), anthropic.
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(picker).to_have_value("anthropic")
    expect(page.locator("#engine-note")).to_contain_text("Model claude-sonnet-5-5")
    expect(page.locator("#estimate")).to_contain_text("for 6 platforms, 7 calls")
    expect(page.locator("#estimate")).to_contain_text("· no charge for the estimate")


def test_an_unpriced_model_costs_unknown_not_zero(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[anthropic]\npreferred = ["claude-not-in-the-table"]\n', encoding="utf-8")
    live_server.app.settings = attrs.evolve(live_server.app.settings, prices=prices)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-dummy")
    _open(page, live_server)
    page.get_by_label("Your long piece").fill(ARTICLE)
    page.get_by_label("Engine").select_option("anthropic")
    expect(page.locator("#engine-note")).to_have_text(
        "Model claude-not-in-the-table · no price in the server's table"
    )
    line = page.locator("#estimate")
    expect(line).to_have_text(
        "Estimated cost unknown (no price for claude-not-in-the-table) · 6 platforms, "
        "7 calls · no charge for the estimate"
    )
    expect(line).to_have_attribute("data-cost", "unknown")
    shoot(page, "estimate-unknown")


def test_a_bad_text_is_explained_in_the_estimate_line(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-never-used")
    _open(page, live_server)
    page.get_by_label("Engine").select_option("openai")
    page.get_by_label("Your long piece").fill("Too short")
    expect(page.locator("#estimate")).to_have_text(
        "No estimate yet: The input is too short to repurpose (fewer than 3 words)."
    )
    # The page's alert is for what the person asked for, not for a figure being counted.
    expect(page.get_by_role("alert")).to_be_hidden()
