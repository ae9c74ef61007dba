"""The local engine on varied real-world inputs: every platform and tone validates, the
output is deterministic and grounded, markup never leaks, repairs come back valid."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

from repurposeflow.adapters.engines.local import LocalEngine
from repurposeflow.adapters.engines.local.document import read_document
from repurposeflow.adapters.engines.local.markup import extract_blocks
from repurposeflow.adapters.engines.local.style import style_of
from repurposeflow.domain.engine import RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.measure import twitter_weighted_length
from repurposeflow.domain.model import Brief, VoiceSettings
from repurposeflow.domain.platforms import (
    EmailOutput,
    InstagramOutput,
    LinkedInOutput,
    PlatformOutput,
    ThreadsOutput,
    TikTokOutput,
    TwitterOutput,
)
from repurposeflow.domain.ports import ContentEngine
from repurposeflow.domain.text import check_input
from repurposeflow.domain.validation import ValidationContext, ungrounded_facts, validate

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "tests" / "fixtures" / "inputs"


def long_article(words: int = 10_000, seed: int = 11) -> str:
    """A deterministic ~10,000-word Markdown article: paragraphs of shuffled sentences
    from the English fixtures, with headings and the odd list."""
    pool: list[str] = []
    for path in [ROOT / "examples" / "blog-post.md", *sorted(INPUTS.glob("*.md"))]:
        for block in extract_blocks(path.read_text("utf-8")):
            if block.kind != "heading":
                pool.extend(s for s in re.split(r"(?<=[.!?])\s+", block.text) if len(s) > 30)
    pool = [s for s in pool if re.match(r"[A-Z]", s) and not re.search(r"[áéíóúñ¿]", s)]
    rng = random.Random(seed)
    parts = ["# Notes from a year of shipping software"]
    count = 0
    section = 0
    while count < words:
        if len(parts) % 9 == 1:
            section += 1
            parts.append(f"## Part {section}: {rng.choice(pool).split(',')[0].rstrip('.')}")
        if rng.random() < 0.1:
            items = rng.sample(pool, 3)
            parts.append("\n".join(f"- {item}" for item in items))
            count += sum(len(i.split()) for i in items)
            continue
        paragraph = " ".join(rng.sample(pool, rng.randint(3, 6)))
        parts.append(paragraph)
        count += len(paragraph.split())
    return "\n\n".join(parts)


def _load() -> dict[str, str]:
    inputs = {p.name: p.read_text("utf-8") for p in sorted(INPUTS.iterdir())}
    inputs["blog-post.md"] = (ROOT / "examples" / "blog-post.md").read_text("utf-8")
    inputs["long-article.md"] = long_article()
    return {name: check_input(text) for name, text in inputs.items()}


SOURCES = _load()
ENGINE = LocalEngine()


def _render_all(
    engine: ContentEngine, source: str, tone: Tone, voice: VoiceSettings | None = None
) -> dict[Platform, PlatformOutput]:
    brief = engine.analyze(source, tone).brief
    voice = voice or VoiceSettings()
    return {p: engine.render(RenderRequest(source, brief, p, tone, voice)).output for p in Platform}


_OUTPUTS: dict[tuple[str, Tone], dict[Platform, PlatformOutput]] = {}


def outputs(name: str, tone: Tone) -> dict[Platform, PlatformOutput]:
    if (name, tone) not in _OUTPUTS:
        _OUTPUTS[name, tone] = _render_all(ENGINE, SOURCES[name], tone)
    return _OUTPUTS[name, tone]


def _all_texts(output: PlatformOutput) -> list[str]:
    texts = list(output.texts())
    texts.extend(getattr(output, "hashtags", ()))
    if isinstance(output, ThreadsOutput) and output.topic_tag:
        texts.append(output.topic_tag)
    if isinstance(output, EmailOutput):
        texts.append(output.body_markdown)
    return texts


# --- every input, platform and tone ---------------------------------------------------------


@pytest.mark.parametrize("tone", list(Tone))
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_platform_output_validates(name: str, tone: Tone) -> None:
    ctx = ValidationContext.for_user(SOURCES[name])
    for platform, output in outputs(name, tone).items():
        assert validate(output, ctx) == [], (name, tone, platform, output)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_numbers_and_links_come_from_the_source(name: str) -> None:
    source = SOURCES[name]
    for tone in Tone:
        for output in outputs(name, tone).values():
            assert ungrounded_facts(_all_texts(output), source) == []


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_x_thread_is_numbered_distinct_and_within_weight(name: str) -> None:
    for tone in Tone:
        thread = outputs(name, tone)[Platform.TWITTER]
        assert isinstance(thread, TwitterOutput)
        assert len(thread.thread) >= 2
        bodies = [re.sub(r"^\d+/ ", "", post) for post in thread.thread]
        assert len({b.lower() for b in bodies}) == len(bodies)
        for i, post in enumerate(thread.thread, 1):
            assert post.startswith(f"{i}/ ")
            assert twitter_weighted_length(post) <= 280


def test_outputs_are_deterministic_across_engine_instances() -> None:
    for name in ["blog-post.md", "japanese.txt", "transcript.txt", "short-note.txt"]:
        source = SOURCES[name]
        for tone in (Tone.CONVERSATIONAL, Tone.AUTHORITY):
            first = _render_all(LocalEngine(), source, tone)
            # A new engine has a cold cache: it analyses the source from scratch.
            second = _render_all(LocalEngine(), source, tone)
            assert {p: o.to_dict() for p, o in first.items()} == {
                p: o.to_dict() for p, o in second.items()
            }


def test_tones_read_differently() -> None:
    threads = {tone: outputs("blog-post.md", tone)[Platform.TWITTER].thread for tone in Tone}
    assert len({t[0] for t in threads.values()}) == len(Tone)
    assert len({t[-1] for t in threads.values()}) == len(Tone)


# --- input cleaning -----------------------------------------------------------------------------


def _everything(name: str) -> str:
    return "\n".join(
        text
        for tone in Tone
        for output in outputs(name, tone).values()
        for text in _all_texts(output)
    )


def test_markdown_markup_code_images_and_link_targets_are_dropped() -> None:
    text = _everything("markdown-guide.md")
    for leftover in ["```", "def fermentation_hours", "![", "](", "<span", "images/loaf",
                     "kingarthurbaking", "**", "title: A practical", "| Temperature"]:  # fmt: skip
        assert leftover not in text
    blocks = " ".join(b.text for b in extract_blocks(SOURCES["markdown-guide.md"]))
    assert "King Arthur guide" in blocks
    assert "Let it cool for at least an hour" in blocks


def test_html_scripts_styles_navigation_and_code_are_dropped() -> None:
    text = _everything("html-article.html")
    for leftover in ["gtag", "font-family", "<p", "Home | Blog", "PostgreSQL for events",
                     "All rights reserved", "&rsquo;", "notebook.png"]:  # fmt: skip
        assert leftover not in text
    assert "decision records" in text


def test_bare_urls_in_prose_are_kept_and_link_syntax_is_not() -> None:
    blocks = " ".join(b.text for b in extract_blocks(SOURCES["urls-emoji.txt"]))
    assert "https://github.com/example/rf-cli/releases" in blocks
    html = " ".join(b.text for b in extract_blocks(SOURCES["html-article.html"]))
    assert "example.org/adr-template" in html  # the link text, which is a bare address
    assert "href" not in html


def test_transcript_becomes_sentences_without_labels_or_fillers() -> None:
    doc = read_document(SOURCES["transcript.txt"])
    assert len(doc.sentences) >= 10
    for s in doc.sentences:
        assert not s.text.startswith(("Host:", "Dana:", "[00"))
        assert " um " not in f" {s.text} "
        assert s.text[-1] in ".!?"
        assert not s.text.rstrip(".").endswith((" and", " what", " the"))


@pytest.mark.parametrize(
    ("name", "language"),
    [("spanish.md", "es"), ("german.txt", "de"), ("japanese.txt", "ja"),
     ("chinese.txt", "zh"), ("blog-post.md", "en"), ("transcript.txt", "en"),
     ("urls-emoji.txt", "en")],
)  # fmt: skip
def test_language_is_detected(name: str, language: str) -> None:
    assert read_document(SOURCES[name]).language == language


def test_an_english_post_with_one_japanese_line_keeps_english_phrases_and_tags() -> None:
    out = outputs("urls-emoji.txt", Tone.CONVERSATIONAL)[Platform.TWITTER]
    assert isinstance(out, TwitterOutput)
    assert not any("説明" in post or "シェア" in post for post in out.thread)
    assert not {"#https", "#github", "#example"} & {t.lower() for t in out.hashtags}


def test_cjk_text_is_split_into_sentences_and_keywords() -> None:
    doc = read_document(SOURCES["japanese.txt"])
    assert doc.title == "在宅勤務を三年続けてわかったこと"
    assert len(doc.sentences) >= 8
    assert all(len(s.text) < 120 for s in doc.sentences)
    assert doc.keywords and all(" " not in k for k in doc.keywords)


# --- what the posts say ------------------------------------------------------------------------

# The author's point in each fixture: what a reader would name as the main message.
_MAIN_POINTS = {
    "blog-post.md": ("Fast feedback is not a luxury", "A fast pipeline will not make",
                     "the biggest wins in CI are usually boring"),
    "ai-sounding.md": ("The biggest lesson was",),
    "german.txt": ("Unser Fazit ist klar",),
    "japanese.txt": ("自由を守るには自分でルールを作る必要があります",),
    "chinese.txt": ("可以试试固定回邮件的时间",),
    "transcript.txt": ("charge more than you think you should",),
    "html-article.html": ("five people", "Five people", "Pick one decision", "write it down"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_MAIN_POINTS))
def test_the_core_message_is_the_authors_point_in_every_tone(name: str) -> None:
    for tone in Tone:
        core = ENGINE.analyze(SOURCES[name], tone).brief.core_message
        assert any(point in core for point in _MAIN_POINTS[name]), (tone, core)


@pytest.mark.parametrize("name", ["html-article.html", "urls-emoji.txt"])
def test_bylines_and_links_are_not_the_core_message(name: str) -> None:
    core = ENGINE.analyze(SOURCES[name], Tone.CONVERSATIONAL).brief.core_message
    assert not re.search(r"(?i)^by |min read|https?://", core), core


@pytest.mark.parametrize("tone", list(Tone))
def test_the_x_thread_and_linkedin_post_carry_the_argument_not_only_numbers(tone: Tone) -> None:
    thesis = "Fast feedback is not a luxury for impatient developers."
    out = outputs("blog-post.md", tone)
    thread, linkedin = out[Platform.TWITTER], out[Platform.LINKEDIN]
    assert isinstance(thread, TwitterOutput) and isinstance(linkedin, LinkedInOutput)
    assert any(thesis in post for post in thread.thread)
    assert thesis in linkedin.post
    # Claims without figures stand beside the measurements.
    body = thread.thread[1:-1]
    assert sum(not re.search(r"\d", re.sub(r"^\d+/ ", "", p)) for p in body) >= 3


def test_a_claim_keeps_the_sentence_that_completes_it() -> None:
    core = ENGINE.analyze(SOURCES["blog-post.md"], Tone.CONVERSATIONAL).brief.core_message
    if core.startswith("A fast pipeline will not make"):
        assert "It will stop punishing them" in core
    thread = outputs("blog-post.md", Tone.CONVERSATIONAL)[Platform.TWITTER]
    assert isinstance(thread, TwitterOutput)
    post = next(p for p in thread.thread if "Fast feedback is not a luxury" in p)
    assert "It decides how small your changes can be" in post


def test_x_thread_walks_through_the_sections_of_the_piece() -> None:
    doc = read_document(SOURCES["blog-post.md"])
    section_of = {s.text: s.section for s in doc.sentences}
    thread = outputs("blog-post.md", Tone.CONVERSATIONAL)[Platform.TWITTER]
    assert isinstance(thread, TwitterOutput)
    sections = set()
    for post in thread.thread:
        for text, section in section_of.items():
            if text in post:
                sections.add(section)
    assert len(sections) >= 5


@pytest.mark.parametrize("name", ["blog-post.md", "html-article.html", "transcript.txt"])
def test_threads_posts_read_as_thoughts_not_lone_lines(name: str) -> None:
    for tone in Tone:
        threads = outputs(name, tone)[Platform.THREADS]
        assert isinstance(threads, ThreadsOutput)
        body = threads.posts[1:-1]  # between the hook and the sign-off
        assert body
        for post in body:
            sentences = len(re.findall(r"[.!?](?:\s|$)", post))
            assert sentences >= 2 or len(post) >= 250, (tone, post)
            assert len(post) <= 500
        assert sum(len(p) for p in body) / len(body) >= 200, (tone, [len(p) for p in body])


def test_threads_posts_keep_sentences_in_reading_order() -> None:
    prose = " ".join(b.text for b in extract_blocks(SOURCES["blog-post.md"]))
    threads = outputs("blog-post.md", Tone.EDUCATIONAL)[Platform.THREADS]
    assert isinstance(threads, ThreadsOutput)
    for post in threads.posts[1:-1]:
        for paragraph in post.split("\n\n"):
            assert paragraph in prose, paragraph


# --- platform details -------------------------------------------------------------------------


def test_short_note_still_gives_every_platform_its_shape() -> None:
    for tone in Tone:
        out = outputs("short-note.txt", tone)
        tiktok = out[Platform.TIKTOK]
        assert isinstance(tiktok, TikTokOutput)
        assert len(tiktok.hooks) == 3 and 3 <= len(tiktok.talking_points) <= 5
        linkedin = out[Platform.LINKEDIN]
        assert isinstance(linkedin, LinkedInOutput)
        assert 3 <= len(linkedin.hashtags) <= 5
        email = out[Platform.EMAIL]
        assert isinstance(email, EmailOutput)
        assert 40 <= len(email.preheader) <= 100


def test_linkedin_opens_with_its_hook_and_ends_with_hashtags() -> None:
    post = outputs("blog-post.md", Tone.EDUCATIONAL)[Platform.LINKEDIN]
    assert isinstance(post, LinkedInOutput)
    assert post.post.startswith(post.opening_hook)
    assert post.post.rstrip().endswith(" ".join(post.hashtags))
    assert post.cta in post.post


def test_instagram_respects_the_users_hashtag_cap() -> None:
    source = SOURCES["blog-post.md"]
    for cap in (0, 2, 5, 30):
        voice = VoiceSettings(instagram_hashtag_cap=cap)
        brief = ENGINE.analyze(source, Tone.CONVERSATIONAL).brief
        request = RenderRequest(source, brief, Platform.INSTAGRAM, Tone.CONVERSATIONAL, voice)
        output = ENGINE.render(request).output
        assert isinstance(output, InstagramOutput)
        assert len(output.hashtags) <= min(cap, 5)
        ctx = ValidationContext.for_user(source, instagram_hashtag_cap=cap)
        assert validate(output, ctx) == []


def test_threads_has_at_most_one_topic_tag_even_when_the_source_has_hashtags() -> None:
    for tone in Tone:
        threads = outputs("urls-emoji.txt", tone)[Platform.THREADS]
        assert isinstance(threads, ThreadsOutput)
        assert not any(re.search(r"(?<![\w&#])#[^\W_]", p) for p in threads.posts)


def test_the_users_banned_phrases_are_kept_out() -> None:
    source = SOURCES["ai-sounding.md"]
    voice = VoiceSettings(banned_phrases=("trial project", "salary ranges"))
    ctx = ValidationContext.for_user(source, voice.banned_phrases)
    for tone in Tone:
        for output in _render_all(ENGINE, source, tone, voice).values():
            assert validate(output, ctx) == []
            joined = " ".join(_all_texts(output)).lower()
            assert "trial project" not in joined and "salary ranges" not in joined
            assert "delve" not in joined and "game-changer" not in joined


def test_a_regenerate_brief_without_keywords_still_renders() -> None:
    source = SOURCES["blog-post.md"]
    full = ENGINE.analyze(source, Tone.OPINIONATED).brief
    bare = Brief(full.core_message, full.key_points, full.topic, full.audience)
    ctx = ValidationContext.for_user(source)
    for platform in Platform:
        output = ENGINE.render(RenderRequest(source, bare, platform, Tone.OPINIONATED)).output
        assert validate(output, ctx) == []
    linkedin = ENGINE.render(RenderRequest(source, bare, Platform.LINKEDIN, Tone.OPINIONATED))
    assert isinstance(linkedin.output, LinkedInOutput)
    assert "#CI" in linkedin.output.hashtags


def test_brief_names_the_core_message_topic_and_keywords() -> None:
    analysis = ENGINE.analyze(SOURCES["blog-post.md"], Tone.EDUCATIONAL)
    brief = analysis.brief
    assert brief.core_message in SOURCES["blog-post.md"]
    assert 3 <= len(brief.key_points) <= 5
    assert brief.topic == "How we cut our CI pipeline from 38 minutes to 9"
    assert "CI" in brief.keywords and brief.audience
    assert analysis.usage.total_tokens == 0 and analysis.usage.cost_usd == 0


def test_engine_meets_the_port() -> None:
    engine = LocalEngine()
    assert isinstance(engine, ContentEngine)
    assert engine.name == "local" and engine.model == "local-extractive-1"
    draft = engine.render(
        RenderRequest(
            SOURCES["short-note.txt"],
            engine.analyze(SOURCES["short-note.txt"], Tone.EDUCATIONAL).brief,
            Platform.TWITTER,
            Tone.EDUCATIONAL,
        )
    )
    assert draft.model == "local-extractive-1" and draft.usage.total_tokens == 0


# --- repair -----------------------------------------------------------------------------------

_BROKEN: dict[Platform, PlatformOutput] = {
    Platform.TWITTER: TwitterOutput(
        thread=[
            "1/ Installing packages took 7 minutes on every run.",
            "2/ " + "Caching changed everything for us and the whole team, honestly. " * 8,
            "3/ Let's delve into it: we saved 999999 hours at https://evil.example.com.",
            "4/ Installing packages took 7 minutes on every run.",
        ],
        hashtags=["#CI", "#not valid", "#ci"],
        tweet_count=9,
    ),
    Platform.THREADS: ThreadsOutput(
        posts=["Slow CI costs more than it looks. " * 20, "#CI and #Docker both matter."],
        topic_tag="two words",
    ),
    Platform.LINKEDIN: LinkedInOutput(
        post="A long opening " * 30 + "\n\nIn conclusion, revolutionize your pipeline.",
        opening_hook="A hook that is nowhere in the post.",
        cta="Let's dive in together?",
        hashtags=["#one"],
    ),
    Platform.INSTAGRAM: InstagramOutput(
        caption="Fast feedback is not a luxury for impatient developers. " * 50,
        hashtags=[f"#tag{c}" for c in "abcdefghij"],
        slides=["Same slide", "Same slide", *[f"Slide {c}" for c in "abcdefghijklmnopqrstuvw"]],
    ),
    Platform.TIKTOK: TikTokOutput(
        hooks=["Only one hook about {{topic}}"],
        talking_points=["Supercharge your CI.", "Supercharge your CI."],
        cta="",
        hashtags=["#CI", "#CI"],
    ),
    Platform.EMAIL: EmailOutput(
        subject="A subject line that goes on and on far past the sixty character limit",
        preheader="Too short",
        body_markdown="Hi,\n\nAs an AI, I cannot help.\n\nCache anything that depends only on a "
        "lockfile.",
        cta="[insert link here]",
    ),
}


@pytest.mark.parametrize("platform", list(Platform))
def test_repair_returns_a_valid_output_from_a_broken_one(platform: Platform) -> None:
    source = SOURCES["blog-post.md"]
    ctx = ValidationContext.for_user(source)
    broken = _BROKEN[platform]
    violations = tuple(str(v) for v in validate(broken, ctx))
    assert violations  # the fixture really is broken
    brief = ENGINE.analyze(source, Tone.CONVERSATIONAL).brief
    request = RenderRequest(
        source, brief, platform, Tone.CONVERSATIONAL, previous=broken, violations=violations
    )
    repaired = ENGINE.render(request).output
    assert validate(repaired, ctx) == []


def test_repair_keeps_what_was_fine_in_the_previous_output() -> None:
    source = SOURCES["blog-post.md"]
    ctx = ValidationContext.for_user(source)
    broken = _BROKEN[Platform.TWITTER]
    request = RenderRequest(
        source,
        ENGINE.analyze(source, Tone.CONVERSATIONAL).brief,
        Platform.TWITTER,
        Tone.CONVERSATIONAL,
        previous=broken,
        violations=tuple(str(v) for v in validate(broken, ctx)),
    )
    repaired = ENGINE.render(request).output
    assert isinstance(repaired, TwitterOutput)
    assert repaired.thread[0] == "1/ Installing packages took 7 minutes on every run."
    assert not any("999999" in p or "delve" in p.lower() for p in repaired.thread)
    assert repaired.hashtags == ("#CI",)


def test_repair_of_an_already_valid_output_changes_nothing() -> None:
    source = SOURCES["spanish.md"]
    for platform, output in outputs("spanish.md", Tone.EDUCATIONAL).items():
        request = RenderRequest(
            source,
            ENGINE.analyze(source, Tone.EDUCATIONAL).brief,
            platform,
            Tone.EDUCATIONAL,
            previous=output,
            violations=("checked twice",),
        )
        assert ENGINE.render(request).output == output


# --- concurrency and speed -------------------------------------------------------------------


def test_concurrent_renders_of_a_new_source_agree_with_sequential_ones() -> None:
    source = check_input(long_article(3000, seed=5))
    brief = ENGINE.analyze(source, Tone.AUTHORITY).brief
    sequential = {
        p: ENGINE.render(RenderRequest(source, brief, p, Tone.AUTHORITY)).output for p in Platform
    }
    cold = LocalEngine()
    requests = [RenderRequest(source, brief, p, Tone.AUTHORITY) for p in Platform] * 2
    with ThreadPoolExecutor(max_workers=6) as pool:
        drafts = list(pool.map(cold.render, requests))
    for draft in drafts:
        assert draft.output == sequential[draft.platform]


def test_request_fields_are_respected() -> None:
    source = SOURCES["german.txt"]
    brief = ENGINE.analyze(source, Tone.OPINIONATED).brief
    request = RenderRequest(source, brief, Platform.EMAIL, Tone.OPINIONATED)
    first = ENGINE.render(request).output
    again = ENGINE.render(attrs.evolve(request)).output
    assert first == again
    assert isinstance(first, EmailOutput) and first.body_markdown.startswith("Hallo,")


# --- the person's own voice -------------------------------------------------------------------

CASUAL = (
    "shipped the thing today 🚀 so good",
    "tiny fix. big win #buildinpublic",
    "honestly? best week yet 🙌 #zorblax is fast now",
)
FORMAL = (
    "We are pleased to share the results of our quarterly engineering review, which examined "
    "build reliability across every team.",
    "Our platform group presented its findings at the annual conference, and the discussion "
    "that followed was thoughtful and constructive.",
)
EXCITED = ("Launch day is here! Go try it now!", "We did it! Thank you all! #quuxify")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")
_CONTRACTED = re.compile(r"(?i)\b(?:here|that|it|what|i|you|who)['’](?:s|d|ll|m|re)\b")


def _voiced(name: str, tone: Tone, samples: tuple[str, ...]) -> dict[Platform, PlatformOutput]:
    return _render_all(ENGINE, SOURCES[name], tone, VoiceSettings(sample_posts=samples))


def test_the_style_profile_reads_habits_not_words() -> None:
    assert style_of(()) is None and style_of((" ", "")) is None
    casual = style_of(CASUAL)
    assert casual is not None
    assert casual.emoji and casual.lowercase and casual.short and casual.hashtags == "inline"
    formal = style_of(FORMAL)
    assert formal is not None
    assert not formal.emoji and not formal.lowercase and not formal.short
    assert formal.hashtags == "none" and not formal.contractions and not formal.exclaims
    excited = style_of(EXCITED)
    assert excited is not None and excited.exclaims and excited.hashtags == "end"
    assert style_of(("It's fine, we'll see.",)).contractions  # type: ignore[union-attr]
    assert "zorblax" not in repr(casual) and "quuxify" not in repr(excited)


def test_no_samples_changes_nothing() -> None:
    for tone in (Tone.CONVERSATIONAL, Tone.OPINIONATED):
        plain = outputs("blog-post.md", tone)
        assert _voiced("blog-post.md", tone, ()) == plain


@pytest.mark.parametrize("tone", list(Tone))
def test_people_without_emoji_get_none_from_the_engine(tone: Tone) -> None:
    out = _voiced("blog-post.md", tone, FORMAL)
    thread, threads = out[Platform.TWITTER], out[Platform.THREADS]
    assert isinstance(thread, TwitterOutput) and isinstance(threads, ThreadsOutput)
    for post in (thread.thread[0], thread.thread[-1], threads.posts[0], threads.posts[-1]):
        assert not _EMOJI.search(post), post
    # The 👇 line still says more follows.
    assert thread.thread[0].rstrip().endswith(":")
    plain = outputs("blog-post.md", tone)[Platform.TWITTER]
    assert isinstance(plain, TwitterOutput) and _EMOJI.search(plain.thread[0])


def test_people_with_emoji_get_them_on_calls_to_action() -> None:
    out = _voiced("blog-post.md", Tone.EDUCATIONAL, CASUAL)
    tiktok, insta = out[Platform.TIKTOK], out[Platform.INSTAGRAM]
    assert isinstance(tiktok, TikTokOutput) and isinstance(insta, InstagramOutput)
    assert _EMOJI.search(tiktok.cta) and _EMOJI.search(insta.caption.split("\n\n")[-1])
    plain = outputs("blog-post.md", Tone.EDUCATIONAL)[Platform.TIKTOK]
    assert isinstance(plain, TikTokOutput) and not _EMOJI.search(plain.cta)


def test_lowercase_writers_get_lowercase_engine_lines_and_source_sentences_stay_as_written() -> (
    None
):
    out = _voiced("blog-post.md", Tone.CONVERSATIONAL, CASUAL)
    thread, linkedin = out[Platform.TWITTER], out[Platform.LINKEDIN]
    assert isinstance(thread, TwitterOutput) and isinstance(linkedin, LinkedInOutput)
    paragraphs = re.sub(r"^\d+/ ", "", thread.thread[-1]).split("\n\n")
    closer = [p for p in paragraphs if not p.startswith("#")][-1]
    assert closer[0].islower(), closer
    assert linkedin.cta[0].islower()
    assert linkedin.opening_hook[0].isupper()  # the author's sentence, untouched


@pytest.mark.parametrize("tone", list(Tone))
def test_formal_writers_get_no_contractions_from_the_engine(tone: Tone) -> None:
    out = _voiced("blog-post.md", tone, FORMAL)
    thread, linkedin = out[Platform.TWITTER], out[Platform.LINKEDIN]
    assert isinstance(thread, TwitterOutput) and isinstance(linkedin, LinkedInOutput)
    assert not _CONTRACTED.search(thread.thread[-1]), thread.thread[-1]
    assert not _CONTRACTED.search(linkedin.cta)
    plain = [outputs("blog-post.md", t)[Platform.TWITTER] for t in Tone]
    assert any(_CONTRACTED.search(p.thread[-1]) for p in plain if isinstance(p, TwitterOutput))


def test_exclamation_writers_get_exclamations_on_engine_lines() -> None:
    out = _voiced("blog-post.md", Tone.AUTHORITY, EXCITED)
    tiktok, insta = out[Platform.TIKTOK], out[Platform.INSTAGRAM]
    assert isinstance(tiktok, TikTokOutput) and isinstance(insta, InstagramOutput)
    assert tiktok.cta.endswith("!") and insta.caption.split("\n\n")[-1].endswith("!")
    plain = outputs("blog-post.md", Tone.AUTHORITY)[Platform.TIKTOK]
    assert isinstance(plain, TikTokOutput) and not plain.cta.endswith("!")


def test_hashtags_go_where_the_person_puts_them() -> None:
    none = _voiced("blog-post.md", Tone.CONVERSATIONAL, FORMAL)[Platform.TWITTER]
    assert isinstance(none, TwitterOutput)
    assert none.hashtags == () and not any("#" in p for p in none.thread)
    end = _voiced("blog-post.md", Tone.CONVERSATIONAL, EXCITED)[Platform.TWITTER]
    assert isinstance(end, TwitterOutput)
    assert end.thread[-1].endswith(" ".join(end.hashtags))
    inline = _voiced("blog-post.md", Tone.CONVERSATIONAL, CASUAL)[Platform.TWITTER]
    assert isinstance(inline, TwitterOutput) and inline.hashtags
    woven = [p for p in inline.thread[:-1] if re.search(r"\w #[A-Za-z]+\b \w", p)]
    assert woven, inline.thread


def test_short_writers_get_the_sources_shorter_sentences() -> None:
    def mean_words(output: PlatformOutput) -> float:
        assert isinstance(output, LinkedInOutput)
        points = [line for line in output.post.split("\n") if line.startswith("→ ")]
        return sum(len(p.split()) for p in points) / len(points)

    for tone in Tone:
        plain = mean_words(outputs("blog-post.md", tone)[Platform.LINKEDIN])
        short = mean_words(_voiced("blog-post.md", tone, CASUAL)[Platform.LINKEDIN])
        assert short < plain, tone


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_voiced_outputs_validate_and_never_copy_the_samples(name: str) -> None:
    source = SOURCES[name]
    ctx = ValidationContext.for_user(source)
    for samples in (CASUAL, FORMAL, EXCITED):
        for tone in (Tone.CONVERSATIONAL, Tone.AUTHORITY):
            out = _voiced(name, tone, samples)
            text = " ".join(t for o in out.values() for t in _all_texts(o)).lower()
            for word in ("zorblax", "quuxify", "buildinpublic", "thoughtful", "launch day"):
                assert word not in text or word in source.lower(), (samples, word)
            for platform, output in out.items():
                assert validate(output, ctx) == [], (name, tone, platform, output)
