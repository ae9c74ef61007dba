"""A real server on 127.0.0.1 (SQLite, the scripted engine, one development user) and
Debian's Chromium driven by Playwright: the page as a person uses it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from repurposeflow.adapters.clock import SystemClock
from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.bootstrap import App, HttpSettings, build_stores, load_settings
from repurposeflow.entrypoints.http import create_app
from repurposeflow.entrypoints.http.progress import ProgressHub

SCREENSHOTS = Path(os.environ.get("REPURPOSEFLOW_SCREENSHOTS", "out/screenshots"))
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str:
    for path in (os.environ.get("REPURPOSEFLOW_CHROMIUM"), *CHROMIUM_PATHS):
        if path and Path(path).exists():
            return path
    found = shutil.which("chromium")
    if found:
        return found
    # Not a skip: .ci/run installs Debian's chromium, and a page nobody tested is no page.
    pytest.fail("Debian's chromium is not installed: apt-get install chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, app: App, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        settings = HttpSettings(
            dev_user="me", rate_limit_ip="100000/minute", rate_limit_user="100000/minute"
        )
        self.api = create_app(app, settings)
        config = uvicorn.Config(self.api, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def hub(self) -> ProgressHub:
        """Who is following which generation (the page, once it has subscribed)."""
        hub: ProgressHub = self.api.state.repurposeflow.hub
        return hub

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def engine() -> ScriptedEngine:
    """The engine the live server runs; a test (class) overrides it to script timing."""
    # A little latency, so per-platform progress is something a person would see.
    return ScriptedEngine(latency=0.15)


@pytest.fixture
def live_server(tmp_path: Path, engine: ScriptedEngine) -> Iterator[LiveServer]:
    stores = build_stores(f"sqlite:///{tmp_path / 'page.db'}")
    app = App(
        settings=load_settings(
            env={},
            database_url=f"sqlite:///{tmp_path / 'page.db'}",
            engine="scripted",
            known_engines=("scripted",),
        ),
        uow_factory=stores.system,
        clock=SystemClock(),
        engine_factory=lambda name: engine,
        user_uow_factory=stores.per_user,
        readiness=stores.readiness,
    )
    with LiveServer(app, _free_port()) as server:
        yield server


# Module-scoped, not session: while Playwright's sync API is open, the main thread has a
# running event loop, and later tests that call asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(params=[(1280, 900), (375, 812)], ids=["desktop", "phone"])
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shoot(page: Page, name: str) -> None:
    """Screenshots of the main states, kept by CI as artifacts (out/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
