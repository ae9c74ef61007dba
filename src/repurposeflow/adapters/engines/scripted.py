"""The scripted engine, for tests and benchmarks: canned, valid outputs with a fixed
latency, scripted faults and token counts, a record of how many calls overlapped, and a
barrier renders can meet at, so a test proves concurrency without timing anything.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Platform, Tone
from repurposeflow.domain.model import Brief, TokenUsage
from repurposeflow.domain.platforms import output_from_dict

# Canned outputs: no digits or links, so they are grounded in any source.
CANNED: dict[Platform, dict[str, Any]] = {
    Platform.TIKTOK: {
        "hooks": [
            "Most people get this backwards.",
            "Here is the part nobody tells you.",
            "Stop and try this instead.",
        ],
        "talking_points": [
            "Start with the problem your reader already feels.",
            "Show the change with one concrete example.",
            "End on the single idea worth remembering.",
        ],
        "cta": "Follow for the rest of the series.",
        "hashtags": ["#writing", "#creators"],
    },
    Platform.TWITTER: {
        "thread": [
            "1/ One long post can feed a whole week of content.",
            "2/ Pull the core idea out first, then shape it per platform.",
            "3/ Keep the facts from the source and cut everything else.",
        ],
        "hashtags": ["#writing"],
    },
    Platform.THREADS: {
        "posts": [
            "One long post can feed a whole week of content.",
            "Pull the core idea out first, then shape it for each place you post.",
        ],
        "topic_tag": "writing",
    },
    Platform.LINKEDIN: {
        "post": (
            "One long post can feed a whole week of content.\n\n"
            "Pull the core idea out first. Then shape it for each platform, keeping the facts "
            "from the source.\n\nWhat would you repurpose first?"
        ),
        "opening_hook": "One long post can feed a whole week of content.",
        "cta": "What would you repurpose first?",
        "hashtags": ["#writing", "#contentstrategy", "#creators"],
    },
    Platform.INSTAGRAM: {
        "caption": "One long post can feed a whole week of content. Save this for later.",
        "hashtags": ["#writing", "#creators"],
        "slides": [
            "One post, a week of content",
            "Pull the core idea out first",
            "Shape it for each platform",
        ],
    },
    Platform.EMAIL: {
        "subject": "One post, a whole week of content",
        "preheader": "How to pull the core idea out once and reuse it everywhere you post.",
        "body_markdown": "Hi,\n\nOne long post can feed a whole week of content.\n\nPull the core "
        "idea out first, then shape it for each platform.",
        "cta": "Reply and tell me what you would repurpose first.",
    },
}

Fault = (
    BaseException | str
)  # an exception to raise, or "invalid" for an output that fails validation

_INVALID: dict[Platform, dict[str, Any]] = {
    Platform.TIKTOK: {**CANNED[Platform.TIKTOK], "hooks": ["Only one hook"]},
    Platform.TWITTER: {**CANNED[Platform.TWITTER], "thread": ["x" * 300]},
    Platform.THREADS: {**CANNED[Platform.THREADS], "posts": ["y" * 600]},
    Platform.LINKEDIN: {**CANNED[Platform.LINKEDIN], "hashtags": ["#one"]},
    Platform.INSTAGRAM: {**CANNED[Platform.INSTAGRAM], "caption": "z" * 2300},
    Platform.EMAIL: {**CANNED[Platform.EMAIL], "subject": "s" * 80},
}


class ScriptedEngine:
    """Canned valid output after ``latency`` seconds; faults are consumed in order per
    platform (``"analyze"`` for the analysis call).

    ``meet=n``: every render waits until ``n`` renders are in flight together (a
    ``threading.Barrier``). Renders that run one after another never get there: after
    ``meet_timeout`` seconds the render fails with ``BrokenBarrierError``, so a test of
    concurrency fails instead of passing by luck.
    """

    name = "scripted"

    def __init__(
        self,
        *,
        latency: float = 0.0,
        faults: Mapping[Platform | str, Iterable[Fault]] | None = None,
        outputs: Mapping[Platform, Mapping[str, Any]] | None = None,
        tokens: tuple[int, int, int] = (100, 0, 50),
        model: str = "scripted-1",
        meet: int | None = None,
        meet_timeout: float = 10.0,
    ) -> None:
        self.latency = latency
        self._barrier = threading.Barrier(meet, timeout=meet_timeout) if meet else None
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        for key, items in (faults or {}).items():
            self._faults[str(key)].extend(items)
        self._outputs = {**CANNED, **(outputs or {})}
        self._tokens = tokens
        self._model = model
        self._lock = threading.Lock()
        self._active = 0
        self.max_overlap = 0
        self.calls: list[tuple[str, Platform | None]] = []
        self.requests: list[RenderRequest] = []

    @property
    def model(self) -> str:
        return self._model

    def _usage(self) -> TokenUsage:
        inp, cached, out = self._tokens
        cost = Decimal(inp - cached) * 3 + Decimal(cached) * Decimal("0.3") + Decimal(out) * 15
        return TokenUsage(inp, cached, out, cost / Decimal(1_000_000))

    def _call(self, kind: str, platform: Platform | None) -> Fault | None:
        with self._lock:
            self.calls.append((kind, platform))
            self._active += 1
            self.max_overlap = max(self.max_overlap, self._active)
            queue = self._faults.get(str(platform) if platform else "analyze")
            fault = queue.popleft() if queue else None
        try:
            if self._barrier is not None and platform is not None:
                self._barrier.wait()
            if self.latency:
                time.sleep(self.latency)
        finally:
            with self._lock:
                self._active -= 1
        if isinstance(fault, BaseException):
            raise fault
        return fault

    def analyze(self, source: str, tone: Tone) -> Analysis:
        self._call("analyze", None)
        first = source.strip().split("\n", 1)[0][:200]
        brief = Brief(
            core_message=first,
            key_points=(first,),
            topic="writing",
            audience="creators",
            keywords=("writing",),
        )
        return Analysis(brief, self._usage(), self._model)

    def render(self, request: RenderRequest) -> PlatformDraft:
        with self._lock:
            self.requests.append(request)
        fault = self._call("render", request.platform)
        data = _INVALID[request.platform] if fault == "invalid" else self._outputs[request.platform]
        return PlatformDraft(output_from_dict(request.platform, data), self._usage(), self._model)
