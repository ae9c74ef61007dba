"""The OpenAI engine: Chat Completions with a strict JSON schema, through the official
SDK's sync client (the pipeline renders in threads; one client is shared by them).

Chat Completions rather than the Responses API because OpenAI-compatible servers
(Ollama, vLLM, llama.cpp's server) speak it: point ``OPENAI_BASE_URL`` or the
``base_url`` setting at one and this engine drives it unchanged. Prompt caching is
OpenAI's automatic prefix cache, which the byte-identical prefix of ``prompting`` feeds.
"""

from __future__ import annotations

import openai

from repurposeflow.adapters.engines import prompting
from repurposeflow.adapters.engines.remote import MAX_OUTPUT_TOKENS, ModelEngine, Reply

_KEY_HINT = " (for a local OpenAI-compatible server that needs no key, any value will do)"
KEY_VARIABLE = "OPENAI_API_KEY"


class OpenAIEngine(ModelEngine):
    name = "openai"
    provider_title = "OpenAI"
    key_variable = KEY_VARIABLE
    key_hint = _KEY_HINT
    base_url_variable = "OPENAI_BASE_URL"
    default_host = "api.openai.com"
    sdk = openai
    client_class = openai.OpenAI

    def _call(self, prompt: prompting.Prompt, timeout: float) -> Reply:
        response = self._client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": prompt.shared},
                {"role": "user", "content": prompt.task},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": prompting.ANSWER_SCHEMA_NAME,
                    "strict": True,
                    "schema": prompting.answer_schema(),
                },
            },
            max_completion_tokens=MAX_OUTPUT_TOKENS,
            timeout=timeout,
        )
        usage = response.usage
        details = usage.prompt_tokens_details if usage is not None else None
        counted = self.usage(
            input_tokens=usage.prompt_tokens if usage is not None else 0,
            cached_input_tokens=(details.cached_tokens or 0) if details is not None else 0,
            output_tokens=usage.completion_tokens if usage is not None else 0,
        )
        if not response.choices:
            return Reply("", counted, refusal="no answer came back")
        choice = response.choices[0]
        return Reply(
            choice.message.content or "",
            counted,
            refusal=choice.message.refusal,
            truncated=choice.finish_reason == "length",
        )
