"""Run the benchmarks: ``python -m tests.benchmarks.run [--only NAME] [--quick]`` (``make bench``).

Each ``bench_<name>.py`` has ``run(*, quick: bool) -> dict`` returning at least ``ratio``, ``target`` and
``passed`` (or ``skipped`` with the reason, e.g. no GPU); this runner adds ``name``, writes
``bench-results/<name>.json`` and prints one summary line.
Ratios are measured side by side in one process, on the same data, so machine noise cancels.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"


def available() -> list[str]:
    """Benchmark names (modules bench_<name> in this package; ``_`` in a module name is ``-`` in the
    benchmark's, e.g. bench_gan_peer -> gan-peer)."""
    package = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_").replace("_", "-")
        for m in pkgutil.iter_modules([str(package)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; exit 1 when one misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=available())
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes each")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    RESULTS.mkdir(exist_ok=True)
    failed = []
    for name in [args.only] if args.only else available():
        module = importlib.import_module(f"tests.benchmarks.bench_{name.replace('-', '_')}")
        started = time.perf_counter()
        result = {"name": name, **module.run(quick=args.quick), "quick": args.quick}
        result["bench_seconds"] = round(time.perf_counter() - started, 1)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        if "skipped" in result:
            print(f"SKIP {name}: {result['skipped']}")
            continue
        verdict = "PASS" if result["passed"] else "FAIL"
        print(f"{verdict} {name}: ratio {result['ratio']:.3f} (target {result['target']}) {result.get('summary', '')}")
        if not result["passed"]:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
