"""spark-submit entry point: `spark-submit jobs/split.py ARGS` does what `recaug split ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["split", *sys.argv[1:]]))
