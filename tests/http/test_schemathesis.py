"""Property tests of the API against its own OpenAPI document: whatever schemathesis
sends (valid and invalid), no 5xx, and every response conforms to the schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from repurposeflow.adapters.memory import MemoryStore
from repurposeflow.entrypoints.http import create_app
from tests.http.conftest import InlineJobs, auth, http_settings, make_app

_app = make_app(MemoryStore().uow)
api = create_app(_app, http_settings(), jobs=InlineJobs(_app))
schema = schemathesis.openapi.from_asgi("/openapi.json", api)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_honours_its_own_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=auth("schemathesis"), checks=CHECKS)
