"""The Anthropic engine: the Messages API with structured outputs
(``output_config.format``), through the official SDK's sync client, one client shared
by the render threads.

Structured outputs rather than one forced tool: Claude Sonnet 5.5, the default model,
answers a forced ``tool_choice`` with a 400 ("forced tool use returns an error" in its
breaking changes), and structured outputs hold the answer to the same strict schema.
The shared prefix sits in the system prompt with a ``cache_control`` breakpoint at its
end, so the analysis writes the cache and every render reads it.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic
import httpx2

from repurposeflow.adapters.engines import prompting
from repurposeflow.adapters.engines.remote import (
    MAX_OUTPUT_TOKENS,
    ModelEngine,
    Reply,
    explain_sdk_error,
    is_sdk_outage,
    resolve_key,
)

_KEY_HINT = ""
KEY_VARIABLE = "ANTHROPIC_API_KEY"


class AnthropicEngine(ModelEngine):
    name = "anthropic"
    provider_title = "Anthropic"
    key_variable = KEY_VARIABLE

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx2.Client | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        key = resolve_key(api_key, KEY_VARIABLE, "anthropic", _KEY_HINT)
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self._client = anthropic.Anthropic(
            api_key=key,
            base_url=self.base_url,
            max_retries=self.max_retries,
            timeout=self.timeout_s,
            http_client=http_client,
        )

    def _call(self, prompt: prompting.Prompt, timeout: float) -> Reply:
        response = self._client.messages.create(
            model=self.model,
            max_tokens=MAX_OUTPUT_TOKENS,
            system=[
                {
                    "type": "text",
                    "text": prompt.shared,
                    "cache_control": {"type": "ephemeral"},
                }
            ],
            messages=[{"role": "user", "content": prompt.task}],
            output_config={"format": {"type": "json_schema", "schema": prompting.answer_schema()}},
            timeout=timeout,
        )
        usage = response.usage
        read = usage.cache_read_input_tokens or 0
        written = usage.cache_creation_input_tokens or 0
        counted = self.usage(
            # Anthropic's input_tokens leaves out the cached parts; ours counts them all.
            input_tokens=usage.input_tokens + read + written,
            cached_input_tokens=read,
            cache_write_tokens=written,
            output_tokens=usage.output_tokens,
        )
        text = "".join(block.text for block in response.content if block.type == "text")
        refused = response.stop_reason == "refusal"
        return Reply(
            text,
            counted,
            refusal=(text.strip() or "no reason given") if refused else None,
            truncated=response.stop_reason == "max_tokens",
        )

    def _outage(self, exc: Exception) -> bool:
        return is_sdk_outage(anthropic, exc)

    def _explain(self, exc: Exception, timeout: float) -> str:
        where = self.base_url or "api.anthropic.com"
        return explain_sdk_error(
            anthropic, "Anthropic", KEY_VARIABLE, exc, timeout, where, self.model
        )
