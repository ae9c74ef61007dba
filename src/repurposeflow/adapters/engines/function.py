"""An engine whose every answer comes from functions a test passes in (like pydantic-ai's
FunctionModel): for tests that need one particular output or a hook inside a render."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Tone
from repurposeflow.domain.errors import EngineError
from repurposeflow.domain.model import Brief, TokenUsage
from repurposeflow.domain.platforms import PlatformOutput, output_from_dict


class FunctionEngine:
    """An engine whose answers come from plain functions (pydantic-ai's FunctionModel)."""

    name = "function"

    def __init__(
        self,
        render: Callable[[RenderRequest], PlatformOutput | Mapping[str, Any]],
        analyze: Callable[[str, Tone], Brief] | None = None,
        model: str = "function-1",
    ) -> None:
        self._render = render
        self._analyze = analyze
        self._model = model

    @property
    def model(self) -> str:
        return self._model

    def analyze(self, source: str, tone: Tone) -> Analysis:
        if self._analyze is None:
            brief = Brief(source[:200], (source[:200],), "", "")
        else:
            brief = self._analyze(source, tone)
        return Analysis(brief, TokenUsage(), self._model)

    def render(self, request: RenderRequest) -> PlatformDraft:
        result = self._render(request)
        if isinstance(result, Mapping):
            result = output_from_dict(request.platform, result)
        if result.platform is not request.platform:
            raise EngineError(f"asked for {request.platform}, got {result.platform}")
        return PlatformDraft(result, TokenUsage(), self._model)
