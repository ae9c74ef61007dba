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

import anthropic

from repurposeflow.adapters.engines import prompting
from repurposeflow.adapters.engines.remote import MAX_OUTPUT_TOKENS, ModelEngine, Reply

_KEY_HINT = ""
KEY_VARIABLE = "ANTHROPIC_API_KEY"


class AnthropicEngine(ModelEngine):
    name = "anthropic"
    provider_title = "Anthropic"
    key_variable = KEY_VARIABLE
    key_hint = _KEY_HINT
    base_url_variable = "ANTHROPIC_BASE_URL"
    default_host = "api.anthropic.com"
    sdk = anthropic
    client_class = anthropic.Anthropic

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
