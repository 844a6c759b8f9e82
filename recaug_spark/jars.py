"""The Delta Lake jars: which artifact Spark needs, where they are cached, and fetching them once.

``python -m recaug_spark.jars fetch`` resolves ``io.delta:delta-spark_<spark major.minor>_2.13`` and its
transitive jars with Spark's own Ivy resolution (against Maven Central or the configured mirrors,
never a half-filled ``~/.m2``), copies them into ``<spark.jars_cache>/<artifact>/`` and writes a
manifest last. Sessions then put exactly those files on the classpath, so a run never downloads and
never fails halfway for a missing jar. ``spark.jars_dir`` points at a directory of jars instead
(offline or air-gapped clusters).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse
from xml.sax.saxutils import quoteattr

import pyspark

from recaug_spark.config import SparkConfig, load_config
from recaug_spark.errors import MissingJarsError, RecaugError

log = logging.getLogger(__name__)

MANIFEST = "recaug-jars.json"
SCALA_BINARY = "2.13"


def delta_coordinate(delta_version: str, spark_version: str = pyspark.__version__) -> str:
    """The Maven coordinate of the Delta jar built for this Spark.

    Example:
        >>> delta_coordinate("4.4.0", "4.2.0")
        'io.delta:delta-spark_4.2_2.13:4.4.0'
    """
    major_minor = ".".join(spark_version.split(".")[:2])
    return f"io.delta:delta-spark_{major_minor}_{SCALA_BINARY}:{delta_version}"


def delta_jar_name(coordinate: str) -> str:
    """The file name Spark's Ivy retrieval gives the main Delta jar.

    Example:
        >>> delta_jar_name("io.delta:delta-spark_4.2_2.13:4.4.0")
        'io.delta_delta-spark_4.2_2.13-4.4.0.jar'
    """
    group, artifact, version = coordinate.split(":")
    return f"{group}_{artifact}-{version}.jar"


def cache_dir(cfg: SparkConfig) -> Path:
    """Directory holding the resolved jars for the configured Delta version."""
    return Path(cfg.jars_cache) / delta_coordinate(cfg.delta_version).replace(":", "_")


def fetch_command() -> str:
    """The command that fills the cache, for error messages."""
    return "make jars  (or: python -m recaug_spark.jars fetch)"


def resolved_jars(cfg: SparkConfig) -> list[str]:
    """Absolute paths of the jars to put on the classpath.

    Raises:
        MissingJarsError: naming the artifact, where it was looked for and the command that fetches it.
    """
    coordinate = delta_coordinate(cfg.delta_version)
    if cfg.jars_dir:
        directory = Path(cfg.jars_dir)
        jars = sorted(str(p) for p in directory.glob("*.jar"))
        if not any("delta-spark_" in Path(j).name for j in jars):
            raise MissingJarsError(
                f"spark.jars_dir={directory} holds no delta-spark jar; {coordinate} and its dependencies "
                f"are needed there (fill it from a machine with Maven access: {fetch_command()}, then copy "
                f"{cache_dir(cfg)})"
            )
        return jars
    directory = cache_dir(cfg)
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise MissingJarsError(
            f"Delta Lake jars for {coordinate} are not in {directory}; run `{fetch_command()}` once with access "
            f"to Maven Central, or set spark.jars_dir to a directory that holds them"
        )
    names = json.loads(manifest.read_text())["jars"]
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise MissingJarsError(
            f"the jar cache {directory} is incomplete ({len(missing)} missing, e.g. {missing[0]}); "
            f"delete it and run `{fetch_command()}`"
        )
    return [str(directory / n) for n in names]


def _ivy_settings(repositories: tuple[str, ...]) -> str:
    resolvers = "\n".join(
        f'      <ibiblio name="repo{i}" m2compatible="true" root={quoteattr(url)}/>'
        for i, url in enumerate(repositories)
    )
    return (
        "<ivysettings>\n"
        '  <settings defaultResolver="chain"/>\n'
        "  <resolvers>\n"
        '    <chain name="chain" returnFirst="true">\n'
        f"{resolvers}\n"
        "    </chain>\n"
        "  </resolvers>\n"
        "</ivysettings>\n"
    )


def fetch(cfg: SparkConfig) -> Path:
    """Resolve the Delta jars into the cache unless they are already complete there.

    Spark's Ivy resolution runs with settings that list only ``cfg.maven_repositories``, so a
    ``~/.m2`` holding poms without jars cannot break it.

    Returns:
        The cache directory.
    """
    directory = cache_dir(cfg)
    try:
        jars = resolved_jars(cfg.model_copy(update={"jars_dir": None}))
        log.info("Delta jars present: %d jars in %s; nothing to download", len(jars), directory)
        return directory
    except MissingJarsError:
        pass

    from pyspark.sql import SparkSession  # a JVM is started only when something must be fetched

    coordinate = delta_coordinate(cfg.delta_version)
    ivy_home = Path(cfg.jars_cache) / "ivy"
    ivy_home.mkdir(parents=True, exist_ok=True)
    settings = ivy_home / "recaug-ivysettings.xml"
    settings.write_text(_ivy_settings(cfg.maven_repositories))
    log.info("resolving %s from %s", coordinate, ", ".join(cfg.maven_repositories))
    try:
        spark = (
            SparkSession.builder.master("local[1]")
            .appName("recaug-fetch-jars")
            .config("spark.jars.packages", coordinate)
            .config("spark.jars.ivy", str(ivy_home))
            .config("spark.jars.ivySettings", str(settings))
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
    except Exception as exc:
        raise MissingJarsError(
            f"could not resolve {coordinate} from {', '.join(cfg.maven_repositories)} (Ivy's messages are above): "
            f"check access to Maven Central, list a reachable mirror in spark.maven_repositories, or put the jars "
            f"in a directory and set spark.jars_dir"
        ) from exc
    try:
        urls = [u for u in spark.sparkContext.getConf().get("spark.jars", "").split(",") if u]
    finally:
        spark.stop()
    paths = [Path(unquote(urlparse(u).path)) for u in urls]
    if not any(p.name == delta_jar_name(coordinate) for p in paths):
        raise MissingJarsError(f"Ivy resolved {len(paths)} jars but not {delta_jar_name(coordinate)}")

    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory.parent) as staging:
        for p in paths:
            shutil.copy2(p, Path(staging) / p.name)
        for p in paths:
            shutil.move(str(Path(staging) / p.name), directory / p.name)
    manifest = {
        "coordinate": coordinate,
        "spark_version": pyspark.__version__,
        "jars": [p.name for p in paths],
        "sha256": {p.name: hashlib.sha256((directory / p.name).read_bytes()).hexdigest() for p in paths},
    }
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(directory / MANIFEST)  # written last: its presence means the set is complete
    log.info("cached %d jars for %s in %s", len(paths), coordinate, directory)
    return directory


def main(argv: list[str] | None = None) -> int:
    """``python -m recaug_spark.jars fetch|path|list [--conf FILE] [--set k=v]``."""
    parser = argparse.ArgumentParser(prog="python -m recaug_spark.jars", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fetch", "path", "list"])
    parser.add_argument("--conf", action="append", default=[])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.conf, args.overrides).spark
        if args.action == "fetch":
            print(fetch(cfg))
        elif args.action == "path":
            print(cache_dir(cfg))
        else:
            print(",".join(resolved_jars(cfg)))
    except RecaugError as exc:
        print(f"recaug jars: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
