# recaug-spark developer entry points. The README's two commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BENCH ?=
QUICK ?=
PYTEST_ARGS ?=
# mypy's cache outside the checkout, beside the jars: a fresh clone checks only what changed (18 s -> 1 s).
MYPY_CACHE ?= $(or $(RECAUG_CACHE_DIR),$(HOME)/.cache/recaug-spark)/mypy

.PHONY: setup jars demo test test-nightly lint format bench bench-peer dist cluster-test clean

setup:  ## create the environment, install, resolve the Delta jars (idempotent)
	@scripts/setup.sh

jars: setup  ## (re)check the Delta jar cache; downloads only what is missing
	@$(PY) -m recaug_spark.jars fetch

demo: setup  ## run the embedded default: every stage (recaug refresh) on the demo shop, lake under ./lakehouse
	@$(VENV)/bin/recaug refresh

test: setup  ## lint + the test suite (one local Spark session), all but the nightly-job scenarios
	@$(VENV)/bin/ruff check recaug_spark jobs tests
	@$(VENV)/bin/ruff format --check recaug_spark jobs tests
	@$(VENV)/bin/mypy --cache-dir $(MYPY_CACHE)
	@$(PY) -m pytest -q -m "not nightly" $(PYTEST_ARGS)

test-nightly: setup  ## whole-refresh and multi-process scenarios: standalone cluster, crash chain, garbage, local[1] CLI, model quality on the demo shop, preprocess of the real datasets
	@$(PY) -m pytest -q -m nightly $(PYTEST_ARGS)

lint:
	@$(VENV)/bin/ruff check recaug_spark jobs tests

.PHONY: typecheck
typecheck: setup  ## mypy --strict on recaug_spark/ (configured in pyproject.toml)
	@$(VENV)/bin/mypy --cache-dir $(MYPY_CACHE)

format:
	@$(VENV)/bin/ruff format recaug_spark jobs tests
	@$(VENV)/bin/ruff check --fix recaug_spark jobs tests

.PHONY: docs
docs:  ## docs/configuration.md from the config models' field descriptions and defaults
	@$(PY) -m recaug_spark.config.docs

bench: setup  ## benchmarks under tests/benchmarks (BENCH=<name>, QUICK=1 for the quick variants)
	@$(PY) -m tests.benchmarks.run $(if $(BENCH),--only $(BENCH)) $(if $(QUICK),--quick)

bench-peer: setup  ## .venv-peer, the benchmarks' peers (RecTools 0.19 for seqrec; bench-only, numpy<2): idempotent
	@scripts/peer_env.sh

dist: setup  ## dist/recaug_spark-<version>.zip for --py-files + dist/recaug-env.tar.gz (venv-pack) for --archives
	@$(PY) scripts/dist.py --env

cluster-test: setup  ## a real standalone cluster on 127.0.0.1 (master + 2 one-core workers): refresh vs local mode
	@$(PY) -m pytest -q tests/e2e/test_cluster.py

clean:
	rm -rf lakehouse bench-results build dist *.egg-info .pytest_cache .ruff_cache
