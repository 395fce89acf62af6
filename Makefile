# make run    start the dashboard at http://127.0.0.1:8501 (builds a demo store on first start)
# make check  everything CI checks: format, lint, types, tests including the real browser
#             (`make -k check` carries on past a failing step to show them all)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system run check lint types test format spark-check

setup: system $(VENV)/.installed node_modules/.installed

# Debian packages (chromium, fonts-noto-cjk, poppler-utils), installed only when missing;
# first, as a fresh Debian Python may need python3-venv before the venv can be made.
system:
	@PYTHON=$(PYTHON) scripts/install-system-packages.sh

# Reinstall only when a requirements file changed since the last install.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# axe-core for the accessibility check (tests/browser/test_axe.py), at the version the lock
# pins; again only when package.json or the lock changed. --prefer-offline: npm's cache first.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --prefer-offline
	touch $@

run: setup
	$(BIN)/streamlit run app.py

check: lint types test

# lint-imports: the import contracts in pyproject.toml ([tool.importlinter]).
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

types: setup
	$(BIN)/mypy

# Three workers, one test file each at a time: the browser tests keep one Streamlit server
# and one Chromium for their whole file. The longest files go first, in the order
# tests/conftest.py gives (LONGEST_FIRST), not xdist's (by number of tests, which put the
# one-test kill -9 loop last); the kill -9 loops mostly wait for the processes they kill,
# so they take a worker but little CPU, and the other two keep both cores busy.
test: setup
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder

# The Spark rebuild's tests (python -m metrics refresh --engine spark): pyspark and sqlglot
# into the same venv (pip skips them once installed), then only the tests marked spark.
# Not part of check: CI runs it as a step of its own, after check.
spark-check: setup
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-spark.txt
	GOVDASH_SPARK_TESTS=1 $(BIN)/pytest -m spark -p no:cacheprovider

# Not part of check: rewrites files.
format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
