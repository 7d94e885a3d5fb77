# The two commands a user types: `make demo` and `make test`.
# Both create .venv if it is missing and install rangeguard with its runtime
# and test dependencies (re-installed whenever pyproject.toml changes).
# The system packages they need (Debian's python3-venv, and for `make test`
# Debian's chromium for the browser tests) are installed by
# tools/system-packages.sh when missing, or it says how and stops.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rangeguard-installed

.PHONY: demo test bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || { PYTHON=$(PYTHON) sh tools/system-packages.sh venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rangeguard demo

test: $(STAMP)
	@sh tools/system-packages.sh chromium
	$(PY) -m ruff check src tests bench tools
	$(PY) -m ruff format --check src tests bench tools
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP)
	@set -e; for f in bench/[!_]*.py; do echo "== $$f"; $(PY) $$f; done

clean:
	rm -rf $(VENV) rangeguard-out .pytest_cache
