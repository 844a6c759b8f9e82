"""``recaug <stage>``: parse the CLI contract, load the config, build the session, dispatch one stage.

Stages live in their own modules (``recaug_spark.stages.<name>``) with ``run(spark, cfg, lake, ctx) ->
StageResult``; pipeline.py dispatches and records the run in gold/pipeline_runs. Errors a user
can cause are printed as one line on stderr with exit code 2; a refresh of the same input already
running exits 75 (try again later); anything else exits 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from recaug_spark import __version__
from recaug_spark.config import REFRESH_ORDER, load_config
from recaug_spark.errors import LockedError, RecaugError
from recaug_spark.pipeline import STAGES, execute
from recaug_spark.session import build_session

log = logging.getLogger("recaug_spark")

# 75 is EX_TEMPFAIL (sysexits.h): "try again later", for schedulers that retry on it.
EXIT_OK, EXIT_FAILED, EXIT_USER_ERROR, EXIT_LOCKED = 0, 1, 2, 75


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the CLI contract in DESIGN.md."""
    parser = argparse.ArgumentParser(
        prog="recaug",
        description="recaug-spark: augment e-commerce recommendation data on Delta Lake and measure the lift.",
        epilog="Config layers: conf/base.yaml, conf/local.yaml (the demo's profile; skipped when a --conf FILE "
        "sets source), each --conf FILE, then --set / --lake.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"recaug-spark {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="<stage>", title="stages")
    for stage in STAGES:
        p = sub.add_parser(stage.name, help=stage.summary, description=stage.summary)
        p.add_argument(
            "--conf", action="append", default=[], metavar="FILE", help="YAML file merged after the defaults"
        )
        p.add_argument(
            "--set",
            action="append",
            default=[],
            dest="overrides",
            metavar="KEY=VALUE",
            help="override a dotted config key",
        )
        p.add_argument("--lake", metavar="PATH", help="lake root (same as --set lake.root=PATH)")
        p.add_argument("--run-id", metavar="ID", help="run id recorded in gold/pipeline_runs (default: time + random)")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
        if stage.name == "refresh":
            which = p.add_mutually_exclusive_group()
            which.add_argument("--from", dest="from_stage", choices=REFRESH_ORDER, help="start at this stage")
            which.add_argument("--only", choices=REFRESH_ORDER, help="run this stage alone")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``recaug`` and of every ``jobs/<stage>.py``."""
    args = build_parser().parse_args(argv)
    if args.stage is None:
        build_parser().print_help()
        return EXIT_USER_ERROR
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        return run_stage(args.stage, args)
    except LockedError as exc:
        print(f"recaug {args.stage}: locked: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except RecaugError as exc:
        print(f"recaug {args.stage}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:
        if args.verbose:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:500]
        print(
            f"recaug {args.stage}: failed: {type(exc).__name__}: {first} (rerun with -v for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def run_stage(stage_name: str, args: argparse.Namespace) -> int:
    """Load the config (before anything else: a config error touches no table), build the session, run."""
    overrides = list(args.overrides)
    for key in ("from_stage", "only"):  # refresh's --from / --only are its config keys
        if getattr(args, key, None):
            overrides.append(f"refresh.{key}={getattr(args, key)}")
    cfg = load_config(args.conf, overrides, lake_root=args.lake)
    spark = build_session(cfg.spark, app_name=f"recaug-{stage_name}")
    result = execute(stage_name, cfg, spark, run_id=args.run_id)
    print(f"recaug {stage_name}: {result.status}: {result.message}".rstrip(": "))
    return EXIT_OK
