"""spark-submit entry point: `spark-submit jobs/ingest.py ARGS` does what `recaug ingest ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
