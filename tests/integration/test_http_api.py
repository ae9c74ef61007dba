"""The HTTP API on real databases: the whole journey on SQLite and PostgreSQL, and on
PostgreSQL, user A gets 404 for user B's ids on every route while every request runs
as the application role with row-level security on."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repurposeflow.adapters.billing import FakeBillingGateway
from repurposeflow.adapters.clock import ManualClock
from repurposeflow.adapters.sql import SqlUnitOfWork
from repurposeflow.bootstrap import App, bootstrap, load_settings
from repurposeflow.entrypoints.http import create_app
from tests.http.conftest import ARTICLE, NOW, auth, http_settings, make_app
from tests.http.test_api import _parse_sse
from tests.http.test_billing_routes import upgrade_event

WAIT = {"Prefer": "wait=60"}


def _sql_app(engine: sa.Engine) -> App:
    return make_app(
        lambda: SqlUnitOfWork(engine),
        lambda clerk_user_id: SqlUnitOfWork(engine, acting_as=clerk_user_id),
        clock=ManualClock(NOW),
    )


@pytest.fixture
def sql_client(sql_engine: sa.Engine) -> Iterator[tuple[TestClient, sa.Engine]]:
    with TestClient(create_app(_sql_app(sql_engine), http_settings())) as client:
        yield client, sql_engine


def _generate(client: TestClient, user: str, text: str, **extra: Any) -> Any:
    return client.post(
        "/v1/generations",
        json={"content": text, "platforms": ["threads", "email"], **extra},
        headers={**auth(user), **WAIT},
    )


def test_the_journey(sql_client: tuple[TestClient, sa.Engine]) -> None:
    client, _engine = sql_client
    # 1. The first request creates the user.
    me = client.get("/v1/me", headers=auth("user_journey"))
    assert me.status_code == 200 and me.json()["tier"] == "free"
    # 2. Generate: 202, then events, then completed.
    r = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["threads", "email"]},
        headers=auth("user_journey"),
    )
    assert r.status_code in (200, 202), r.text
    location = r.headers["Location"]
    events = _parse_sse(client.get(location + "/events", headers=auth("user_journey")).text)
    assert events[-1][0] == "generation" and events[-1][1]["status"] == "completed"
    # 3. History, regenerate, usage.
    page = client.get("/v1/generations", headers=auth("user_journey")).json()
    assert [g["id"] for g in page["items"]] == [r.json()["id"]]
    again = client.post(
        location + "/regenerate", json={"platforms": ["email"]}, headers=auth("user_journey")
    )
    assert again.status_code == 200 and again.json()["status"] == "completed"
    assert client.get("/v1/usage", headers=auth("user_journey")).json()["used"] == 1
    # 4. The quota runs out: a 429 problem.
    for i in range(9):
        assert _generate(client, "user_journey", f"{ARTICLE} Part {i}.").status_code == 200
    out = _generate(client, "user_journey", f"{ARTICLE} One more.")
    assert out.status_code == 429 and out.json()["code"] == "quota-exhausted"
    assert client.get("/v1/usage", headers=auth("user_journey")).json()["remaining"] == 0
    # 5. A signed Stripe webhook upgrades the user.
    gateway = client.app.state.repurposeflow.app.billing  # type: ignore[attr-defined]
    assert isinstance(gateway, FakeBillingGateway)
    body = upgrade_event(gateway, "user_journey")
    hook = client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": gateway.sign(body)}
    )
    assert hook.status_code == 200 and hook.json()["outcome"] == "processed", hook.text
    usage = client.get("/v1/usage", headers=auth("user_journey")).json()
    assert usage["tier"] == "pro" and usage["limit"] == 500 and usage["used"] == 10
    # 6. Generating again succeeds.
    after = _generate(client, "user_journey", f"{ARTICLE} After the upgrade.")
    assert after.status_code == 200 and after.json()["status"] == "completed"


@pytest.mark.postgres
def test_cross_tenant_ids_are_404_on_every_route_under_row_level_security(
    pg: sa.Engine,
) -> None:
    app = _sql_app(pg)
    with TestClient(create_app(app, http_settings())) as client:
        b_gen = _generate(client, "user_b", ARTICLE).json()["id"]
        a_gen = _generate(client, "user_a", ARTICLE + " Mine.").json()["id"]
        routes = [
            ("GET", f"/v1/generations/{b_gen}", None),
            ("GET", f"/v1/generations/{b_gen}/events", None),
            ("POST", f"/v1/generations/{b_gen}/regenerate", {"platforms": ["email"]}),
            ("POST", f"/v1/generations/{b_gen}/regenerate", None),
        ]
        for method, path, body in routes:
            r = client.request(method, path, json=body, headers=auth("user_a"))
            assert r.status_code == 404, (path, r.text)
            assert r.json()["code"] == "generation-not-found"
        listed = client.get("/v1/generations", headers=auth("user_a")).json()["items"]
        assert [g["id"] for g in listed] == [a_gen]
        assert client.get("/v1/usage", headers=auth("user_a")).json()["used"] == 1
        # B's generation is untouched by A's attempts.
        b_view = client.get(f"/v1/generations/{b_gen}", headers=auth("user_b")).json()
        assert b_view["status"] == "completed" and set(b_view["outputs"]) == {"threads", "email"}
    # Every per-user transaction ran as the application role: prove the role is in
    # force by reading as it with nobody set (zero rows, no error).
    with SqlUnitOfWork(pg, acting_as="") as uow:
        assert uow.generations.get(uuid.UUID(b_gen)) is None


def test_twenty_concurrent_identical_posts_make_one_generation_and_one_charge(
    sql_engine: sa.Engine,
) -> None:
    app = _sql_app(sql_engine)
    with TestClient(create_app(app, http_settings())) as client:
        client.get("/v1/me", headers=auth("user_storm"))
        barrier = threading.Barrier(20)
        results: list[Any] = []

        def post() -> None:
            barrier.wait()
            results.append(
                client.post(
                    "/v1/generations",
                    json={"content": ARTICLE, "platforms": ["threads"]},
                    headers={**auth("user_storm"), "Idempotency-Key": "storm-1", **WAIT},
                )
            )

        threads = [threading.Thread(target=post) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.status_code in (200, 202) for r in results), [r.text for r in results]
        assert len({r.json()["id"] for r in results}) == 1
        assert client.get("/v1/usage", headers=auth("user_storm")).json()["used"] == 1
        other = client.post(
            "/v1/generations",
            json={"content": ARTICLE + " Different.", "platforms": ["threads"]},
            headers={**auth("user_storm"), "Idempotency-Key": "storm-1"},
        )
        assert other.status_code == 409 and other.json()["code"] == "idempotency-key-reused"


def test_a_database_at_a_closed_port_is_a_503_problem() -> None:
    settings = load_settings(env={}, database_url="postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    app = bootstrap(settings, migrate=False)
    app.identity = make_app(lambda: None).identity
    app.billing = FakeBillingGateway()
    with TestClient(create_app(app, http_settings())) as client:
        r = client.get("/v1/usage", headers=auth("ada"))
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "store-unavailable" and r.headers["Retry-After"]
        assert "nobody" not in r.text and "127.0.0.1" not in r.text
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"


@pytest.mark.postgres
def test_account_routes_as_the_application_role(pg: sa.Engine) -> None:
    with TestClient(create_app(_sql_app(pg), http_settings())) as client:
        patched = client.patch(
            "/v1/me", json={"default_tone": "authority"}, headers=auth("user_acct")
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["voice"]["default_tone"] == "authority"
        checkout = client.post(
            "/v1/billing/checkout",
            json={
                "tier": "pro",
                "success_url": "https://a.example/",
                "cancel_url": "https://a.example/",
            },
            headers=auth("user_acct"),
        )
        assert checkout.status_code == 200, checkout.text
        gone = client.delete("/v1/me", headers=auth("user_acct"))
        assert gone.status_code == 204, gone.text
    with SqlUnitOfWork(pg) as uow:
        assert uow.users.get_by_clerk_id("user_acct") is None


def test_readyz_says_when_the_schema_lags_behind_the_code(tmp_path) -> None:
    """A deploy that started the new code before running `db upgrade`: not ready, and
    the answer names both revisions."""
    from repurposeflow.adapters.sql import HEAD_REVISION, make_engine, upgrade_database
    from repurposeflow.bootstrap import build_stores

    url = f"sqlite:///{tmp_path / 'lagging.db'}"
    upgrade_database(make_engine(url), "0003_idempotency_key")
    stores = build_stores(url, migrate=False)
    app = make_app(stores.system, stores.per_user)
    app.readiness = stores.readiness
    with TestClient(create_app(app, http_settings())) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "0003_idempotency_key" in ready.text and HEAD_REVISION in ready.text
    upgrade_database(make_engine(url), "head")
    assert stores.readiness() == (True, f"schema at {HEAD_REVISION}")
