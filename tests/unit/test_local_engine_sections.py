"""A project page's frame is not its content: support, licence and contribution sections
never feed a post, and the first line under the title ("This is the core framework…")
names the project instead of being dropped as a sentence that leans back."""

from __future__ import annotations

import pytest

from repurposeflow.adapters.engines.local import LocalEngine
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import VoiceSettings

PAGE = """# quillkit - A small library for parsing recipe cards

This is the parser behind three cooking apps and a community archive of old recipes.

## Why it exists

Recipe cards mix quantities, steps and notes in one block of text. quillkit splits
them into ingredients and steps, keeps the author's wording, and flags lines it could
not read instead of guessing.

## {heading}

Open Collective is an online funding platform for open and transparent communities.
It is the platform of choice for individuals and companies that want to make donations.
"""

HEADINGS = ["Support quillkit", "Sponsors", "License", "Contributing", "Acknowledgements"]


def texts(source: str) -> list[str]:
    engine = LocalEngine()
    brief = engine.analyze(source, Tone.CONVERSATIONAL).brief
    out = [brief.core_message, *brief.key_points]
    for platform in Platform:
        request = RenderRequest(source, brief, platform, Tone.CONVERSATIONAL, VoiceSettings())
        out += engine.render(request).output.texts()
    return out


@pytest.mark.parametrize("heading", HEADINGS)
def test_a_support_or_licence_section_never_feeds_a_post(heading):
    for text in texts(PAGE.format(heading=heading)):
        assert "Open Collective" not in text and "donations" not in text, text


def test_the_line_under_the_title_names_the_project():
    said = texts(PAGE.format(heading="Support quillkit"))
    assert any(t.startswith("quillkit is the parser behind three cooking apps") for t in said), said
    assert not any(t.startswith("This is the parser") for t in said)
