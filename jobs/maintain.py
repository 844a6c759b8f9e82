"""spark-submit entry point: `spark-submit jobs/maintain.py ARGS` does what `recaug maintain ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["maintain", *sys.argv[1:]]))
