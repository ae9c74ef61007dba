"""The CLI as a person drives it: a fresh home, the embedded SQLite store, the
offline engine. In-process through ``main(argv)``, plus one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repurposeflow.domain.enums import Platform
from repurposeflow.domain.quota import next_reset
from repurposeflow.entrypoints.cli import main
from repurposeflow.entrypoints.present import TITLES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "blog-post.md"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(home))
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    for var in ("DATABASE_URL", "ENGINE", "USER", "EMAIL", "TIER", "CONCURRENCY"):
        monkeypatch.delenv(f"REPURPOSEFLOW_{var}", raising=False)
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def used(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(capsys, "usage")
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith("Used:"))


def test_first_run_creates_the_store_and_writes_all_six(home, capsys):
    assert not home.exists()
    code, out, err = run(capsys, "repurpose", str(EXAMPLE))
    assert code == 0, err
    assert (home / "repurposeflow.db").is_file()
    for platform in Platform:
        assert TITLES[platform] in out
    assert "Not generated" not in out
    assert "1 of 10 generations used" in err
    assert "Traceback" not in err


def test_history_show_and_usage_agree(home, capsys):
    code, out, _ = run(capsys, "repurpose", str(EXAMPLE), "--format", "json", "-q")
    assert code == 0
    generation = json.loads(out)
    assert generation["status"] == "completed"
    assert set(generation["outputs"]) == {p.value for p in Platform}

    code, out, _ = run(capsys, "history")
    assert code == 0 and generation["id"] in out

    code, out, _ = run(capsys, "show", generation["id"], "--format", "json")
    assert code == 0
    assert json.loads(out)["outputs"] == generation["outputs"]

    assert used(capsys) == "Used: 1 of 10 this month"

    # The same request again is served from history at no charge.
    code, out, err = run(capsys, "repurpose", str(EXAMPLE), "--format", "json", "-q")
    assert code == 0 and json.loads(out)["id"] == generation["id"]
    assert "no charge" in err
    assert used(capsys) == "Used: 1 of 10 this month"


def test_out_dir_writes_one_file_per_platform(home, tmp_path, capsys):
    target = tmp_path / "posts"
    code, _, _ = run(capsys, "repurpose", str(EXAMPLE), "-p", "x", "-p", "email", "-o", str(target))
    assert code == 0
    assert sorted(p.name for p in target.iterdir()) == ["email.md", "twitter.md"]
    assert "1/" in (target / "twitter.md").read_text()


def test_regenerate_is_free(home, capsys):
    code, out, _ = run(capsys, "repurpose", str(EXAMPLE), "-p", "threads", "-f", "json", "-q")
    assert code == 0
    gen_id = json.loads(out)["id"]
    code, out, err = run(capsys, "regenerate", gen_id, "threads", "-q")
    assert code == 0, err
    assert TITLES[Platform.THREADS] in out
    assert used(capsys) == "Used: 1 of 10 this month"
    code, _, err = run(capsys, "regenerate", gen_id, "tiktok")
    assert code == 2 and "was not made for tiktok" in err


def test_quota_exhaustion_prints_the_reset_date_and_exits_nonzero(home, tmp_path, capsys):
    for n in range(10):
        note = tmp_path / f"note{n}.md"
        note.write_text(
            f"Note {n}: shipping small changes every day beats one big release. "
            "Small batches surface problems while they are cheap to fix.",
            encoding="utf-8",
        )
        code, _, err = run(capsys, "repurpose", str(note), "-p", "email", "-q")
        assert code == 0, err
    assert used(capsys) == "Used: 10 of 10 this month"
    code, out, err = run(capsys, "repurpose", str(EXAMPLE), "-q")
    assert code == 3
    assert out == ""
    reset = next_reset(datetime.now(UTC))
    assert f"resets on {reset:%Y-%m-%d}" in err
    assert "Upgrade to Pro" in err
    assert len(err.strip().splitlines()) == 1
    assert used(capsys) == "Used: 10 of 10 this month"


@pytest.mark.parametrize(
    ("content", "argv", "message"),
    [
        (b"", [], "The input is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", [], "is not UTF-8 text"),
        (b"\xff\xfe\xfa not utf8 at all", [], "is not UTF-8 text"),
        (b"A fine post about writing.", ["-p", "myspace"], "Unknown platform 'myspace'"),
        (b"A fine post about writing.", ["--tone", "angry"], "Unknown tone 'angry'"),
    ],
)
def test_bad_input_gives_one_readable_line_and_changes_nothing(
    home, tmp_path, capsys, content, argv, message
):
    bad = tmp_path / "input.bin"
    bad.write_bytes(content)
    code, out, err = run(capsys, "repurpose", str(bad), *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert used(capsys) == "Used: 0 of 10 this month"
    code, out, _ = run(capsys, "history", "-f", "json")
    assert json.loads(out)["items"] == []


def test_missing_file_and_unknown_generation(home, tmp_path, capsys):
    code, _, err = run(capsys, "repurpose", str(tmp_path / "nope.md"))
    assert code == 2 and "No such file" in err
    code, _, err = run(capsys, "show", "00000000-0000-0000-0000-000000000000")
    assert code == 4 and "No generation" in err
    code, _, err = run(capsys, "show", "not-an-id")
    assert code == 2 and "is not a generation id" in err


def test_unknown_engine_is_a_clear_error(home, capsys):
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "--engine", "gpt5")
    assert code == 2 and "Unknown engine 'gpt5'" in err
    assert "choose one of: local" in err


def test_broken_config_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text("engine = local\n")  # not TOML: the string is unquoted
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(config))
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(tmp_path / "home"))
    code, _, err = run(capsys, "usage")
    assert code == 2 and "not valid TOML" in err


def test_unreachable_database_is_one_line(home, monkeypatch, capsys):
    monkeypatch.setenv(
        "REPURPOSEFLOW_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/nothing"
    )
    code, _, err = run(capsys, "usage")
    assert code == 5
    assert "database is unavailable" in err
    assert "Traceback" not in err


def test_voice_settings_round_trip(home, capsys):
    code, out, _ = run(capsys, "voice", "--tone", "educational", "--ban", "synergy")
    assert code == 0 and "Default tone: educational" in out and "synergy" in out
    code, out, _ = run(capsys, "voice")
    assert "Default tone: educational" in out
    code, _, err = run(capsys, "voice", "--tone", "shouty")
    assert code == 2 and "Unknown tone" in err


def test_db_commands(home, capsys):
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "empty" in out
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "is at revision" in out
    code, out, _ = run(capsys, "db", "seed")
    assert code == 0
    code, out, _ = run(capsys, "db", "partitions", "ensure", "--months-ahead", "3")
    assert code == 0 and out.strip().count("\n") == 0 and "PostgreSQL-only" in out
    code, out, _ = run(capsys, "retention", "run")
    assert code == 0 and "archived generations: 0" in out
    code, out, _ = run(capsys, "stats")
    assert code == 0 and "Latency" in out


def test_the_readme_command_in_a_real_process(home):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "repurposeflow"), "repurpose", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for platform in Platform:
        assert TITLES[platform] in proc.stdout


def test_a_tone_the_language_has_no_phrases_for_is_noted_once_on_stderr(home, capsys):
    spanish = ROOT / "tests" / "fixtures" / "inputs" / "ensayo-es.md"
    code, out, err = run(capsys, "repurpose", str(spanish), "--tone", "opinionated")
    assert code == 0, err
    assert err.count("Note:") == 1 and "opinionated" in err and "Spanish" in err
    assert "Note:" not in out
    code, _, err = run(capsys, "repurpose", str(EXAMPLE), "--tone", "opinionated")
    assert code == 0 and "Note:" not in err


def test_text_format_is_plain_text_without_markdown_emphasis(home, capsys):
    code, out, err = run(capsys, "repurpose", str(EXAMPLE), "--format", "text")
    assert code == 0, err
    assert "**" not in out
    assert "Hooks (pick one)" in out and "Subject:" in out
    code, out, _ = run(capsys, "repurpose", str(EXAMPLE), "--format", "markdown", "-q")
    assert code == 0 and "**Hooks**" in out


def test_history_fits_an_80_column_terminal_and_keeps_whole_ids(home, capsys):
    howto = ROOT / "tests" / "fixtures" / "inputs" / "howto-precommit.md"
    ids = []
    for argv in ([str(EXAMPLE)], [str(howto), "-p", "x", "-p", "email"]):
        code, out, _ = run(capsys, "repurpose", *argv, "--format", "json", "-q")
        assert code == 0
        ids.append(json.loads(out)["id"])
    code, out, _ = run(capsys, "history")
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    for generation_id in ids:
        assert any(line.startswith(generation_id) for line in lines)
    assert any("How to stop shipping lint errors" in line for line in lines)
    assert any("twitter, email" in line for line in lines)
