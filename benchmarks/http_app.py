"""``repurposeflow serve``'s app with the instant scripted engine, for the HTTP figures
(a test engine is never reachable by name from the CLI, so the benchmark wires it in as
a host would): ``uvicorn benchmarks.http_app:app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.bootstrap import (
    bootstrap,
    build_content_engine,
    load_http_settings,
    load_settings,
)
from repurposeflow.domain.ports import ContentEngine
from repurposeflow.entrypoints.http.app import create_app


def _engines(name: str) -> ContentEngine:
    return ScriptedEngine() if name == "scripted" else build_content_engine(name)


def app() -> FastAPI:
    wired = bootstrap(load_settings(known_engines=("scripted",)))
    wired.engine_factory = _engines
    return create_app(wired, load_http_settings())
