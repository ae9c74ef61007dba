"""The HTTP API over the memory store: every route, its problems, and the plumbing
(request ids, body limit, rate limits, CORS, proxies)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.bootstrap import App
from repurposeflow.domain.errors import JobRejected
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.entrypoints.http import create_app
from tests.http.conftest import ARTICLE, NOW, auth, http_settings, make_app

PROBLEM = "application/problem+json"


class HeldJobs:
    """A job runner that runs nothing until told: the test sees the pending state."""

    def __init__(self) -> None:
        self.jobs: list[GenerationJob] = []
        self.refuse = False

    def submit(self, job: GenerationJob) -> None:
        if self.refuse:
            raise JobRejected()
        self.jobs.append(job)

    def shutdown(self, *, wait: bool = True) -> None:
        return None

    def run_all(self, app: App, api: Any) -> None:
        hub = api.state.repurposeflow.hub
        while self.jobs:
            job = self.jobs.pop(0)
            app.run_job(job, lambda e, job=job: hub.publish(job.generation_id, e))


def _is_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:repurposeflow:problem:{code}"
    assert body["detail"] and "Traceback" not in r.text
    assert body["request_id"] == r.headers["X-Request-Id"]
    return body


@pytest.fixture
def held() -> HeldJobs:
    return HeldJobs()


@pytest.fixture
def held_client(memory_app: App, held: HeldJobs) -> Iterator[TestClient]:
    with TestClient(create_app(memory_app, http_settings(), jobs=held)) as c:
        yield c


def _post(client: TestClient, user: str = "ada", **body: Any) -> Any:
    payload = {"content": ARTICLE, "platforms": ["twitter", "email"], **body}
    return client.post("/v1/generations", json=payload, headers=auth(user))


# --- generations ------------------------------------------------------------------------


def test_post_answers_202_pending_with_location_and_the_run_completes_it(
    held_client: TestClient, held: HeldJobs, memory_app: App
) -> None:
    r = _post(held_client)
    assert r.status_code == 202, r.text
    gen = r.json()
    assert gen["status"] == "pending" and gen["outputs"] == {}
    assert r.headers["Location"] == f"/v1/generations/{gen['id']}"
    assert held_client.get("/v1/usage", headers=auth("ada")).json()["used"] == 1
    held.run_all(memory_app, held_client.app)
    done = held_client.get(r.headers["Location"], headers=auth("ada")).json()
    assert done["status"] == "completed" and set(done["outputs"]) == {"twitter", "email"}


def test_prefer_wait_answers_200_with_the_finished_resource(client: TestClient) -> None:
    r = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["threads"]},
        headers={**auth("ada"), "Prefer": "respond-async, wait=30"},
    )
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert r.headers["Preference-Applied"] == "wait=30"


def test_x_and_twitter_name_the_same_platform(client: TestClient) -> None:
    r = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["X"]},
        headers={**auth("ada"), "Prefer": "wait=30"},
    )
    assert r.status_code == 200 and set(r.json()["outputs"]) == {"twitter"}
    page = client.get("/v1/generations?platform=x", headers=auth("ada")).json()
    assert [g["id"] for g in page["items"]] == [r.json()["id"]]


def test_the_same_request_again_is_returned_free(client: TestClient) -> None:
    first = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["threads"]},
        headers={**auth("ada"), "Prefer": "wait=30"},
    )
    again = client.post(
        "/v1/generations", json={"content": ARTICLE, "platforms": ["threads"]}, headers=auth("ada")
    )
    assert again.status_code == 200 and again.json()["cached"] is True
    assert again.json()["id"] == first.json()["id"]
    assert client.get("/v1/usage", headers=auth("ada")).json()["used"] == 1


def test_a_full_job_runner_gives_503_and_refunds(held_client: TestClient, held: HeldJobs) -> None:
    held.refuse = True
    r = _post(held_client)
    body = _is_problem(r, 503, "busy")
    assert r.headers["Retry-After"]
    assert held_client.get("/v1/usage", headers=auth("ada")).json()["used"] == 0
    page = held_client.get("/v1/generations", headers=auth("ada")).json()
    assert [g["status"] for g in page["items"]] == ["failed"]
    assert "busy" in body["detail"]


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"content": ""}, "empty-input"),
        ({"content": ARTICLE, "platforms": ["myspace"]}, "invalid-request"),
        ({"content": ARTICLE, "tone": "sarcastic"}, "invalid-request"),
        ({"content": ARTICLE, "engine": "nope"}, "invalid-input"),
        ({"content": ARTICLE, "model": "gpt-99"}, "invalid-input"),
        ({"content": ARTICLE, "surprise": 1}, "invalid-request"),
        ({"platforms": ["email"]}, "invalid-request"),
    ],
)
def test_bad_inputs_are_422_problems_and_change_nothing(
    client: TestClient, payload: dict[str, Any], where: str
) -> None:
    r = client.post("/v1/generations", json=payload, headers=auth("ada"))
    body = _is_problem(r, 422, where)
    if where == "invalid-request":
        assert body["errors"]
    assert client.get("/v1/usage", headers=auth("ada")).json()["used"] == 0
    assert client.get("/v1/generations", headers=auth("ada")).json()["items"] == []


def test_malformed_json_is_a_422_problem(client: TestClient) -> None:
    r = client.post(
        "/v1/generations",
        content=b'{"content": "abc",',
        headers={**auth("ada"), "Content-Type": "application/json"},
    )
    _is_problem(r, 422, "invalid-request")


def test_an_oversized_input_is_413(client: TestClient) -> None:
    r = client.post("/v1/generations", json={"content": "word " * 50_000}, headers=auth("ada"))
    _is_problem(r, 413, "input-too-large")


def test_quota_exhausted_is_429_with_retry_after_and_reset(memory_app: App) -> None:
    with TestClient(create_app(memory_app, http_settings())) as client:
        for i in range(10):
            r = client.post(
                "/v1/generations",
                json={"content": f"{ARTICLE} Part {i}.", "platforms": ["threads"]},
                headers={**auth("ada"), "Prefer": "wait=30"},
            )
            assert r.status_code == 200, r.text
        r = client.post(
            "/v1/generations",
            json={"content": f"{ARTICLE} Part 11.", "platforms": ["threads"]},
            headers=auth("ada"),
        )
    body = _is_problem(r, 429, "quota-exhausted")
    assert body["reset_at"].startswith("2026-04-01") and body["limit"] == 10
    expected = (NOW.replace(month=4, day=1, hour=0, minute=0) - NOW).total_seconds()
    assert int(r.headers["Retry-After"]) == int(expected)


def test_history_pages_and_filters(client: TestClient, memory_app: App) -> None:
    clock = memory_app.clock
    assert isinstance(clock, ManualClock)
    ids = []
    for i, platform in enumerate(["threads", "email", "threads"]):
        clock.advance(timedelta(minutes=1))
        r = client.post(
            "/v1/generations",
            json={"content": f"{ARTICLE} Part {i}.", "platforms": [platform]},
            headers={**auth("ada"), "Prefer": "wait=30"},
        )
        ids.append(r.json()["id"])
    first = client.get("/v1/generations?limit=2", headers=auth("ada")).json()
    assert [g["id"] for g in first["items"]] == ids[::-1][:2]
    rest = client.get(
        f"/v1/generations?limit=2&cursor={first['next_cursor']}", headers=auth("ada")
    ).json()
    assert [g["id"] for g in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    threads = client.get("/v1/generations?platform=threads", headers=auth("ada")).json()
    assert [g["id"] for g in threads["items"]] == [ids[2], ids[0]]
    since = (NOW + timedelta(minutes=1, seconds=30)).isoformat()
    recent = client.get("/v1/generations", params={"since": since}, headers=auth("ada")).json()
    assert [g["id"] for g in recent["items"]] == [ids[2], ids[1]]
    done = client.get("/v1/generations?status=failed", headers=auth("ada")).json()
    assert done["items"] == []
    assert client.get("/v1/generations", headers=auth("bob")).json()["items"] == []
    _is_problem(client.get("/v1/generations?cursor=zzz", headers=auth("ada")), 422, "invalid-input")
    _is_problem(client.get("/v1/generations?limit=0", headers=auth("ada")), 422, "invalid-request")


def test_regenerate_rewrites_named_platforms_free(client: TestClient) -> None:
    r = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["threads", "email"]},
        headers={**auth("ada"), "Prefer": "wait=30"},
    )
    gen_id = r.json()["id"]
    again = client.post(
        f"/v1/generations/{gen_id}/regenerate", json={"platforms": ["email"]}, headers=auth("ada")
    )
    assert again.status_code == 200 and again.json()["status"] == "completed"
    assert client.get("/v1/usage", headers=auth("ada")).json()["used"] == 1
    nothing_failed = client.post(f"/v1/generations/{gen_id}/regenerate", headers=auth("ada"))
    _is_problem(nothing_failed, 422, "invalid-input")


def test_another_users_generation_is_404_on_every_route(client: TestClient) -> None:
    r = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["threads"]},
        headers={**auth("ada"), "Prefer": "wait=30"},
    )
    gen_id = r.json()["id"]
    for method, path in [
        ("GET", f"/v1/generations/{gen_id}"),
        ("GET", f"/v1/generations/{gen_id}/events"),
        ("POST", f"/v1/generations/{gen_id}/regenerate"),
        ("GET", f"/v1/generations/{uuid.uuid4()}"),
    ]:
        _is_problem(client.request(method, path, headers=auth("bob")), 404, "generation-not-found")


def test_events_stream_progress_then_the_final_state(
    held_client: TestClient, held: HeldJobs, memory_app: App
) -> None:
    import threading

    gen_id = _post(held_client).json()["id"]
    api = held_client.app
    hub = api.state.repurposeflow.hub  # type: ignore[attr-defined]

    def run_when_subscribed() -> None:
        while hub.subscribers(uuid.UUID(gen_id)) == 0:
            threading.Event().wait(0.01)
        held.run_all(memory_app, api)

    worker = threading.Thread(target=run_when_subscribed)
    worker.start()
    r = held_client.get(f"/v1/generations/{gen_id}/events", headers=auth("ada"))
    worker.join()
    assert r.headers["content-type"].startswith("text/event-stream")
    events = _parse_sse(r.text)
    kinds = [name for name, _ in events]
    assert kinds[0] == "generation" and events[0][1]["status"] == "pending"
    assert kinds[-1] == "generation" and events[-1][1]["status"] == "completed"
    progress = [data for name, data in events if name == "progress"]
    assert {p["platform"] for p in progress if p["kind"] == "rendered"} == {"twitter", "email"}
    # Each rendered event carries the very post that was stored; the others carry none.
    final_outputs = events[-1][1]["outputs"]
    for p in progress:
        if p["kind"] == "rendered":
            assert p["output"] == final_outputs[p["platform"]]
        else:
            assert p["output"] is None
    # A late subscriber gets the current (final) state straight away, once.
    late = _parse_sse(held_client.get(f"/v1/generations/{gen_id}/events", headers=auth("ada")).text)
    assert [(n, d["status"]) for n, d in late] == [("generation", "completed")]


def _parse_sse(text: str) -> list[tuple[str, Any]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


# --- account ----------------------------------------------------------------------------


def test_me_usage_patch_and_delete(client: TestClient) -> None:
    me = client.get("/v1/me", headers=auth("ada"))
    assert me.status_code == 200
    assert me.json()["user_id"] == "ada" and me.json()["tier"] == "free"
    usage = client.get("/v1/usage", headers=auth("ada")).json()
    assert usage == {
        "tier": "free",
        "used": 0,
        "limit": 10,
        "remaining": 10,
        "unlimited": False,
        "resets_at": "2026-04-01T00:00:00Z",
    }
    patched = client.patch(
        "/v1/me",
        json={"default_tone": "educational", "banned_phrases": ["synergy"]},
        headers=auth("ada"),
    )
    assert patched.status_code == 200
    assert patched.json()["voice"]["default_tone"] == "educational"
    assert patched.json()["voice"]["banned_phrases"] == ["synergy"]
    bad = client.patch("/v1/me", json={"instagram_hashtag_cap": 99}, headers=auth("ada"))
    _is_problem(bad, 422, "invalid-request")
    assert client.delete("/v1/me", headers=auth("ada")).status_code == 204


def test_admin_stats_only_for_the_allow_list(client: TestClient) -> None:
    _is_problem(client.get("/v1/admin/stats", headers=auth("ada")), 404, "not-found")
    r = client.get("/v1/admin/stats", headers=auth("admin"))
    assert r.status_code == 200 and set(r.json()) == {
        "tiers",
        "daily_volume",
        "platform_popularity",
        "latency",
    }


# --- auth -------------------------------------------------------------------------------


def test_without_a_verifier_every_v1_call_is_401_saying_how_to_configure() -> None:
    app = make_app(MemoryStore().uow)
    app.identity = None
    with TestClient(create_app(app, http_settings())) as client:
        r = client.get("/v1/me", headers=auth("ada"))
        body = _is_problem(r, 401, "unauthorized")
        assert "CLERK_JWT_KEY" in body["detail"] and "--dev-user" in body["detail"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/healthz").status_code == 200


def test_every_v1_route_refuses_a_caller_without_a_token() -> None:
    """Not only /v1/me: every route under /v1, every method, from the app's own schema."""
    api = create_app(make_app(MemoryStore().uow), http_settings())
    checked = 0
    with TestClient(api) as client:
        for path, operations in api.openapi()["paths"].items():
            if not path.startswith("/v1"):
                continue
            concrete = path.replace("{generation_id}", str(uuid.uuid4()))
            concrete = re.sub(r"\{[^}]+\}", "x", concrete)
            for method in operations:
                r = client.request(method.upper(), concrete, json={})
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
                checked += 1
    assert checked >= 10


