"""The house's shape (issue 20), read from the source: thin stages, and Lake the only door to Delta."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "recaug_spark"
STAGE_LINES = 80  # a stage module is a short composition of package functions
DELTA_INTERNALS = re.compile(r"\b(_jdt|deltaLog|unsafeVolatileSnapshot)\b")


def _delta_imports(path: Path) -> list[str]:
    """The ``delta`` package's modules that ``path`` imports (anywhere in it, function bodies included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "delta":
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "delta"]
    return found


def test_every_stage_module_is_short() -> None:
    lines = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "stages").glob("*.py")}
    assert len(lines) >= 9  # every stage module and __init__
    long = {name: n for name, n in lines.items() if n > STAGE_LINES}
    assert long == {}, f"stage modules over {STAGE_LINES} lines: {long}"


def test_only_the_lake_imports_delta_and_nothing_reaches_its_internals() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 50  # the scan sees the package
    importers = {p.relative_to(PACKAGE).as_posix() for p in sources if _delta_imports(p)}
    assert importers == {"lake.py"}
    internals = {p.relative_to(PACKAGE).as_posix() for p in sources if DELTA_INTERNALS.search(p.read_text())}
    assert internals == set()
