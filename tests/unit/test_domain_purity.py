"""The domain imports nothing outside the standard library, attrs and twitter-text
(an allow-list; import-linter's contracts in pyproject.toml forbid the rest)."""

import ast
import sys
from pathlib import Path

import repurposeflow.domain

ALLOWED = set(sys.stdlib_module_names) | {"attrs", "twitter_text", "repurposeflow", "__future__"}


def _imports(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module, node.module.split(".")[0]))
    return found


def test_domain_imports_only_stdlib_attrs_and_twitter_text():
    package = Path(repurposeflow.domain.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for module, top in _imports(path):
            if top not in ALLOWED:
                offenders.append(f"{path.name}: {module}")
            if top == "repurposeflow" and not module.startswith("repurposeflow.domain"):
                offenders.append(f"{path.name}: {module}")
    assert offenders == []
