"""Whatever text a person pastes, and whatever their sample posts, every platform the
local engine renders validates."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from repurposeflow.adapters.engines.local import LocalEngine
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.model import VoiceSettings
from repurposeflow.domain.text import check_input
from repurposeflow.domain.validation import DEFAULT_BANNED_PHRASES, ValidationContext, validate

WORDS = [
    "the",
    "team",
    "shipped",
    "a",
    "small",
    "change",
    "and",
    "measured",
    "what",
    "happened",
    "next",
    "week",
    "because",
    "customers",
    "asked",
    "for",
    "faster",
    "pages",
    "we",
    "cut",
    "costs",
    "learned",
    "wrote",
    "tested",
    "deployed",
    "users",
    "growth",
    "pricing",
    "onboarding",
    "feedback",
    "quietly",
    "honestly",
    "really",
    "data",
    "report",
]
ODD = [
    "🚀", "🎉", "👩‍💻", "東京", "人工知能", "データ", "café", "naïve", "Straße", "¿qué?",
    "https://example.com/a?b=1", "www.example.org", "#launch", "@maria", "3.5x", "1,200",
    "42%", "2026", "e.g.", "Dr.", "U.S.", "—", "(see below)", '"quoted"', "don't",
    "TODO", "{{name}}", "delve", "game-changer", "[insert link]",
]  # fmt: skip

word = st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD))
sentence = st.builds(
    lambda words, end: " ".join(words)[:1].upper() + " ".join(words)[1:] + end,
    st.lists(word, min_size=1, max_size=24),
    st.sampled_from([".", "!", "?", "", "。", "…"]),
)
CJK_CHARS = list("在宅勤務時間仕事自由会社東京データ开始工作我们一个")
cjk_sentence = st.builds(
    lambda chars, end: "".join(chars) + end,
    st.lists(st.sampled_from(CJK_CHARS), min_size=4, max_size=40),
    st.sampled_from(["。", "！", "？"]),
)
paragraph = st.lists(st.one_of(sentence, sentence, cjk_sentence), min_size=1, max_size=6).map(
    " ".join
)
block = st.one_of(
    paragraph,
    paragraph,
    paragraph.map(lambda p: "## " + p[:60]),
    st.lists(sentence, min_size=1, max_size=4).map(
        lambda items: "\n".join(f"- {i}" for i in items)
    ),
    paragraph.map(lambda p: f"```\n{p}\n```"),
    paragraph.map(lambda p: f"<p>{p}</p>"),
)
document = st.lists(block, min_size=1, max_size=8).map("\n\n".join)

ENGINE = LocalEngine()


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=document,
    tone=st.sampled_from(list(Tone)),
    banned=st.lists(st.sampled_from(WORDS), max_size=4),
    cap=st.integers(min_value=0, max_value=30),
    samples=st.lists(st.one_of(sentence, paragraph), max_size=3),
)
def test_every_platform_output_validates(
    text: str, tone: Tone, banned: list[str], cap: int, samples: list[str]
) -> None:
    try:
        source = check_input(text)
    except InvalidInput:
        return  # rejected before any engine sees it, as the service does
    voice = VoiceSettings(
        banned_phrases=tuple(banned), instagram_hashtag_cap=cap, sample_posts=tuple(samples)
    )
    ctx = ValidationContext.for_user(source, voice.banned_phrases, cap)
    assert ctx.banned_phrases[: len(DEFAULT_BANNED_PHRASES)] == DEFAULT_BANNED_PHRASES
    brief = ENGINE.analyze(source, tone).brief
    for platform in Platform:
        output = ENGINE.render(RenderRequest(source, brief, platform, tone, voice)).output
        assert validate(output, ctx) == [], (platform, output)
