"""GET /v1/engines and POST /v1/estimates: the engines this server offers, and what a
generation would cost before it runs (the CLI's --dry-run figures; no call, no charge)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from fastapi.testclient import TestClient

from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.bootstrap import estimate_cost, price_catalogue
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import VoiceSettings
from repurposeflow.entrypoints.http import create_app
from tests.http.conftest import ARTICLE, auth, http_settings, make_app

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a network connection fails the test: estimates call nobody."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an estimate opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def _engines(client: TestClient) -> dict[str, Any]:
    answer = client.get("/v1/engines", headers=auth("ana"))
    assert answer.status_code == 200, answer.text
    return {e["name"]: e for e in answer.json()["engines"]}


def _estimate(client: TestClient, **body: Any) -> Any:
    return client.post("/v1/estimates", json={"text": ARTICLE, **body}, headers=auth("ana"))


def test_engines_list_models_prices_and_what_is_missing(client: TestClient) -> None:
    engines = _engines(client)
    assert next(iter(engines)) == "scripted"  # the server's own engine first
    assert engines["scripted"]["default"] is True
    local = engines["local"]
    assert local["kind"] == "local" and local["available"] is True
    assert local["models"] == [] and local["unavailable_reason"] is None
    catalogue = price_catalogue(make_app(MemoryStore().uow).settings)
    for name, key in (("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")):
        engine = engines[name]
        assert engine["kind"] == "model" and engine["default"] is False
        assert engine["available"] is False
        assert engine["unavailable_reason"] == f"set {key} on the server"
        assert engine["model"] == catalogue.default_model(name)
        priced = {m["name"]: m for m in engine["models"]}
        assert set(priced) == set(catalogue.models[name])
        for model, price in catalogue.models[name].items():
            row = priced[model]
            # Strings, exactly as the price table has them: money is never a float.
            assert Decimal(row["input"]) == price.input and isinstance(row["input"], str)
            assert Decimal(row["output"]) == price.output
            assert Decimal(row["cached_input"]) == price.cached_input
            expected_write = None if price.cache_write is None else str(price.cache_write)
            assert row["cache_write"] == expected_write


def test_an_engine_is_available_once_its_key_is_set(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "   ")  # blank is not a key
    engines = _engines(client)
    assert engines["openai"]["available"] is True
    assert engines["openai"]["unavailable_reason"] is None
    assert engines["anthropic"]["available"] is False


def test_the_configured_model_belongs_to_the_configured_engine_only() -> None:
    app = make_app(MemoryStore().uow)
    app.settings = attrs.evolve(app.settings, engine="openai", model="gpt-5.6-luna")
    app.engine_factory = None
    with TestClient(create_app(app, http_settings())) as client:
        engines = _engines(client)
        assert list(engines) == ["openai", "local", "anthropic"]
        assert engines["openai"]["default"] is True
        assert engines["openai"]["model"] == "gpt-5.6-luna"
        assert engines["anthropic"]["model"] == "claude-sonnet-5-5"
        assert _estimate(client, engine="openai").json()["model"] == "gpt-5.6-luna"
        assert _estimate(client, engine="anthropic").json()["model"] == "claude-sonnet-5-5"


def test_engines_and_estimates_need_a_session(client: TestClient) -> None:
    for answer in (
        client.get("/v1/engines"),
        client.post("/v1/estimates", json={"text": ARTICLE, "engine": "local"}),
    ):
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_model_estimate_is_the_dry_run_and_costs_nothing(
    client: TestClient, memory_app: Any, offline: None
) -> None:
    answer = _estimate(client, engine="openai", platforms=["x", "email"], tone="educational")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = estimate_cost(
        attrs.evolve(memory_app.settings, engine="openai"),
        ARTICLE,
        (Platform.TWITTER, Platform.EMAIL),
        Tone.EDUCATIONAL,
        voice=VoiceSettings(),
    )
    assert body["engine"] == "openai" and body["model"] == expected.model
    assert body["counted_with"] == expected.counter
    assert [c["call"] for c in body["calls"]] == ["analyze", "twitter", "email"]
    for row, call in zip(body["calls"], expected.calls, strict=True):
        assert row["input_tokens"] == call.usage.input_tokens
        assert row["output_tokens"] == call.usage.output_tokens
        assert Decimal(row["estimated_cost_usd"]) == call.usage.cost_usd
    total = body["total"]
    assert Decimal(total["estimated_cost_usd"]) == expected.total.cost_usd > 0
    assert total["input_tokens"] == sum(c["input_tokens"] for c in body["calls"])
    assert body["charged"] is False
    assert "no model was called" in body["note"]
    # No key was needed, nothing was stored or charged.
    usage = client.get("/v1/usage", headers=auth("ana")).json()
    assert usage["used"] == 0
    assert client.get("/v1/generations", headers=auth("ana")).json()["items"] == []


def test_all_six_platforms_and_the_persons_own_tone_by_default(
    client: TestClient, memory_app: Any
) -> None:
    client.patch("/v1/me", json={"default_tone": "opinionated"}, headers=auth("ana"))
    body = _estimate(client, engine="anthropic").json()
    assert [c["call"] for c in body["calls"]] == ["analyze", *(p.value for p in Platform)]
    expected = estimate_cost(
        attrs.evolve(memory_app.settings, engine="anthropic"),
        ARTICLE,
        tuple(Platform),
        Tone.OPINIONATED,
        voice=VoiceSettings(default_tone=Tone.OPINIONATED),
    )
    assert Decimal(body["total"]["estimated_cost_usd"]) == expected.total.cost_usd


def test_an_unpriced_model_is_unknown_never_zero(client: TestClient) -> None:
    body = _estimate(client, engine="anthropic", model="claude-from-the-future").json()
    assert body["model"] == "claude-from-the-future"
    assert body["total"]["estimated_cost_usd"] is None
    assert all(c["estimated_cost_usd"] is None for c in body["calls"])
    assert body["total"]["input_tokens"] > 0
    assert "unknown" in body["note"]


def test_the_local_engine_costs_zero_with_a_note(client: TestClient) -> None:
    for name in ("local", "LOCAL ", "scripted"):
        body = _estimate(client, engine=name).json()
        assert body["total"]["estimated_cost_usd"] == "0"
        assert body["calls"] == [] and body["counted_with"] is None
        assert "costs no tokens" in body["note"]
    assert _estimate(client, engine="local").json()["model"] == "local-extractive-1"


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        ({"engine": "gemini"}, 422, "invalid-input", "Unknown engine 'gemini'"),
        ({"engine": "openai", "text": ""}, 422, "empty-input", "empty"),
        ({"engine": "openai", "text": "two words"}, 422, "invalid-input", "too short"),
        ({"engine": "openai", "text": "word " * 50_000}, 413, "input-too-large", "limit"),
        (
            {"engine": "anthropic", "model": "gpt-5.6-luna"},
            422,
            "invalid-input",
            "model of the openai engine",
        ),
        ({"engine": "local", "model": "gpt-5.6-luna"}, 422, "invalid-input", "model engines"),
        ({"engine": "openai", "platforms": []}, 422, "invalid-request", "platforms"),
        ({"engine": "openai", "platforms": ["myspace"]}, 422, "invalid-request", "platforms"),
        ({"engine": "openai", "tone": "grumpy"}, 422, "invalid-request", "tone"),
        ({"engine": "openai", "charge": True}, 422, "invalid-request", "charge"),
        ({}, 422, "invalid-request", "engine"),
    ],
)
def test_bad_input_is_a_problem_like_everywhere_else(
    client: TestClient, body: dict[str, Any], status: int, code: str, says: str
) -> None:
    answer = _estimate(client, **body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == code and problem["status"] == status
    assert says in problem["detail"]
    assert problem["instance"] == "/v1/estimates"
