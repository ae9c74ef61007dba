"""What the OpenAI and Anthropic engines share: one envelope answer parsed the same way,
usage priced from the table, a deadline per generation, a bound on calls in flight per
provider, and every failure turned into one line a person can act on.

Each provider module supplies only ``_call`` (one request through its official SDK) and
``_explain`` (its SDK's exceptions in words). Retries are the SDKs' own (``max_retries``
for 408/409/429/5xx and connection errors); nothing here retries on top of them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs

from repurposeflow.adapters.engines import prompting
from repurposeflow.adapters.engines.pricing import Catalogue, load_catalogue
from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import Tone
from repurposeflow.domain.errors import (
    EngineError,
    EngineUnavailable,
    InvalidInput,
    NotConfigured,
    UnusableAnswer,
)
from repurposeflow.domain.model import Brief, TokenUsage
from repurposeflow.domain.platforms import output_from_dict

DEFAULT_TIMEOUT_S = 60.0  # one request
DEFAULT_DEADLINE_S = 300.0  # one generation: the analysis, every render and repair
DEFAULT_MAX_RETRIES = 2  # the SDKs' own default
DEFAULT_MAX_IN_FLIGHT = 8  # calls to one provider at once, across this process
MAX_OUTPUT_TOKENS = 8_000  # room for a model's thinking plus the longest post

_gates: dict[str, threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def _gate(provider: str, size: int) -> threading.BoundedSemaphore:
    """One bound per provider for the whole process: every generation's renders share
    it, so a burst of runs cannot open hundreds of connections to one provider."""
    with _gates_lock:
        gate = _gates.get(provider)
        if gate is None:
            gate = _gates[provider] = threading.BoundedSemaphore(size)
        return gate


@attrs.frozen
class Reply:
    """One provider answer, before it is read: the text, what it cost in tokens, and
    whether the model refused or was cut off."""

    text: str
    usage: TokenUsage
    refusal: str | None = None
    truncated: bool = False


class ModelEngine:
    """Base of the provider engines; see the module docstring. A provider module names
    its SDK, client class, key and base-URL variables, and writes ``_call``."""

    name = "model"
    provider_title = "the provider"
    key_variable = "API_KEY"
    key_hint = ""  # said after "Set <variable> to use the <name> engine"
    base_url_variable = "BASE_URL"
    default_host = "the provider"
    sdk: Any = None  # the SDK module: its error classes share names and shapes
    client_class: Any = None

    def __init__(
        self,
        *,
        model: str | None = None,
        catalogue: Catalogue | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: Any = None,
    ) -> None:
        self.catalogue = catalogue or load_catalogue()
        chosen = (model or "").strip() or self.catalogue.default_model(self.name)
        if len(chosen) > 100 or not chosen.isprintable():
            raise InvalidInput("A model name is at most 100 printable characters.")
        self._model = chosen
        self.price = self.catalogue.price(self.name, chosen)
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.max_retries = max_retries
        self._in_flight = _gate(self.name, max_in_flight)
        self._started: float | None = None
        self._lock = threading.Lock()
        key = resolve_key(api_key, self.key_variable, self.name, self.key_hint)
        self.base_url = base_url or os.environ.get(self.base_url_variable) or None
        # One sync client per engine, shared by the render threads.
        self._client = self.client_class(
            api_key=key,
            base_url=self.base_url,
            max_retries=max_retries,
            timeout=timeout_s,
            http_client=http_client,
        )

    @property
    def model(self) -> str:
        return self._model

    # --- the port ---------------------------------------------------------------------

    def analyze(self, source: str, tone: Tone) -> Analysis:
        reply = self._ask(prompting.analyze_prompt(source, tone))
        data = self._read(reply, prompting.BRIEF_KEY)
        try:
            brief = Brief(
                core_message=str(data["core_message"]),
                key_points=tuple(str(p) for p in data["key_points"]),
                topic=str(data["topic"]),
                audience=str(data["audience"]),
                keywords=tuple(str(k) for k in data.get("keywords") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise UnusableAnswer(
                f"the brief is malformed ({exc})", raw=reply.text, usage=reply.usage
            ) from None
        return Analysis(brief, reply.usage, self._model)

    def render(self, request: RenderRequest) -> PlatformDraft:
        prompt = prompting.render_prompt(request)
        reply = self._ask(prompt)
        data = self._read(reply, prompt.key)
        try:
            output = output_from_dict(request.platform, data)
        except InvalidInput as exc:
            raise UnusableAnswer(exc.message, raw=reply.text, usage=reply.usage) from None
        return PlatformDraft(output, reply.usage, self._model)

    # --- shared mechanics -------------------------------------------------------------

    def _remaining(self) -> float:
        """Seconds left of this generation's deadline, which starts at its first call
        (an engine is built per run)."""
        with self._lock:
            if self._started is None:
                self._started = time.monotonic()
            left = self.deadline_s - (time.monotonic() - self._started)
        if left <= 0:
            raise EngineError(f"the generation's deadline of {self.deadline_s:g} s passed")
        return left

    def _ask(self, prompt: prompting.Prompt) -> Reply:
        timeout = min(self.timeout_s, self._remaining())
        with self._in_flight:
            try:
                return self._call(prompt, timeout)
            except EngineError:
                raise
            except Exception as exc:
                message = self._explain(exc, timeout)
                if self._outage(exc):
                    # Nothing was answered and the same call may work later: a job queue
                    # retries the run with backoff (the SDK's own retries are spent).
                    raise EngineUnavailable(message) from exc
                raise EngineError(message) from exc

    def _read(self, reply: Reply, key: str) -> Mapping[str, Any]:
        """The envelope's ``key``; anything else is an unusable answer worth one repair."""
        if reply.refusal:
            raise UnusableAnswer(
                f"the model refused: {reply.refusal}", raw=reply.text, usage=reply.usage
            )
        if reply.truncated:
            raise UnusableAnswer(
                "the answer was cut off before it ended", raw=reply.text, usage=reply.usage
            )
        try:
            answer = json.loads(reply.text)
        except ValueError as exc:
            raise UnusableAnswer(
                f"the answer is not valid JSON ({exc})", raw=reply.text[:2000], usage=reply.usage
            ) from None
        if not isinstance(answer, Mapping):
            raise UnusableAnswer(
                "the answer is not a JSON object", raw=reply.text, usage=reply.usage
            )
        part = answer.get(key)
        if not isinstance(part, Mapping):
            raise UnusableAnswer(
                f'the answer left "{key}" empty', raw=reply.text, usage=reply.usage
            )
        return part

    def usage(
        self,
        *,
        input_tokens: int,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        output_tokens: int,
    ) -> TokenUsage:
        """Tokens as the domain counts them, priced; None cost for an unknown model."""
        counted = TokenUsage(
            input_tokens=input_tokens,
            cached_input_tokens=cached_input_tokens,
            cache_write_tokens=cache_write_tokens,
            output_tokens=output_tokens,
        )
        cost = self.price.cost(counted) if self.price is not None else None
        return attrs.evolve(counted, cost_usd=cost)

    # --- per provider -----------------------------------------------------------------

    def _call(self, prompt: prompting.Prompt, timeout: float) -> Reply:
        raise NotImplementedError

    def _explain(self, exc: Exception, timeout: float) -> str:
        where = self.base_url or self.default_host
        return explain_sdk_error(
            self.sdk, self.provider_title, self.key_variable, exc, timeout, where, self.model
        )

    def _outage(self, exc: Exception) -> bool:
        return is_sdk_outage(self.sdk, exc)


