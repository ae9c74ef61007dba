"""Probes of issue 8 through the CLI: every bad input or setting is one line and exit 2
(or 5 for an unreachable store), nothing is charged for a request that failed its
checks, and no probe shows exit 1, "unexpected", a traceback or SQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repurposeflow.entrypoints.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "blog-post.md"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(home))
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    for var in ("DATABASE_URL", "ENGINE", "USER", "EMAIL", "TIER", "CONCURRENCY"):
        monkeypatch.delenv(f"REPURPOSEFLOW_{var}", raising=False)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_refusal(code: int, err: str, expected: int = 2) -> None:
    assert code == expected, err
    assert err.count("\n") == 1, err  # one line
    for bad in ("unexpected", "Traceback", "SELECT", "INSERT", "UPDATE", "[parameters"):
        assert bad not in err


def used(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(capsys, "usage")
    assert code == 0, err
    return next(line for line in out.splitlines() if line.startswith("Used:"))


# --- 1. checks before the charge --------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "under-file", "markup"])
def test_an_unusable_output_path_is_refused_before_any_charge(home, capsys, tmp_path, kind):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out_dir = {
        "file": blocker,
        "under-file": blocker / "sub",
        "markup": blocker / "[/]odd[bold]",
    }[kind]
    code, out, err = run(capsys, "repurpose", str(EXAMPLE), "-p", "x", "-q", "-o", str(out_dir))
    assert_clean_refusal(code, err)
    assert str(out_dir) in err  # printed escaped, not eaten as markup
    assert out == ""
    assert used(capsys) == "Used: 0 of 10 this month"


@pytest.mark.parametrize(
    ("flag", "value"), [("--tone", "sarcastic"), ("--engine", "nope"), ("-p", "myspace")]
)
def test_a_bad_flag_is_refused_before_any_charge(home, capsys, flag, value):
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), flag, value, "-q")
    assert_clean_refusal(code, err)
    assert used(capsys) == "Used: 0 of 10 this month"


def test_an_output_folder_that_works_gets_the_files(home, capsys, tmp_path):
    target = tmp_path / "a" / "[b]"
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "-p", "x", "-q", "-o", str(target))
    assert code == 0, err
    assert (target / "twitter.md").is_file()
    assert "[b]" in err


# --- 2. bounded reads --------------------------------------------------------------------


def test_an_endless_file_is_refused_without_reading_it_all(home, capsys):
    code, _, err = run(capsys, "repurpose", "/dev/zero", "-q")
    assert_clean_refusal(code, err)
    assert "too large" in err


def test_an_endless_pipe_is_refused(home, tmp_path):
    env = {**os.environ, "REPURPOSEFLOW_HOME": str(home), "REPURPOSEFLOW_CONFIG": "/absent"}
    yes = subprocess.Popen(["yes", "a long line of words"], stdout=subprocess.PIPE)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "repurposeflow.entrypoints.cli", "repurpose", "-", "-q"],
            stdin=yes.stdout,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        yes.kill()
        yes.wait()
    assert done.returncode == 2, done.stderr
    assert "too large" in done.stderr and "Traceback" not in done.stderr


# --- 7. settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        "home = 7",
        "database_url = 42",
        'user = ["a", "b"]',
        "email = 3.5",
        "concurrency = true",
        "engine = 'scripted'",
    ],
)
def test_a_setting_of_the_wrong_type_is_one_line_exit_2(
    home, capsys, tmp_path, monkeypatch, config
):
    monkeypatch.delenv("REPURPOSEFLOW_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text(config + "\n")
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(path))
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)


def test_a_config_path_that_is_a_folder(home, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path))
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)


@pytest.mark.parametrize(
    "url",
    ["garbage", "mysql://root@localhost/db", "postgresql+psycopg2://me:secret@localhost/db"],
)
def test_a_database_url_we_cannot_open_is_input(home, capsys, monkeypatch, url):
    monkeypatch.setenv("REPURPOSEFLOW_DATABASE_URL", url)
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)
    assert "secret" not in err


def test_an_unreachable_store_is_exit_5(home, capsys, monkeypatch):
    monkeypatch.setenv("REPURPOSEFLOW_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err, expected=5)


def test_a_home_that_cannot_be_made(home, capsys, tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(blocker / "home"))
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)


def test_an_unknown_revision(home, capsys):
    code, _, err = run(capsys, "db", "upgrade", "nosuchrev")
    assert_clean_refusal(code, err)
    assert "head" in err


def test_an_in_memory_database_says_nothing_is_kept(home, capsys, monkeypatch):
    monkeypatch.setenv("REPURPOSEFLOW_DATABASE_URL", "sqlite://")
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "-p", "x", "-q")
    assert code == 0, err
    assert "not kept" in err and "saved as" not in err


def test_piping_into_head_ends_quietly(home):
    env = {**os.environ, "REPURPOSEFLOW_HOME": str(home), "REPURPOSEFLOW_CONFIG": "/absent"}
    done = subprocess.run(
        f"{sys.executable} -m repurposeflow.entrypoints.cli repurpose {EXAMPLE} -q | head -1; "
        "exit ${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# --- 8. identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value"),
    [("REPURPOSEFLOW_USER", "u" * 10_000), ("REPURPOSEFLOW_EMAIL", "e" * 295 + "@example.com")],
)
def test_over_long_identifiers_are_input_errors(home, capsys, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)
    assert len(err) < 400


# --- 9. the scripted engine is for tests ------------------------------------------------------


def test_the_scripted_engine_is_not_reachable(home, capsys, monkeypatch):
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "-e", "scripted", "-q")
    assert_clean_refusal(code, err)
    monkeypatch.setenv("REPURPOSEFLOW_ENGINE", "scripted")
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)
    monkeypatch.delenv("REPURPOSEFLOW_ENGINE")
    assert used(capsys) == "Used: 0 of 10 this month"


# --- 11. the tier setting applies only while set ----------------------------------------------


def test_the_tier_setting_applies_only_while_set(home, capsys, monkeypatch):
    monkeypatch.setenv("REPURPOSEFLOW_TIER", "business")
    code, out, _ = run(capsys, "usage")
    assert code == 0 and "Plan: business" in out
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "-p", "x", "-q")
    assert code == 0, err
    monkeypatch.delenv("REPURPOSEFLOW_TIER")
    code, out, _ = run(capsys, "usage")
    assert "Plan: free" in out and "Used: 1 of 10" in out


def test_the_tier_setting_is_refused_when_billing_is_configured(home, capsys, monkeypatch):
    monkeypatch.setenv("REPURPOSEFLOW_TIER", "business")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_123")
    code, _, err = run(capsys, "usage")
    assert_clean_refusal(code, err)
    assert "STRIPE_SECRET_KEY" in err


# --- 6. a quick double Ctrl-C ---------------------------------------------------------------


def test_a_double_ctrl_c_still_refunds_at_once(home, tmp_path):
    """Two SIGINTs a few milliseconds apart while the engine works: the run is failed
    and refunded before the process ends, the line says so, no traceback."""
    env = {**os.environ, "REPURPOSEFLOW_HOME": str(home), "REPURPOSEFLOW_CONFIG": "/absent"}
    env.pop("REPURPOSEFLOW_TIER", None)
    big = tmp_path / "big.md"
    big.write_text((EXAMPLE.read_text() + "\n\n") * 12)
    proc = subprocess.Popen(
        [sys.executable, "-m", "repurposeflow.entrypoints.cli", "repurpose", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # Wait until the run is under way (its first progress line), then Ctrl-C twice.
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "Reading" in line or "writing" in line, line
    proc.send_signal(signal.SIGINT)
    time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 130, rest
    assert "refunded" in rest
    assert "Traceback" not in rest and "Exception ignored" not in rest
    usage = subprocess.run(
        [sys.executable, "-m", "repurposeflow.entrypoints.cli", "usage"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "Used: 0 of 10" in usage.stdout, usage.stdout + usage.stderr


# --- 3. twins in flight ------------------------------------------------------------------------


def test_concurrent_identical_cli_runs_are_charged_once(home):
    """Six processes, one file: one run does the work, the others join it."""
    env = {**os.environ, "REPURPOSEFLOW_HOME": str(home), "REPURPOSEFLOW_CONFIG": "/absent"}
    env.pop("REPURPOSEFLOW_TIER", None)
    cmd = [sys.executable, "-m", "repurposeflow.entrypoints.cli", "repurpose", str(EXAMPLE)]
    subprocess.run([*cmd[:3], "usage"], env=env, capture_output=True, timeout=120)  # migrate
    procs = [
        subprocess.Popen(
            [*cmd, "-p", "x", "-p", "email", "-q", "-f", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [e for _, e in results]
    ids = {__import__("json").loads(out)["id"] for out, _ in results}
    assert len(ids) == 1
    usage = subprocess.run([*cmd[:3], "usage"], capture_output=True, text=True, env=env)
    assert "Used: 1 of 10" in usage.stdout


def test_a_twin_left_by_a_killed_run_is_released_and_the_request_runs(home, capsys):
    """A run killed hard leaves its generation pending (and charged): a repeat waits for
    it only until it is stale, then the sweep refunds it and the repeat runs."""
    from datetime import timedelta

    from repurposeflow.adapters.clock import ManualClock, SystemClock
    from repurposeflow.bootstrap import bootstrap, build_content_engine, load_settings
    from repurposeflow.services.repurpose import RepurposeRequest, start_generation
    from repurposeflow.services.users import ensure_user

    app_ = bootstrap(load_settings())
    past = ManualClock(SystemClock().now() - timedelta(minutes=20))
    ensure_user(app_.uow(), past, clerk_user_id="local", email="you@localhost")
    request = RepurposeRequest("local", EXAMPLE.read_text(), platforms=["x"])
    start_generation(app_.uow(), build_content_engine("local"), past, request)
    assert used(capsys) == "Used: 1 of 10 this month"

    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "-p", "x")
    assert code == 0, err
    assert "already running" in err and "saved as" in err
    assert used(capsys) == "Used: 1 of 10 this month"  # the dead run refunded, this one charged


def test_an_endless_webhook_body_is_refused(home, capsys):
    code, _, err = run(capsys, "webhooks", "ingest", "/dev/zero", "--source", "stripe")
    assert_clean_refusal(code, err)
    assert "larger than" in err
