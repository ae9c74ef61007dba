"""The page as a creator uses it: paste, generate, watch six cards arrive, edit past a
limit, copy, regenerate, open history, run out of quota. Chromium via Playwright."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from repurposeflow.adapters.engines.scripted import ScriptedEngine
from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from tests.browser.conftest import LiveServer, shoot

ARTICLE = (
    "# Why we stopped shipping on Fridays\n\n"
    "For two years our team deployed whenever a change was ready, including Friday "
    "afternoons. Most of our worst incidents started on a Friday, when the people who knew "
    "the change were already gone for the weekend. We moved releases to Tuesday and "
    "Wednesday mornings. The change was small, but our weekends became quiet again and "
    "the team stopped dreading on-call."
)
PLATFORMS = ("tiktok", "twitter", "threads", "linkedin", "instagram", "email")


def generate(page: Page, server: LiveServer, text: str = ARTICLE) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Your long piece").fill(text)
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#status")).to_have_text("All done.")


def test_paste_generate_and_six_cards_arrive(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    expect(page.get_by_text("0 of 10 used")).to_be_visible()
    shoot(page, "empty")
    page.get_by_label("Your long piece").fill(ARTICLE)
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#status")).to_have_text("All done.")
    for platform in PLATFORMS:
        card = page.locator(f'[data-platform="{platform}"]')
        expect(card.locator(".state")).to_have_text("Ready")
    # Each card in its platform's shape.
    expect(page.locator('[data-platform="twitter"] ol.posts li')).to_have_count(3)
    expect(page.locator('[data-platform="linkedin"] .fold-preview')).to_be_visible()
    expect(page.get_by_role("textbox", name="Subject")).to_be_visible()
    expect(page.get_by_role("textbox", name="Preheader")).to_be_visible()
    expect(
        page.locator('[data-platform="tiktok"]').get_by_role("textbox", name="Hook 1")
    ).to_be_visible()
    # Counts come from the server's validator: X counts weighted characters.
    expect(page.locator('[data-platform="twitter"] [data-count="thread.0"]')).to_contain_text(
        "/ 280 weighted"
    )
    expect(page.get_by_text("1 of 10 used")).to_be_visible()
    assert "/g/" in page.url
    shoot(page, "generated")


def test_editing_past_the_limit_shows_the_violation(page: Page, live_server: LiveServer) -> None:
    generate(page, live_server)
    post = page.locator('[data-platform="twitter"]').get_by_role("textbox", name="Post 1")
    # 150 CJK characters weigh 300 on X: over the limit though only 150 characters long.
    post.fill("漢" * 150)
    count = page.locator('[data-platform="twitter"] [data-count="thread.0"]')
    expect(count).to_have_text("300 / 280 weighted")
    expect(count).to_have_class("count over")
    expect(page.locator('[data-platform="twitter"] .violations')).to_contain_text(
        "X post 1 is 300 weighted chars (max 280)"
    )
    shoot(page, "violation")
    post.fill("Short again.")
    expect(count).to_have_text("12 / 280 weighted")
    expect(page.locator('[data-platform="twitter"] .violations')).to_be_hidden()


def test_copy_one_post_and_a_whole_platform(page: Page, live_server: LiveServer) -> None:
    generate(page, live_server)
    card = page.locator('[data-platform="threads"]')
    first = card.get_by_role("textbox", name="Post 1").input_value()
    card.get_by_role("button", name="Copy Post 1").click()
    assert page.evaluate("navigator.clipboard.readText()") == first
    card.get_by_role("button", name="Copy all").click()
    whole = page.evaluate("navigator.clipboard.readText()")
    assert whole.startswith(first) and "\n\n" in whole


def test_regenerate_one_platform_is_free(page: Page, live_server: LiveServer) -> None:
    generate(page, live_server)
    expect(page.get_by_text("1 of 10 used")).to_be_visible()
    page.locator('[data-platform="email"]').get_by_role("button", name="Regenerate (free)").click()
    expect(page.locator("#status")).to_have_text("Written again, free of charge.")
    expect(page.locator('[data-platform="email"] .state')).to_have_text("Ready")
    page.reload()
    expect(page.get_by_text("1 of 10 used")).to_be_visible()


def test_history_lists_and_opens_a_generation(page: Page, live_server: LiveServer) -> None:
    generate(page, live_server)
    generated_url = page.url
    page.goto(live_server.url + "/")
    item = page.locator("#history-list a").first
    expect(item).to_contain_text("completed")
    item.click()
    expect(page.locator('[data-platform="twitter"] .state')).to_have_text("Ready")
    assert page.url == generated_url
    shoot(page, "history")


def test_quota_runs_out_and_the_page_says_when_it_resets(
    page: Page, live_server: LiveServer
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        for i in range(10):
            answer = api.post(
                "/v1/generations",
                json={"content": f"{ARTICLE}\n\nVariant number {i}.", "platforms": ["email"]},
                headers={"Prefer": "wait=20"},
            )
            assert answer.status_code in (200, 202), answer.text
    page.goto(live_server.url + "/")
    expect(page.get_by_text("10 of 10 used")).to_be_visible()
    page.get_by_label("Your long piece").fill(ARTICLE + "\n\nOne more.")
    page.get_by_role("button", name="Generate").click()
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("You have used 10 of 10 generations")
    expect(notice).to_contain_text("Your quota resets on")
    shoot(page, "quota")


def test_bad_input_is_explained_and_costs_nothing(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_have_text("Paste your text or choose a file first.")
    page.get_by_label("Your long piece").fill("Too short")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page.get_by_text("0 of 10 used")).to_be_visible()


def test_keyboard_alone_generates(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Keyboard users write long posts too. " * 8)
    page.get_by_role("button", name="Generate").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("All done.")


class HeldEmailEngine(ScriptedEngine):
    """Analysis waits until the page follows the generation (``following``), so no progress
    is sent before it listens; the email render then waits for ``release``."""

    def __init__(self) -> None:
        super().__init__(latency=0.5)
        self.following = threading.Event()
        self.release = threading.Event()

    def analyze(self, source: str, tone: Tone) -> Analysis:
        self.following.wait(timeout=30)
        return super().analyze(source, tone)

    def render(self, request: RenderRequest) -> PlatformDraft:
        if request.platform is Platform.EMAIL:
            self.release.wait(timeout=30)
        return super().render(request)


class TestCardsArriveOneByOne:
    """Each card fills from its platform's ``rendered`` event, not when the slowest one ends;
    an edit made to an early card survives the final state."""

    @pytest.fixture
    def engine(self) -> Iterator[HeldEmailEngine]:
        held = HeldEmailEngine()
        yield held
        held.following.set()  # never leave a render waiting when the test fails early
        held.release.set()

    def _wait_until_followed(self, page: Page, server: LiveServer) -> uuid.UUID:
        page.wait_for_url("**/g/*")
        gen_id = uuid.UUID(page.url.rsplit("/g/", 1)[1])
        deadline = time.monotonic() + 15
        while server.hub.subscribers(gen_id) == 0:
            assert time.monotonic() < deadline, "the page never followed the generation"
            time.sleep(0.02)
        return gen_id

    def test_twitter_is_ready_and_editable_while_email_is_still_writing(
        self, page: Page, live_server: LiveServer, engine: HeldEmailEngine
    ) -> None:
        page.goto(live_server.url + "/")
        page.get_by_label("Your long piece").fill(ARTICLE)
        page.get_by_role("button", name="Generate").click()
        self._wait_until_followed(page, live_server)
        engine.following.set()

        twitter = page.locator('[data-platform="twitter"]')
        email = page.locator('[data-platform="email"]')
        expect(twitter.locator(".state")).to_have_text("Ready")
        expect(email.locator(".state")).not_to_have_text("Ready")
        expect(email).to_have_attribute("aria-busy", "true")
        expect(page.locator("#status")).not_to_have_text("All done.")
        # Regenerating waits for the whole generation, even on a card that is ready.
        regenerate = twitter.get_by_role("button", name="Regenerate (free)")
        expect(regenerate).to_be_disabled()
        expect(email.get_by_role("button", name="Regenerate (free)")).to_be_disabled()
        # The early card is a working card: the server's validator counts it.
        expect(twitter.locator('[data-count="thread.0"]')).to_contain_text("/ 280 weighted")

        edited = "1/ Edited while the email was still being written."
        post = twitter.get_by_role("textbox", name="Post 1")
        post.fill(edited)
        expect(twitter.locator('[data-count="thread.0"]')).to_have_text(
            f"{len(edited)} / 280 weighted"
        )
        shoot(page, "one-by-one")

        engine.release.set()
        expect(page.locator("#status")).to_have_text("All done.")
        expect(email.locator(".state")).to_have_text("Ready")
        expect(page.get_by_role("textbox", name="Subject")).to_be_visible()
        # The final state did not redraw the twitter card over the edit.
        expect(post).to_have_value(edited)
        expect(regenerate).to_be_enabled()
        for platform in PLATFORMS:
            expect(page.locator(f'[data-platform="{platform}"] .state')).to_have_text("Ready")