def test_dev_user_mode_acts_as_that_user_without_a_token(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(MemoryStore().uow)
    app.identity = None
    with caplog.at_level(logging.WARNING):
        api = create_app(app, http_settings(dev_user="dev"))
    assert any("DEVELOPMENT MODE" in r.getMessage() for r in caplog.records)
    with TestClient(api) as client:
        assert client.get("/v1/me").json()["user_id"] == "dev"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer ", "Basic b2s6YWRh"])
def test_missing_or_bad_tokens_are_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    _is_problem(client.get("/v1/usage", headers=headers), 401, "unauthorized")


# --- plumbing ---------------------------------------------------------------------------


def test_request_ids_are_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id\twith tab"})
    assert (
        made.headers["X-Request-Id"] != "bad id\twith tab"
        and len(made.headers["X-Request-Id"]) == 32
    )


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "detail": None}
    assert client.get("/readyz").status_code == 200


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    _is_problem(client.get("/v1/nothing", headers=auth("ada")), 404, "no-such-route")
    _is_problem(client.put("/v1/me", headers=auth("ada")), 405, "method-not-allowed")


def test_an_unexpected_error_is_a_500_problem_without_details(memory_app: App) -> None:
    def broken(_: str) -> Any:
        raise RuntimeError("secret internals at /srv/app.py line 12")

    memory_app.user_uow_factory = broken
    with TestClient(create_app(memory_app, http_settings())) as client:
        r = client.get("/v1/usage", headers=auth("ada"))
    body = _is_problem(r, 500, "internal-error")
    assert "secret" not in r.text and "RuntimeError" not in body["detail"]


