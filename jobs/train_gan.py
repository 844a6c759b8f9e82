"""spark-submit entry point: `spark-submit jobs/train_gan.py ARGS` does what `recaug train-gan ARGS` does."""

import sys

from recaug_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-gan", *sys.argv[1:]]))
