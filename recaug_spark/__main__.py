"""`python -m recaug_spark <stage> ...` is the same as `recaug <stage> ...`."""

import sys

from recaug_spark.cli import main

sys.exit(main())
