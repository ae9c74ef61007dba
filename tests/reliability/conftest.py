"""Reliability drills: faults injected on purpose (a killed worker, a database that
restarts, a full or read-only disk, hostile inputs).

Every drill runs in CI in a bounded form; ``REPURPOSEFLOW_DRILLS=full`` makes them
longer and harder (more workers, more rounds, more hypothesis examples).
"""

from __future__ import annotations

import os

import pytest

# The integration suite's PostgreSQL fixtures: the same server, a database per session.
from tests.integration.conftest import (  # noqa: F401
    pg,
    pg_database_factory,
    pg_engine,
    pg_server,
)

FULL = os.environ.get("REPURPOSEFLOW_DRILLS", "").lower() == "full"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.reliability)
