"""``make dist``: what executors on machines without this checkout need, built the way Spark documents.

* ``dist/recaug_spark-<version>.zip``: the package (code + packaged conf) for ``spark-submit --py-files``;
  Python imports it from the zip on the driver and the executors.
* ``dist/recaug-env.tar.gz`` (``--env``): a packed virtual environment with the runtime dependencies
  (requirements.lock without the dev tools, torch included) for ``--archives dist/recaug-env.tar.gz#env``
  with ``spark.pyspark.python=./env/bin/python``. Built by venv-pack from a fresh venv (not the
  development one, which has this package installed editable, which venv-pack refuses). Like every
  venv-pack archive it holds the packages, not the interpreter: executors need the same Python 3.11 at
  the same path (a cluster image built from the same base; otherwise use conda-pack or a container).

``python scripts/dist.py [--env] [--requirements FILE] [--out DIR]``; a small ``--requirements`` file
makes a small environment (the tests pack pandas + pyarrow + numpy only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "recaug_spark"
DEV_ONLY = ("pytest", "hypothesis", "ruff", "chispa", "iniconfig", "pluggy", "venv-pack")


def build_zip(out: Path) -> Path:
    """The package as a zip for --py-files (sources and packaged conf; no caches)."""
    sys.path.insert(0, str(REPO))
    from recaug_spark import __version__

    target = out / f"recaug_spark-{__version__}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".yaml", ".properties"):
                archive.write(path, path.relative_to(REPO).as_posix())
    return target


def runtime_requirements(lock: Path) -> list[str]:
    """The lock's pins without the development tools."""
    pins = [line.strip() for line in lock.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [p for p in pins if not p.split("==")[0].lower().startswith(DEV_ONLY)]


def uv() -> str:
    """uv from the PATH or from set-up's bootstrap venv."""
    found = shutil.which("uv")
    if found:
        return found
    cached = Path(os.environ.get("RECAUG_CACHE_DIR", Path.home() / ".cache/recaug-spark")) / "bootstrap/bin/uv"
    if cached.exists():
        return str(cached)
    raise SystemExit("dist: uv not found; run `make setup` first")


def build_env(out: Path, requirements: Path) -> Path:
    """A fresh venv with the runtime requirements, packed by venv-pack."""
    target = out / "recaug-env.tar.gz"
    with tempfile.TemporaryDirectory(prefix="recaug-env-") as tmp:
        env = Path(tmp) / "env"
        pins = Path(tmp) / "requirements.txt"
        pins.write_text("\n".join([*runtime_requirements(requirements), "venv-pack==0.2.0"]) + "\n")
        subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(env)], check=True)
        subprocess.run([uv(), "pip", "install", "--quiet", "--python", str(env / "bin/python"), "-r", str(pins)],
                       check=True)  # fmt: skip
        target.unlink(missing_ok=True)
        subprocess.run([str(env / "bin/venv-pack"), "-p", str(env), "-o", str(target), "-q"], check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    parser.add_argument("--env", action="store_true", help="also pack the runtime environment (GBs with torch)")
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.lock")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"dist: {build_zip(args.out)}")
    if args.env:
        print(f"dist: {build_env(args.out, args.requirements)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
