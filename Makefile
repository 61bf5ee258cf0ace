# vtlab's two commands: `make demo` and `make test`. Both bootstrap .venv idempotently first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vtlab-installed
# This machine's pip config adds a find-links folder holding a CPU-only torch wheel whose torchvision ops
# fail to load; take torch and torchvision from the registry's standard build instead.
export PIP_FIND_LINKS :=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test test-slow readme clean-venv

$(STAMP): setup.py settings.ini
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(STAMP)

demo: venv
	$(BIN)/vtlab_demo

# The CI gate, in order: notebooks clean, library in sync, notebook tests, end-to-end tests.
test: venv
	tools/unchanged "nbdev_clean (notebooks must carry no outputs or stray metadata)" $(BIN)/nbdev_clean
	tools/unchanged "nbdev_export (vtlab/ must match the notebooks)" $(BIN)/nbdev_export
	tools/unchanged "README.md (must be generated from nbs/index.ipynb)" $(BIN)/python tools/nb2readme.py
	$(BIN)/nbdev_test --n_workers 2 --timing
	$(BIN)/python -m pytest tests/ -q

test-slow: venv
	$(BIN)/nbdev_test --n_workers 2 --flags slow --timing

readme: venv
	$(BIN)/python tools/nb2readme.py

clean-venv:
	rm -rf $(VENV)
