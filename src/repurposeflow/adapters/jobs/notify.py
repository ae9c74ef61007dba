"""Generation progress across processes: PostgreSQL ``LISTEN``/``NOTIFY``.

With the durable queue a generation runs in a worker process while the person waits
on an API process (an event stream, or ``Prefer: wait``). The worker ``publish``es
each step on one channel; every API process ``listen``s and hands the steps to its
in-process hub, the same callback the inline pool feeds, so the routes cannot tell
the difference.

Best effort by design: a step lost (a listener reconnecting, a worker whose database
hiccups) costs a progress line, never a result; the event stream rereads the
generation from the store every second and ends on its stored status.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from repurposeflow.domain.enums import Platform
from repurposeflow.domain.errors import RepurposeFlowError
from repurposeflow.domain.platforms import output_from_dict
from repurposeflow.domain.progress import ProgressEvent, ProgressKind

log = logging.getLogger("repurposeflow.progress")

CHANNEL = "repurposeflow_progress"
# A NOTIFY payload must stay under 8000 bytes. A step (a rendered post can run to
# thousands of characters, four bytes each at worst) longer than one payload goes as
# numbered parts, all in one transaction so they arrive together and in order.
PAYLOAD_BYTES = 7900
PART_CHARS = 1900  # 4 bytes a character at most, plus the part's header
MAX_STEP_CHARS = 1_000_000  # a post larger than this is left out of its step
MAX_DETAIL_CHARS = 1000
MAX_VIOLATIONS = 10
RECONNECT_S = 1.0
PARTS_KEPT_S = 60.0


def encode(generation_id: uuid.UUID, event: ProgressEvent) -> str:
    data: dict[str, Any] = {
        "g": str(generation_id),
        "k": event.kind.value,
        "p": event.platform.value if event.platform else None,
        "d": event.detail[:MAX_DETAIL_CHARS],
        "v": [v[:MAX_DETAIL_CHARS] for v in list(event.violations)[:MAX_VIOLATIONS]],
    }
    if event.output is not None:
        data["o"] = event.output.to_dict()
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_STEP_CHARS and "o" in data:
        del data["o"]
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text


def decode(payload: str) -> tuple[uuid.UUID, ProgressEvent] | None:
    """None for a payload that is not ours (anybody may NOTIFY a channel)."""
    try:
        data: dict[str, Any] = json.loads(payload)
        platform = Platform(data["p"]) if data.get("p") else None
        output = data.get("o")
        event = ProgressEvent(
            ProgressKind(data["k"]),
            platform,
            detail=str(data.get("d") or ""),
            violations=tuple(str(v) for v in data.get("v") or ()),
            output=(
                output_from_dict(platform, output)
                if platform is not None and isinstance(output, dict)
                else None
            ),
        )
        return uuid.UUID(data["g"]), event
    except (ValueError, KeyError, TypeError, AttributeError, RepurposeFlowError):
        return None


def payloads(text: str) -> list[str]:
    """``text`` as NOTIFY payloads: itself when it fits, else ``#id:n:total:part``."""
    if len(text.encode()) <= PAYLOAD_BYTES:
        return [text]
    parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)]
    message = uuid.uuid4().hex
    return [f"#{message}:{n}:{len(parts)}:{part}" for n, part in enumerate(parts)]


class Reassembler:
    """Whole steps from payloads, parts put back together (a step whose parts do not
    all arrive within a minute is dropped)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._partial: dict[str, tuple[float, int, dict[int, str]]] = {}

    def feed(self, payload: str) -> str | None:
        if not payload.startswith("#"):
            return payload
        try:
            message, n, total, part = payload[1:].split(":", 3)
            index, count = int(n), int(total)
        except ValueError:
            return None
        now = self._clock()
        for key in [k for k, (t, _, _) in self._partial.items() if now - t > PARTS_KEPT_S]:
            del self._partial[key]
        if not 0 <= index < count <= MAX_STEP_CHARS // PART_CHARS + 1:
            return None
        _, expected, parts = self._partial.setdefault(message, (now, count, {}))
        parts[index] = part
        if len(parts) < expected:
            return None
        del self._partial[message]
        return "".join(parts.get(i, "") for i in range(expected))


class PgProgressPublisher:
    """``publish(generation_id, event)``: one autocommit connection per process, shared
    by the render threads one step at a time, reopened after a failure."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._quiet_until = 0.0

    def publish(self, generation_id: uuid.UUID, event: ProgressEvent) -> None:
        parts = payloads(encode(generation_id, event))
        with self._lock:
            if time.monotonic() < self._quiet_until:
                return  # the database just failed: the run must not wait on it per step
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
                with self._conn.transaction():
                    for payload in parts:
                        self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            except psycopg.Error as exc:
                log.warning("progress of %s not published: %s", generation_id, exc)
                self._close()
                self._quiet_until = time.monotonic() + RECONNECT_S * 5

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class PgProgressListener:
    """A thread that ``LISTEN``s and calls ``deliver(generation_id, event)`` for every
    step any worker publishes; reconnects by itself until ``stop``."""

    def __init__(
        self,
        conninfo: str,
        deliver: Callable[[uuid.UUID, ProgressEvent], None],
        *,
        poll_s: float = 0.5,
    ) -> None:
        self._conninfo = conninfo
        self._deliver = deliver
        self._poll_s = poll_s
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._parts = Reassembler()

    def start(self, *, wait_s: float = 5.0) -> None:
        """Start listening; returns once LISTEN is in place (or after ``wait_s``)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="progress-listen", daemon=True)
        self._thread.start()
        self._listening.wait(wait_s)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stopping.is_set():
                        for notify in conn.notifies(timeout=self._poll_s):
                            self._dispatch(notify.payload)
            except psycopg.Error as exc:
                log.warning("progress listener lost its connection: %s", exc)
                self._stopping.wait(RECONNECT_S)

    def _dispatch(self, payload: str) -> None:
        whole = self._parts.feed(payload)
        decoded = decode(whole) if whole is not None else None
        if decoded is None:
            return
        try:
            self._deliver(*decoded)
        except Exception:  # a subscriber's fault must not end the listener
            log.exception("progress subscriber failed")
