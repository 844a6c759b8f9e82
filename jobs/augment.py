"""spark-submit entry point: `spark-submit jobs/augment.py ARGS` does what `recaug augment ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["augment", *sys.argv[1:]]))
