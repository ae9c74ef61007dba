"""The stateful quota contract (tests/contract/quota_machine.py) on real databases:
the same rules and invariants as the in-memory run, fewer examples (each step is a few
real transactions). Every example starts from emptied tables."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from repurposeflow.adapters.sql import SqlUnitOfWork
from tests.contract.quota_machine import quota_machine
from tests.integration.conftest import truncate


def _fresh(engine: sa.Engine):
    def fresh_uow() -> SqlUnitOfWork:
        truncate(engine)
        return SqlUnitOfWork(engine)

    return fresh_uow


def test_quota_machine_on_sqlite(sqlite_engine: sa.Engine):
    run_state_machine_as_test(
        quota_machine(_fresh(sqlite_engine)),
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None),
    )


@pytest.mark.postgres
def test_quota_machine_on_postgres(pg: sa.Engine):
    run_state_machine_as_test(
        quota_machine(_fresh(pg)),
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None),
    )