def test_a_declared_oversized_body_is_413_before_it_is_read(memory_app: App) -> None:
    with TestClient(create_app(memory_app, http_settings(max_body_bytes=4096))) as client:
        r = client.post(
            "/v1/generations",
            content=b"x" * 5000,
            headers={**auth("ada"), "Content-Type": "application/json"},
        )
        _is_problem(r, 413, "payload-too-large")

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"x" * 1000

        streamed = client.post(
            "/v1/generations",
            content=chunks(),
            headers={**auth("ada"), "Content-Type": "application/json"},
        )
        _is_problem(streamed, 413, "payload-too-large")


def test_rate_limits_give_429_with_retry_after(memory_app: App) -> None:
    settings = http_settings(rate_limit_user="3/minute")
    with TestClient(create_app(memory_app, settings)) as client:
        codes = [client.get("/v1/usage", headers=auth("ada")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.get("/v1/usage", headers=auth("ada"))
        body = _is_problem(r, 429, "rate-limited")
        assert int(r.headers["Retry-After"]) >= 1 and "quota" in body["detail"]
        assert client.get("/v1/usage", headers=auth("bob")).status_code == 200
    with TestClient(create_app(memory_app, http_settings(rate_limit_ip="2/minute"))) as client:
        codes = [client.get("/v1/usage", headers=auth(f"u{i}")).status_code for i in range(3)]
        assert codes == [200, 200, 429]
        assert client.get("/healthz").status_code == 200


def test_cors_allows_listed_origins_only(memory_app: App) -> None:
    settings = http_settings(cors_origins=("https://app.example.com",))
    with TestClient(create_app(memory_app, settings)) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        ok = client.options(
            "/v1/generations", headers={"Origin": "https://app.example.com", **preflight}
        )
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        evil = client.options(
            "/v1/generations", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in evil.headers
    with TestClient(create_app(memory_app, http_settings())) as client:
        r = client.get("/healthz", headers={"Origin": "https://app.example.com"})
        assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [((), None), (("testclient",), "203.0.113.9")],
)
def test_forwarded_for_is_honoured_only_from_trusted_proxies(
    memory_app: App, trusted: tuple[str, ...], expected: str | None
) -> None:
    store = MemoryStore()
    app = make_app(store.uow)
    with TestClient(create_app(app, http_settings(trusted_proxies=trusted))) as client:
        client.post(
            "/v1/generations",
            json={"content": ARTICLE, "platforms": ["threads"]},
            headers={
                **auth("ada"),
                "X-Forwarded-For": "203.0.113.9",
                "User-Agent": "curl/8",
                "Prefer": "wait=30",
            },
        )
    with store.uow() as uow:
        user = uow.users.get_by_clerk_id("ada")
        assert user is not None
        events = uow.usage.list_for_user(user.id)
    started = [e for e in events if e.event_type.value == "generation_started"]
    assert started and started[0].ip_address == expected and started[0].user_agent == "curl/8"


def test_a_10_mb_streamed_body_is_413_without_being_read_whole(memory_app: App) -> None:
    import asyncio

    import httpx

    chunk = b"x" * 65_536
    total_chunks = (10 * 1024 * 1024) // len(chunk)
    pulled = 0

    async def body() -> Any:
        nonlocal pulled
        for _ in range(total_chunks):
            pulled += 1
            yield chunk

    async def send() -> httpx.Response:
        api = create_app(memory_app, http_settings(max_body_bytes=1024 * 1024))
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/v1/generations",
                content=body(),
                headers={**auth("ada"), "Content-Type": "application/json"},
            )

    r = asyncio.run(send())
    _is_problem(r, 413, "payload-too-large")
    # The limit is 16 chunks: reading stopped right after it, far short of 160.
    assert pulled <= 17 < total_chunks


def test_idempotency_key_same_body_same_generation_other_body_409(
    held_client: TestClient, held: HeldJobs, memory_app: App
) -> None:
    key = {"Idempotency-Key": "order-42"}
    body = {"content": ARTICLE, "platforms": ["threads"]}
    first = held_client.post("/v1/generations", json=body, headers={**auth("ada"), **key})
    assert first.status_code == 202
    again = held_client.post("/v1/generations", json=body, headers={**auth("ada"), **key})
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.json()["cached"] is True and len(held.jobs) == 1
    other = held_client.post(
        "/v1/generations",
        json={**body, "content": ARTICLE + " Other."},
        headers={**auth("ada"), **key},
    )
    problem = _is_problem(other, 409, "idempotency-key-reused")
    assert problem["generation_id"] == first.json()["id"]
    assert other.headers["Location"] == first.headers["Location"]
    # Without a key, a twin of a run in flight is refused, not charged.
    twin = held_client.post("/v1/generations", json=body, headers=auth("ada"))
    assert _is_problem(twin, 409, "request-in-flight")["generation_id"] == first.json()["id"]
    # Another person's same key is theirs alone.
    bob = held_client.post("/v1/generations", json=body, headers={**auth("bob"), **key})
    assert bob.status_code == 202 and bob.json()["id"] != first.json()["id"]
    held.run_all(memory_app, held_client.app)
    done = held_client.post("/v1/generations", json=body, headers={**auth("ada"), **key})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["id"] == first.json()["id"]
    assert held_client.get("/v1/usage", headers=auth("ada")).json()["used"] == 1
    bad = held_client.post(
        "/v1/generations", json=body, headers={**auth("ada"), "Idempotency-Key": "a\tb"}
    )
    _is_problem(bad, 422, "invalid-input")


def test_a_clerk_verifier_without_a_jwt_key_is_401_saying_how_to_configure() -> None:
    from repurposeflow.adapters.identity.clerk import ClerkIdentityVerifier, ClerkSettings
    from tests.http.conftest import CLERK_WEBHOOK_SECRET

    app = make_app(MemoryStore().uow)
    app.identity = ClerkIdentityVerifier(ClerkSettings(webhook_secret=CLERK_WEBHOOK_SECRET))
    with TestClient(create_app(app, http_settings())) as client:
        body = _is_problem(client.get("/v1/usage", headers=auth("ada")), 401, "unauthorized")
        assert "CLERK_JWT_KEY" in body["detail"]
