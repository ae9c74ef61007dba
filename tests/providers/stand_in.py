"""A stand-in for the OpenAI and Anthropic APIs: realistic response bodies, every request
recorded, and a hook to script answers, faults and delays per call. The engines reach it
through their real SDK clients (``http_client`` on an ``httpx2.MockTransport``), or over
a real socket through ``serve`` for the end-to-end test."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

from repurposeflow.adapters.engines.scripted import CANNED
from repurposeflow.domain.enums import Platform

BRIEF = {
    "core_message": "One long post can feed a whole week of content.",
    "key_points": [
        "Pull the core idea out first.",
        "Shape it for each platform you post on.",
        "Keep the facts from the source and cut everything else.",
    ],
    "topic": "content repurposing",
    "audience": "creators",
    "keywords": ["repurposing", "content"],
}
GOOD: dict[str, dict[str, Any]] = {"brief": BRIEF, **{p.value: CANNED[p] for p in Platform}}
KEYS = ("brief", *(p.value for p in Platform))

# Token counts a real call of this size reports: the shared prefix is 2,400 tokens, the
# analysis writes it to the cache and every render reads it.
PREFIX_TOKENS = 2_400
OWN_TOKENS = 600
OUTPUT_TOKENS = 400

# What a script returns for one call: the part of the envelope to fill (a dict), the raw
# text of the answer (str), a ready response (httpx2.Response), or an exception to raise.
Answer = dict[str, Any] | str | httpx2.Response | Exception
Script = Callable[[str, int, dict[str, Any]], Answer | None]


def envelope(key: str, part: Any) -> str:
    return json.dumps({k: (part if k == key else None) for k in KEYS})


class StandIn:
    def __init__(self, provider: str, script: Script | None = None, delay_s: float = 0.0):
        self.provider = provider
        self.script = script
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()

    # --- what was asked ----------------------------------------------------------------

    @staticmethod
    def key_of(body: dict[str, Any]) -> str:
        task = body["messages"][-1]["content"]
        match = re.search(r'key "(\w+)"', task)
        assert match, task[:200]
        return match.group(1)

    def bodies(self, key: str) -> list[dict[str, Any]]:
        return [b for b in self.requests if self.key_of(b) == key]

    # --- answering ---------------------------------------------------------------------

    def respond(self, body: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
        key = self.key_of(body)
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.calls[key] += 1
            attempt = self.calls[key]
        if self.delay_s:
            time.sleep(self.delay_s)
        answer: Answer | None = self.script(key, attempt, body) if self.script else None
        if answer is None:
            answer = GOOD[key]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        text = answer if isinstance(answer, str) else envelope(key, answer)
        first = key == "brief"
        return httpx2.Response(200, json=self.body(text, first, body.get("model", "")))

    def body(self, text: str, first: bool, model: str, **extra: Any) -> dict[str, Any]:
        if self.provider == "openai":
            return openai_body(text, first, model, **extra)
        return anthropic_body(text, first, model, **extra)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        return self.respond(body, dict(request.headers))

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))


def openai_body(
    text: str, first: bool, model: str, *, refusal: str | None = None, finish: str = "stop"
) -> dict[str, Any]:
    prompt = PREFIX_TOKENS + OWN_TOKENS
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 1_764_800_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None if refusal else text,
                    "refusal": refusal,
                },
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": prompt + OUTPUT_TOKENS,
            "prompt_tokens_details": {"cached_tokens": 0 if first else PREFIX_TOKENS},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def anthropic_body(text: str, first: bool, model: str, *, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": OWN_TOKENS,
            "cache_creation_input_tokens": PREFIX_TOKENS if first else 0,
            "cache_read_input_tokens": 0 if first else PREFIX_TOKENS,
            "output_tokens": OUTPUT_TOKENS,
        },
    }


def error(status: int, message: str, provider: str) -> httpx2.Response:
    # retry-after-ms: the SDKs honour it, so their retries take milliseconds here.
    headers = {"retry-after-ms": "1"}
    if provider == "openai":
        body = {"error": {"message": message, "type": "error", "code": None}}
    else:
        kind = {401: "authentication_error", 429: "rate_limit_error"}.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message}}
    return httpx2.Response(status, json=body, headers=headers)


def serve(stand_in: StandIn) -> tuple[ThreadingHTTPServer, str]:
    """The stand-in on a real socket (127.0.0.1, a free port); returns the server and
    the base URL to give the SDK."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(size))
            response = stand_in.respond(body, dict(self.headers))
            payload = response.content
            self.send_response(response.status_code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/v1"
