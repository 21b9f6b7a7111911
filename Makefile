# `make run` serves the CMS on http://127.0.0.1:8000 (`make run PORT=8080 HOST=0.0.0.0`) and
# says where the workbench (/admin/) and the sample frontend (/frontend/) are;
# `make test` runs everything CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SERVE_STAMP := $(VENV)/.serve-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
CMS_REPO ?= ./content-repo
export CMS_REPO
# Python writes the bytecode of what it imports (a machine may set PYTHONDONTWRITEBYTECODE=1,
# as this one and CI do): without it every `cms` process, every gunicorn worker and every
# pytest worker compiles the whole package again, 2 s a start on 2 busy cores.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test lint bench clean system-packages workbench

# Debian packages (git, curl; npm for the workbench; chromium for the browser tests;
# varnish and varnish-modules, whose xkey vmod the cache tests and the benchmark run),
# installed only when missing: each is NAME, or NAME:COMMAND when the command that shows
# it is installed is not its name (libimage-exiftool-perl:exiftool); a package with no
# command at all (varnish-modules) counts as there when dpkg has it installed. ImageMagick
# is known by `identify`, not `convert`: a `convert` that is not ImageMagick's can be on
# PATH without it.
system-packages:
	@missing=""; for p in $(PACKAGES); do \
	  command -v "$${p#*:}" >/dev/null || \
	  dpkg-query -W -f='$${Status}' "$${p%%:*}" 2>/dev/null | grep -q "install ok installed" || \
	  missing="$$missing $${p%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# What serving needs, and nothing else (`make run`).
$(SERVE_STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-packages PACKAGES="git curl"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(SERVE_STAMP)

# Serving plus the dev extras: test, lint and type-check tools.
$(STAMP): $(SERVE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The workbench (Decap CMS at /admin/): the npm package pinned in workbench/package-lock.json,
# with Debian's npm (and so node) when it is missing. npm's output (hundreds of peer-dependency
# warnings) is shown only if it fails.
WORKBENCH_STAMP := workbench/node_modules/.installed-stamp
$(WORKBENCH_STAMP): workbench/package.json workbench/package-lock.json
	@$(MAKE) --no-print-directory system-packages PACKAGES="npm"
	@echo "installing Decap CMS for the workbench (npm ci in workbench/)"
	@log=$$(mktemp); \
	if (cd workbench && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
	    >"$$log" 2>&1; then rm -f "$$log"; \
	else cat "$$log"; rm -f "$$log"; echo "npm ci failed: its output is above"; exit 1; fi
	touch $(WORKBENCH_STAMP)

workbench: $(WORKBENCH_STAMP)

run: $(SERVE_STAMP) $(WORKBENCH_STAMP)
	$(BIN)/cms init --demo
	$(BIN)/cms serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff format --check cms tests bench soak harness
	$(BIN)/ruff check cms tests bench soak harness
	$(BIN)/lint-imports
	$(BIN)/mypy cms

test: lint $(WORKBENCH_STAMP)
	@$(MAKE) --no-print-directory system-packages \
	  PACKAGES="chromium openssl imagemagick:identify libimage-exiftool-perl:exiftool \
	  varnish:varnishd varnish-modules strace gcc"
	$(BIN)/pytest -n 2 --cov=cms --cov-report=term:skip-covered

# Benchmarks (not part of `make test`): builds its own repositories in a temp dir on disk,
# prints a table; the full run writes bench/results.json and bench/write-cost.png (the figures
# the README shows), the quick one writes them to $TMPDIR/cms-bench. The full run takes about
# 75 minutes on 2 cores (importing 100,000 articles is a fifth of it); to measure some rows
# again: python -m bench --phases search readscale --out DIR (see python -m bench --help).
# The workbench in Chromium at 1,000 and 100,000 articles alone: make bench-workbench.
BENCH_STAMP := $(VENV)/.bench-stamp
.PHONY: bench-quick bench-workbench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) $(WORKBENCH_STAMP)
	@$(MAKE) --no-print-directory system-packages PACKAGES="wrk git chromium varnish:varnishd varnish-modules"
	$(BIN)/python -m bench --out bench $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP) $(WORKBENCH_STAMP)
	@$(MAKE) --no-print-directory system-packages PACKAGES="wrk git chromium varnish:varnishd varnish-modules"
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

bench-workbench: $(BENCH_STAMP) $(WORKBENCH_STAMP)
	@$(MAKE) --no-print-directory system-packages PACKAGES="chromium"
	$(BIN)/python -m bench.workbench --out bench/workbench.json $(BENCH_ARGS)

# The soaks' long forms (not part of `make test`, which runs their short forms): the crash
# test killing the server SOAK_CRASHES times, the concurrency test's 12 writers doing
# SOAK_ROUNDS rounds each, then kill -9 of the server under write load for SOAK_MINUTES; and
# (durable-cost) the cost of CMS_DURABLE=true measured side by side.
SOAK_MINUTES ?= 10
SOAK_CRASHES ?= 30
SOAK_ROUNDS ?= 20
.PHONY: soak durable-cost
soak: $(STAMP)
	CMS_SOAK_CRASHES=$(SOAK_CRASHES) CMS_SOAK_ROUNDS=$(SOAK_ROUNDS) $(BIN)/pytest -p no:cacheprovider \
	  -q -s tests/test_crash.py::test_kill_9_under_write_load_loses_no_acknowledged_write \
	  tests/test_concurrency.py
	$(BIN)/python soak/crash_soak.py --minutes $(SOAK_MINUTES)

durable-cost: $(STAMP)
	$(BIN)/python -m bench.durable_cost

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
