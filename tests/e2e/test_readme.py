"""The README's Python example runs as written (docs that match the code)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_embedding_example_runs(capsys, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert blocks, "the README lost its Python example"
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "completed" in out
    assert "1/" in out
