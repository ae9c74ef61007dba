"""The steps of a generation, as a CLI progress display or an HTTP event stream sees them."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs

from repurposeflow.domain.enums import Platform


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
    """One step of a generation; ``platform`` is set for the per-platform steps."""

    kind: ProgressKind = attrs.field(converter=ProgressKind)
    platform: Platform | None = None
    detail: str = ""
    violations: Sequence[str] = ()
