# Two commands on a fresh machine (Python 3.11, Node 20 with npm):
#   make run    serve the API on the embedded local backends at http://127.0.0.1:$${PORT:-7071}
#   make test   install everything, start the emulators, run the whole suite, stop them
#   make unit   the unit layer only (tests/unit, on in-memory fakes): seconds, no emulator, no Node
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071
LOCAL_DATA_DIR ?= .local
export PORT LOCAL_DATA_DIR

.PHONY: run test unit bench clean help

help:
	@echo "make run | make test | make unit | make bench | make clean"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# checkov pins many packages of its own: it gets a venv of its own.
.venv-infra/.installed: requirements-infra.txt
	@test -x .venv-infra/bin/python || $(PYTHON) -m venv .venv-infra
	.venv-infra/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: $(VENV)/.installed
	$(PY) -m scripts.serve_local

# The suite on TEST_WORKERS pytest-xdist workers (the 2 cores of CI), each with its own emulators;
# whole modules go to one worker (--dist loadscope): module fixtures are built once, tests of a
# module run in their order.
TEST_WORKERS ?= 2
test: $(VENV)/.installed node_modules/.installed .venv-infra/.installed
	$(PY) scripts/with_emulators.py --sets $(TEST_WORKERS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-infra node_modules .pytest_cache
