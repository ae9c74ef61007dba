"""The soak test: API and worker processes on one PostgreSQL database under load.

Marked ``soak``. CI runs it bounded (``REPURPOSEFLOW_SOAK_SIZE``, default ``60/12``:
60 generations from 12 users); ``REPURPOSEFLOW_SOAK_SIZE=300/30`` (or ``full``) is the
long form, which also leaves the killed worker's jobs to the workers' own stalled-job
recovery instead of asking for it early.
"""

from __future__ import annotations

import os

import pytest

# The integration suite's PostgreSQL fixtures: the same server, a database per session.
from tests.integration.conftest import pg_database_factory, pg_server  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/soak/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.soak)
            item.add_marker(pytest.mark.postgres)
