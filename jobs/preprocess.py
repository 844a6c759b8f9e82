"""spark-submit entry point: `spark-submit jobs/preprocess.py ARGS` does what `recaug preprocess ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["preprocess", *sys.argv[1:]]))
