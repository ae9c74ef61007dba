from __future__ import annotations

from fastapi.testclient import TestClient

from tests.http.conftest import ARTICLE, auth


def test_generate_then_read_back(client: TestClient) -> None:
    r = client.post(
        "/v1/generations",
        json={"content": ARTICLE, "platforms": ["twitter", "email"]},
        headers={**auth("ada"), "Prefer": "wait=10"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed"
    assert r.headers["Location"] == f"/v1/generations/{body['id']}"
    assert r.headers["X-Request-Id"]
    got = client.get(r.headers["Location"], headers=auth("ada"))
    assert got.status_code == 200 and got.json()["outputs"].keys() == {"twitter", "email"}
    other = client.get(r.headers["Location"], headers=auth("bob"))
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    events = client.get(r.headers["Location"] + "/events", headers=auth("ada"))
    assert events.status_code == 200
    print(events.text)
