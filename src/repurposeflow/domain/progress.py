"""The steps of a generation, as a CLI progress display or an HTTP event stream sees them."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs

from repurposeflow.domain.enums import Platform
from repurposeflow.domain.platforms import PlatformOutput


class ProgressKind(enum.StrEnum):
    STARTED = "started"
    CACHED = "cached"
    ANALYZING = "analyzing"
    ANALYZED = "analyzed"
    RENDERING = "rendering"
    REPAIRING = "repairing"
    RENDERED = "rendered"
    PLATFORM_FAILED = "platform_failed"
    FINISHED = "finished"
    NOTE = "note"  # something the engine wants the person to know (detail)


@attrs.frozen
class ProgressEvent:
    """One step of a generation; ``platform`` is set for the per-platform steps.

    ``output`` is set on ``rendered`` only: the platform's final, validated post (the one
    that is stored), so the page and API clients can show a platform's post the moment it
    is ready instead of waiting for the slowest platform."""

    kind: ProgressKind = attrs.field(converter=ProgressKind)
    platform: Platform | None = None
    detail: str = ""
    violations: Sequence[str] = ()
    output: PlatformOutput | None = None
