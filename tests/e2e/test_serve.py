"""`repurposeflow serve --dev-user NAME` starts on the embedded store, and the README's
curl session (create a generation, read it back) works against it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ARTICLE = (
    "Most teams write one long post and stop there. That wastes the work. "
    "A single essay holds enough ideas for a week of posts."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_a_dev_user(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "REPURPOSEFLOW_HOME": str(tmp_path),
        "REPURPOSEFLOW_CONFIG": str(tmp_path / "none.toml"),
    }
    env.pop("REPURPOSEFLOW_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "repurposeflow.entrypoints.cli",
            "serve",
            "--port",
            str(port),
            "--dev-user",
            "ada",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to ~30 s on a busy machine
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        created = httpx.post(
            f"{base}/v1/generations", json={"content": ARTICLE, "platforms": ["threads"]}
        )
        assert created.status_code in (200, 202), created.text
        location = created.headers["location"]
        for _ in range(300):
            got = httpx.get(base + location).json()
            if got["status"] != "pending":
                break
            time.sleep(0.1)
        assert got["status"] == "completed" and got["outputs"]["threads"]["posts"]
        assert (tmp_path / "repurposeflow.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any("DEVELOPMENT MODE" in line["message"] for line in lines)
    assert any(line.get("path") == "/v1/generations" and line["request_id"] for line in lines)
