"""A local stand-in for Stripe's API on 127.0.0.1, so the real SDK is exercised end to
end without the internet (point ``StripeSettings.api_base`` or
``REPURPOSEFLOW_STRIPE_API_BASE`` at ``server.url``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


class StripeStandIn:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.fail_with: tuple[int, dict[str, Any]] | None = None
        self.delay_seconds = 0.0
        self.url = ""

    def handle(
        self, method: str, path: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path, form, headers))
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if self.fail_with is not None:
            return self.fail_with
        if method == "POST" and path == "/v1/checkout/sessions":
            n = len(self.requests)
            return 200, {
                "id": f"cs_test_{n}",
                "object": "checkout.session",
                "url": f"https://checkout.stripe.com/c/pay/cs_test_{n}",
            }
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return 200, {
                "id": "bps_1",
                "object": "billing_portal.session",
                "url": "https://billing.stripe.com/p/session/test_1",
            }
        if method == "GET" and path.startswith("/v1/subscriptions/"):
            sub_id = path.rsplit("/", 1)[1]
            if sub_id in self.subscriptions:
                return 200, self.subscriptions[sub_id]
            return 404, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"No such subscription: '{sub_id}'",
                }
            }
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized"}}


@contextmanager
def stripe_stand_in() -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn()

    class Handler(BaseHTTPRequestHandler):
        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            form = dict(parse_qsl(raw or query, keep_blank_values=True))
            status, payload = stand_in.handle(
                self.command, path, form, {k.lower(): v for k, v in self.headers.items()}
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_test")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _respond

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up (the timeout test) is not news

    server = Server(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
