"""Shared test setup: no internet, hypothesis profiles, a manual clock."""

from __future__ import annotations

import ipaddress
import os
import socket
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# CI explores: a fresh random seed every run, so each run tries new examples. A failure
# prints its falsifying example with a @reproduce_failure blob (or, when it failed in a
# way that cannot be replayed by example, the @seed / --hypothesis-seed that finds it
# again), and is saved to the example database under .hypothesis/, which the next run
# on the same checkout replays first. .ci/run passes HYPOTHESIS_SEED on if set.
settings.register_profile(
    "ci",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path: the local PostgreSQL socket
        return True
    host = str(address[0])
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class InternetAccessBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond this machine: tests drive real SDKs
    against mock transports, never real services."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_local(address):
            raise InternetAccessBlocked(f"test tried to reach {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not _is_local(address):
            raise InternetAccessBlocked(f"test tried to reach {address!r}")
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture
def clock():
    from repurposeflow.adapters.clock import ManualClock

    return ManualClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))
