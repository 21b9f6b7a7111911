# `make run` serves the CMS on http://127.0.0.1:8000; `make test` runs everything CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CMS_REPO ?= ./content-repo
export CMS_REPO

.PHONY: run test lint bench clean system-packages

# Debian packages (git, curl; chromium for the browser tests), installed only when missing.
system-packages:
	@missing=""; for p in $(PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-packages PACKAGES="git curl"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cms init --demo
	$(BIN)/cms serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check cms tests bench
	$(BIN)/mypy cms

test: lint
	@$(MAKE) --no-print-directory system-packages PACKAGES="chromium"
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python bench/write_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
