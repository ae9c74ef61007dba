"""The repository contract (tests/contract/repository.py) on the three stores of the
``store`` fixture: the in-memory reference, SQLite and PostgreSQL."""

from tests.contract.repository import *  # noqa: F403
