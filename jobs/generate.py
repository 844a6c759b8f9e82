"""spark-submit entry point: `spark-submit jobs/generate.py ARGS` does what `recaug generate ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