def resolve_key(given: str | None, variable: str, engine: str, hint: str = "") -> str:
    """The key passed in, else the provider's own variable; missing is NotConfigured
    (exit 2 on the CLI, before anything is reserved)."""
    key = given if given is not None else os.environ.get(variable, "")
    if not key.strip():
        raise NotConfigured(f"Set {variable} to use the {engine} engine{hint}.")
    return key


def explain_sdk_error(
    sdk: Any, title: str, variable: str, exc: Exception, timeout: float, where: str, model: str
) -> str:
    """One line for an exception of either official SDK (they share their error classes'
    names and shapes: APITimeoutError, APIConnectionError, APIStatusError)."""
    if isinstance(exc, sdk.APITimeoutError):
        return f"{title} did not answer within {timeout:.0f} s (after its retries)"
    if isinstance(exc, sdk.APIConnectionError):
        return f"could not reach {title} at {where}: {exc}"
    if isinstance(exc, sdk.APIStatusError):
        body = exc.body
        message = exc.message
        if isinstance(body, dict):
            error = body.get("error", body)
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                message = str(error["message"])
        return status_line(title, variable, exc.status_code, message, model)
    return f"{type(exc).__name__}: {exc}"


OUTAGE_STATUSES = frozenset({408, 409, 429})


def is_sdk_outage(sdk: Any, exc: Exception) -> bool:
    """What the SDKs themselves retry (timeouts, dropped connections, 408/409/429/5xx),
    still failing after their retries: an outage, not a refusal of this request."""
    if isinstance(exc, sdk.APITimeoutError | sdk.APIConnectionError):
        return True
    if isinstance(exc, sdk.APIStatusError):
        return exc.status_code in OUTAGE_STATUSES or exc.status_code >= 500
    return False


def status_line(title: str, key_variable: str, status: int | None, message: str, model: str) -> str:
    """One line per kind of provider failure, the same words for both providers."""
    if status == 401:
        return f"{title} rejected the API key in {key_variable} (401); check the key."
    if status == 403:
        return f"{title} refused this key access to {model} (403)."
    if status == 404:
        return f"{title} does not know the model {model!r} (404); pick another with --model."
    if status == 429:
        return f"{title} kept answering 'rate limited' (429) after its retries: {message}"
    if status is not None and status >= 500:
        return f"{title} failed ({status}) after its retries: {message}"
    if status is not None:
        return f"{title} refused the request ({status}): {message}"
    return message
