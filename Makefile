# vtlab's two commands: `make demo` and `make test`. Both bootstrap .venv idempotently first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vtlab-installed
# TensorFlow + onnx2tf + tensorflowjs conflict with the runtime stack (numpy/protobuf), so the nail conversion
# chain runs in its own venv as a subprocess; tools/make-convert-venv is idempotent (a stamp of its recipe).
CONVERT_VENV := .venv-convert
# This machine's pip config adds a find-links folder holding a CPU-only torch wheel whose torchvision ops
# fail to load; take torch and torchvision from the registry's standard build instead.
export PIP_FIND_LINKS :=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv convert-venv models demo test test-slow readme clean-venv

$(STAMP): setup.py settings.ini
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(STAMP)

convert-venv:
	tools/make-convert-venv $(CONVERT_VENV)

# Offline face/hand models: downloaded once from the registry (the mediapipe 0.10.21 wheel), checked by sha256.
models: venv
	$(BIN)/vtlab_fetch_models

demo: models convert-venv
	$(BIN)/vtlab_demo

# The CI gate, in order: notebooks clean, library in sync, notebook tests, end-to-end tests.
test: models convert-venv
	tools/unchanged "nbdev_clean (notebooks must carry no outputs or stray metadata)" $(BIN)/nbdev_clean
	tools/unchanged "nbdev_export (vtlab/ must match the notebooks)" $(BIN)/nbdev_export
	tools/unchanged "README.md (must be generated from nbs/index.ipynb)" $(BIN)/python tools/nb2readme.py
	$(BIN)/nbdev_test --n_workers 2 --timing --skip_folder_re '^(runs|[_.].*)$$'
	$(BIN)/python -m pytest tests/ -q

test-slow: venv
	$(BIN)/nbdev_test --n_workers 2 --flags slow --timing --skip_folder_re '^(runs|[_.].*)$$'

readme: venv
	$(BIN)/python tools/nb2readme.py

clean-venv:
	rm -rf $(VENV) $(CONVERT_VENV)
