"""spark-submit entry point: `spark-submit jobs/refresh.py ARGS` does what `recaug refresh ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["refresh", *sys.argv[1:]]))
