"""POST /v1/validate: the page's live counts and violations, from the server's rules."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from repurposeflow.domain.measure import twitter_weighted_length
from tests.http.conftest import auth


def _x(client: TestClient, *posts: str, **extra: Any) -> Any:
    body = {
        "platform": "x",
        "output": {"thread": list(posts), "tweet_count": len(posts), "hashtags": []},
        **extra,
    }
    return client.post("/v1/validate", json=body, headers=auth("ana"))


def test_weighted_counts_for_emoji_cjk_and_links(client: TestClient) -> None:
    posts = ["family 👩‍👩‍👧‍👦 time", "漢字" * 70, "read https://example.com/" + "a" * 200]
    answer = _x(client, *posts)
    assert answer.status_code == 200
    body = answer.json()
    assert [m["size"] for m in body["measures"]] == [twitter_weighted_length(p) for p in posts]
    assert body["valid"] is True


def test_over_the_limit_is_a_violation_with_its_count(client: TestClient) -> None:
    body = _x(client, "漢" * 141).json()
    assert body["valid"] is False
    assert body["measures"][0] == {
        "field": "thread.0",
        "size": 282,
        "limit": 280,
        "minimum": 0,
        "unit": "weighted",
        "ok": False,
    }
    assert [v["code"] for v in body["violations"]] == ["too-long"]


def test_banned_phrases_count_without_a_generation(client: TestClient) -> None:
    body = _x(client, "Let us delve into the 42 reasons.").json()
    codes = {v["code"] for v in body["violations"]}
    # Numbers can't be held to a source nobody named; the phrase rule still applies.
    assert codes == {"banned-phrase"}


def test_numbers_are_held_to_the_named_generation(client: TestClient) -> None:
    created = client.post(
        "/v1/generations",
        json={
            "content": "Our team shipped 12 releases in March without one rollback.",
            "platforms": ["email"],
        },
        headers={**auth("ana"), "Prefer": "wait=10"},
    )
    gen_id = created.json()["id"]
    ok = _x(client, "We shipped 12 releases.", generation_id=gen_id).json()
    assert ok["valid"] is True
    bad = _x(client, "We shipped 99 releases.", generation_id=gen_id).json()
    assert [v["code"] for v in bad["violations"]] == ["ungrounded-fact"]
    # Another person's generation is not found, as everywhere else.
    other = client.post(
        "/v1/validate",
        json={"platform": "x", "output": {"thread": ["x"]}, "generation_id": gen_id},
        headers=auth("bob"),
    )
    assert other.status_code == 404


def test_malformed_outputs_are_422_problems(client: TestClient) -> None:
    for output in ({"thread": ["a"], "nope": 1}, {"hashtags": []}, {"thread": 5}):
        answer = client.post(
            "/v1/validate", json={"platform": "x", "output": output}, headers=auth("ana")
        )
        assert answer.status_code == 422, (output, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    unknown = client.post(
        "/v1/validate", json={"platform": "myspace", "output": {}}, headers=auth("ana")
    )
    assert unknown.status_code == 422


def test_the_page_is_served_and_its_assets_are_packaged(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "<title>RepurposeFlow</title>" in page.text
    assert '"defaultEngine": "scripted"' in page.text
    assert client.get("/g/0f8fad5b-d9cb-469f-a165-70867728950e").status_code == 200
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../bootstrap.py").status_code == 404
    assert client.get("/static/secret.py").status_code == 404
