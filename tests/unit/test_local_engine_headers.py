"""A text that opens with mail or package-metadata headers (a saved newsletter, a
package's METADATA): the headers are metadata, not prose; the Subject is the title."""

from __future__ import annotations

from repurposeflow.adapters.engines.local import LocalEngine
from repurposeflow.adapters.engines.local.markup import read_markup
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import VoiceSettings

BODY = (
    "We moved our whole onboarding to email last spring. Signups did not drop, and the "
    "support queue got shorter within a month.\n\n"
    "The trick was small: one message a day, each with a single thing to try. People "
    "answered the emails, and those answers became our next product changes.\n\n"
    "If you run a small product, start with the one step new users skip most often."
)

NEWSLETTER = (
    "From: Dana Example <dana@example.com>\n"
    "To: readers@example.com\n"
    "Subject: Why we moved onboarding to email\n"
    "Date: Tue, 3 Nov 2026 09:00:00 +0000\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n" + BODY
)


def test_mail_headers_are_read_as_metadata_with_the_subject_as_title():
    markup = read_markup(NEWSLETTER)
    assert markup.title == "Why we moved onboarding to email"
    prose = " ".join(b.text for b in markup.blocks)
    assert "dana@example.com" not in prose and "Content-Type" not in prose
    assert prose.startswith("We moved our whole onboarding")


def test_no_output_carries_a_header_line():
    engine = LocalEngine()
    brief = engine.analyze(NEWSLETTER, Tone.CONVERSATIONAL).brief
    for platform in Platform:
        request = RenderRequest(NEWSLETTER, brief, platform, Tone.CONVERSATIONAL, VoiceSettings())
        for text in engine.render(request).output.texts():
            for header in ("From:", "To:", "Date:", "Content-Type", "dana@example.com"):
                assert header not in text, (platform, text)


def test_a_first_paragraph_of_labelled_lines_stays_prose():
    text = "Note: this is the first thing to know.\nTip: start small and ship.\n\n" + BODY
    markup = read_markup(text)
    assert markup.title is None
    assert "start small and ship" in " ".join(b.text for b in markup.blocks)
