"""The prompts both model engines send: the rules the validators judge by are the rules
the model is told, and the schemas are the domain's types."""

from __future__ import annotations

import attrs

from repurposeflow.adapters.engines import prompting
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import Brief, VoiceSettings
from repurposeflow.domain.platforms import OUTPUT_TYPES
from repurposeflow.domain.validation import DEFAULT_BANNED_PHRASES

BRIEF = Brief("One idea.", ("A point.",), "topic", "creators", ("word",))


def request(platform: Platform, **kw: object) -> RenderRequest:
    voice = VoiceSettings(banned_phrases=("synergy",), sample_posts=("My old post.",))
    return RenderRequest("The source.", BRIEF, platform, Tone.EDUCATIONAL, voice, **kw)  # type: ignore[arg-type]


def test_the_model_is_told_every_phrase_the_validators_ban():
    for phrase in DEFAULT_BANNED_PHRASES:
        assert f'"{phrase}"' in prompting.SYSTEM


def test_a_persons_own_voice_reaches_every_render_after_the_shared_part():
    task = prompting.render_task(request(Platform.THREADS))
    assert '"synergy"' in task
    assert "My old post." in task and "Never copy them" in task
    shared = prompting.render_prompt(request(Platform.THREADS)).shared
    assert "synergy" not in shared  # the shared, cached part is the same for everyone


def test_each_platform_schema_is_its_domain_type():
    for platform, cls in OUTPUT_TYPES.items():
        schema = prompting.platform_schema(platform)
        names = {f.name for f in attrs.fields(cls)} - {"tweet_count"}
        assert set(schema["properties"]) == names


def test_the_envelope_holds_the_brief_and_six_platforms_each_nullable():
    schema = prompting.answer_schema()
    assert set(schema["properties"]) == {"brief", *(p.value for p in Platform)}
    for part in schema["properties"].values():
        assert {"type": "null"} in part["anyOf"]


def test_a_repair_shows_the_previous_answer_and_every_violation():
    first = request(Platform.EMAIL)
    repair = attrs.evolve(first, previous_raw="{broken", violations=("a", "b"))
    task = prompting.render_task(repair)
    assert "{broken" in task and "- a\n- b" in task
    assert prompting.render_task(first).count("rejected") == 0


def test_the_instagram_hashtag_cap_is_the_persons():
    voice = VoiceSettings(instagram_hashtag_cap=3)
    req = RenderRequest("s", BRIEF, Platform.INSTAGRAM, Tone.CONVERSATIONAL, voice)
    assert "at most 3 tags" in prompting.render_task(req)
