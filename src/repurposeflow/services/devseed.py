"""Development seed data: the seed document's test user and a few finished generations,
so a new developer sees a populated history at once. Idempotent: run it any number of
times; it adds only what is missing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs

from repurposeflow.domain.enums import GenerationStatus, Platform, Tier, Tone
from repurposeflow.domain.model import Generation, User
from repurposeflow.domain.platforms import (
    EmailOutput,
    InstagramOutput,
    LinkedInOutput,
    PlatformOutput,
    ThreadsOutput,
    TikTokOutput,
    TwitterOutput,
)
from repurposeflow.domain.ports import Clock, UnitOfWork
from repurposeflow.domain.text import content_hash, normalize_input, request_key

TEST_CLERK_ID = "user_test123"
TEST_EMAIL = "test@example.com"
TEST_NAME = "Test User"
SEED_ENGINE = "seed"
SEED_MODEL = "seed-1"
_NAMESPACE = uuid.UUID("6f1c3f5e-8a0b-4c47-9d36-5b3f1d2a7e10")


@attrs.frozen
class SeedReport:
    user: User
    user_created: bool
    generations_added: int


@attrs.frozen
class _Sample:
    slug: str
    tone: Tone
    days_ago: int
    topic: str
    audience: str
    hook: str
    points: tuple[str, str, str]
    cta: str
    tags: tuple[str, str, str]

    @property
    def source(self) -> str:
        body = " ".join(self.points)
        return normalize_input(
            f"{self.hook}\n\n{body}\n\nWhy it matters: {self.points[0].lower()}\n\n{self.cta}"
        )

    def outputs(self) -> dict[Platform, PlatformOutput]:
        first, second, third = self.points
        return {
            Platform.TIKTOK: TikTokOutput(
                hooks=(
                    self.hook,
                    f"Stop guessing about {self.topic}.",
                    f"Here is what {self.audience} miss.",
                ),
                talking_points=self.points,
                cta=self.cta,
                hashtags=self.tags,
            ),
            Platform.TWITTER: TwitterOutput(
                thread=(self.hook, first, second, third, self.cta), hashtags=self.tags[:2]
            ),
            Platform.THREADS: ThreadsOutput(
                posts=(f"{self.hook} {first}", f"{second} {third}", self.cta),
                topic_tag=self.tags[0].lstrip("#"),
            ),
            Platform.LINKEDIN: LinkedInOutput(
                post=f"{self.hook}\n\n{first}\n\n{second}\n\n{third}\n\n{self.cta}",
                opening_hook=self.hook,
                cta=self.cta,
                hashtags=self.tags,
            ),
            Platform.INSTAGRAM: InstagramOutput(
                caption=f"{self.hook} {first}", hashtags=self.tags, slides=self.points
            ),
            Platform.EMAIL: EmailOutput(
                subject=f"A note on {self.topic}",
                preheader=f"What {self.audience} can change this week, in plain words.",
                body_markdown=f"{self.hook}\n\n- {first}\n- {second}\n- {third}",
                cta=self.cta,
            ),
        }


SAMPLES = (
    _Sample(
        slug="write-once",
        tone=Tone.CONVERSATIONAL,
        days_ago=1,
        topic="repurposing",
        audience="busy writers",
        hook="Write once, then let the idea travel.",
        points=(
            "A long post holds more ideas than any single feed can show.",
            "Each platform rewards a different shape of the same thought.",
            "Reuse the argument, not the sentences, and nobody feels repeated.",
        ),
        cta="Pick one old post today and give it a second life.",
        tags=("#writing", "#contentstrategy", "#creators"),
    ),
    _Sample(
        slug="newsletter-habit",
        tone=Tone.EDUCATIONAL,
        days_ago=4,
        topic="newsletters",
        audience="newsletter authors",
        hook="A newsletter is a habit before it is a channel.",
        points=(
            "Readers open what arrives on a rhythm they can predict.",
            "A short issue sent on time beats a perfect issue sent late.",
            "Ask one question per issue and the replies become your next topic.",
        ),
        cta="Set your send day and keep it for a season.",
        tags=("#newsletter", "#emailmarketing", "#writinghabits"),
    ),
    _Sample(
        slug="talk-to-post",
        tone=Tone.OPINIONATED,
        days_ago=9,
        topic="talks and transcripts",
        audience="speakers",
        hook="Your best talk is wasted if it only lives on stage.",
        points=(
            "A transcript already contains the stories that made the room laugh.",
            "Cut it into moments, and every moment can stand alone as a post.",
            "The questions from the audience show which parts people cared about.",
        ),
        cta="Send your next talk through the transcript before you forget it.",
        tags=("#publicspeaking", "#transcripts", "#personalbrand"),
    ),
)


def _generation(user: User, sample: _Sample, clock: Clock) -> Generation:
    source = sample.source
    digest = content_hash(source)
    platforms = tuple(Platform)
    created = clock.now() - timedelta(days=sample.days_ago)
    return Generation(
        id=uuid.uuid5(_NAMESPACE, f"{user.id}/{sample.slug}"),
        user_id=user.id,
        input_content=source,
        input_content_hash=digest,
        request_key=request_key(digest, platforms, sample.tone, SEED_ENGINE, SEED_MODEL),
        selected_platforms=platforms,
        selected_tone=sample.tone,
        status=GenerationStatus.COMPLETED,
        llm_provider=SEED_ENGINE,
        llm_model=SEED_MODEL,
        core_message=sample.hook,
        key_points=sample.points,
        detected_topic=sample.topic,
        detected_audience=sample.audience,
        outputs={p: o.to_dict() for p, o in sample.outputs().items()},
        generation_time_ms=0,
        created_at=created,
        completed_at=created,
    )


def seed_dev_data(uow: UnitOfWork, clock: Clock) -> SeedReport:
    """Create the test user (pro, 500 a month) and sample history unless present."""
    with uow:
        user = uow.users.get_by_clerk_id(TEST_CLERK_ID)
        created = user is None
        if user is None:
            user = User.create(
                clerk_user_id=TEST_CLERK_ID,
                email=TEST_EMAIL,
                full_name=TEST_NAME,
                tier=Tier.PRO,
                now=clock.now(),
            )
            uow.users.add(user)
        added = 0
        for sample in SAMPLES:
            gen = _generation(user, sample, clock)
            if uow.generations.get(gen.id) is None:
                uow.generations.add(gen)
                added += 1
        uow.commit()
    return SeedReport(user=user, user_created=created, generations_added=added)
