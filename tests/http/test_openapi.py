"""The OpenAPI document lists every endpoint with a summary and examples."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return dict(doc["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return schema


def test_every_operation_has_a_summary_and_example_responses(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert client.get("/docs").status_code == 200
    operations = [
        (path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
    ]
    expected = {
        ("/v1/generations", "post"),
        ("/v1/generations", "get"),
        ("/v1/generations/{generation_id}", "get"),
        ("/v1/generations/{generation_id}/regenerate", "post"),
        ("/v1/generations/{generation_id}/events", "get"),
        ("/v1/usage", "get"),
        ("/v1/me", "get"),
        ("/v1/me", "patch"),
        ("/v1/me", "delete"),
        ("/v1/admin/stats", "get"),
        ("/v1/engines", "get"),
        ("/v1/estimates", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    }
    assert expected <= {(path, method) for path, method, _ in operations}
    missing = []
    for path, method, op in operations:
        assert op.get("summary"), (path, method)
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                if not status.startswith("2"):
                    continue
                schema = _resolve(doc, content.get("schema", {}))
                if not ("example" in content or "examples" in content or "examples" in schema):
                    missing.append((path, method, status, media))
    assert missing == []
    body = _resolve(
        doc,
        doc["paths"]["/v1/generations"]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ],
    )
    assert body["examples"]
