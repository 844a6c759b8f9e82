"""spark-submit entry point: `spark-submit jobs/evaluate.py ARGS` does what `recaug evaluate ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
