"""Imports point one way: kernels and config never import pyspark (STYLE.md, rule 2).

The pure modules are derived from the source: a module is pure when neither it nor any recaug_spark
module it imports when it is imported (function bodies import lazily, and ``if TYPE_CHECKING:`` blocks
never run, so neither counts) imports pyspark or py4j. The test then
imports every one of them with pyspark and py4j blocked, which checks the derivation against what
Python really does (a third-party import that pulls pyspark in, an import the scan cannot see).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "recaug_spark"
SPARK_ROOTS = ("pyspark", "py4j")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): a body only type checkers run."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _executed_at_import(tree: ast.AST) -> list[ast.AST]:
    """The nodes that run when the module is imported: all but the bodies of functions and of
    ``if TYPE_CHECKING:`` blocks (their ``else`` runs)."""
    nodes: list[ast.AST] = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(child, ast.If) and _type_checking_only(child):
            for branch in child.orelse:
                nodes.append(branch)
                nodes.extend(_executed_at_import(branch))
            continue
        nodes.append(child)
        nodes.extend(_executed_at_import(child))
    return nodes


@cache
def _imports(module: str) -> frozenset[str]:
    """Every module name ``module`` imports when imported (``from x import y`` counts x and x.y)."""
    names: set[str] = set()
    for node in _executed_at_import(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(names)


def imports_spark(module: str) -> bool:
    """Whether ``module`` imports pyspark/py4j itself or through the recaug_spark modules it imports,
    transitively (each module's source parsed once: the scan runs at collection)."""
    todo, seen = [module], {module}
    while todo:
        names = _imports(todo.pop())
        if any(n == root or n.startswith(f"{root}.") for n in names for root in SPARK_ROOTS):
            return True
        inner = {n for n in names if n in MODULES}
        # A package's __init__ runs before its submodules: importing a.b imports a too.
        inner |= {p for n in inner for p in _parents(n) if p in MODULES}
        todo.extend(inner - seen)
        seen |= inner
    return False


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


PURE_MODULES = sorted(m for m in MODULES if not imports_spark(m))

BLOCKER = """
import importlib
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark.") or name == "py4j" or name.startswith("py4j."):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
failed = []
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        failed.append(f"{module}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_the_config_and_the_kernels_are_pure() -> None:
    """STYLE rule 2 names them: the config package, the augment kernels, the GAN's and SASRec's torch
    code, the quality measures. Each must come out of the derivation as pure."""
    kernels = [m for m in MODULES if m.startswith(("recaug_spark.config", "recaug_spark.quality"))]
    kernels += [f"recaug_spark.augment.{k}" for k in ("numeric", "sequence", "context", "frames", "recipes")]
    kernels += ["recaug_spark.gan.model", "recaug_spark.gan.train", "recaug_spark.recommend.sasrec.model"]
    assert sorted(set(kernels) - set(PURE_MODULES)) == []


def test_pure_modules_import_without_pyspark() -> None:
    """One interpreter imports them all (torch and pandas load once); the output names each failure."""
    assert len(PURE_MODULES) > 20, PURE_MODULES
    result = subprocess.run([sys.executable, "-c", BLOCKER, *PURE_MODULES], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
