# vtlab's two commands: `make demo` and `make test`. Both first set up, idempotently, what they need:
#   .venv with the dev extra; the programs vtlab runs beside Python (ffmpeg, Chromium, Node.js), installed with the
#   system package manager when that is allowed without a password (root, or sudo -n; never with
#   VTLAB_NO_SYSTEM_INSTALL=1); the MediaPipe face/hand models; and the conversion venv when it can be built here.
# What cannot be installed here never fails the run: the demo steps and tests that need it are skipped with the one
# command that enables it (ffmpeg always comes, from the imageio-ffmpeg wheel of the dev extra if not from the system).
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

.PHONY: venv sysdeps convert-venv convert-venv-if-possible models demo test test-slow docs readme clean-venv

$(STAMP): setup.py settings.ini pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/python tools/guard_nbdev_docs.py $(BIN) >/dev/null
	touch $@

venv: $(STAMP)

# ffmpeg, Chromium, Node.js: `vtlab_sysdeps` lists them, --install adds the missing ones when allowed, and says what stays missing.
sysdeps: venv
	$(BIN)/vtlab_sysdeps --install ffmpeg chromium node

convert-venv:
	tools/make-convert-venv $(CONVERT_VENV)

convert-venv-if-possible: sysdeps
	tools/make-convert-venv $(CONVERT_VENV) || echo "note: $(CONVERT_VENV) was not built here (above: why); the nail conversion steps and tests are skipped. make convert-venv retries."

# Offline face/hand models: downloaded once from the registry (the mediapipe 0.10.21 wheel), checked by sha256.
models: venv
	$(BIN)/vtlab_fetch_models

demo: models convert-venv-if-possible
	$(BIN)/vtlab_demo

# The CI gate, in order: notebooks clean, library in sync, notebook tests (tools/nbrun.py runs them as nbdev_test
# does and keeps one executed copy of each in _proc/), the documentation site built from those copies (_docs/),
# end-to-end tests (the docs site's browser test among them).
test: models convert-venv-if-possible
	tools/unchanged "nbdev_clean (notebooks must carry no outputs or stray metadata)" $(BIN)/nbdev_clean
	tools/unchanged "nbdev_export (vtlab/ must match the notebooks)" $(BIN)/nbdev_export
	tools/unchanged "README.md (must be generated from nbs/index.ipynb)" $(BIN)/python tools/nb2readme.py
	$(BIN)/python tools/nbrun.py --n-workers 2 --timing
	$(BIN)/python tools/docs.py
	$(BIN)/python -m pytest tests/ -q --durations=15

# The notebooks with their slow cells too (training runs, the TF.js conversion); copies in _proc_slow/, not the docs' _proc/.
test-slow: models convert-venv-if-possible
	$(BIN)/python tools/nbrun.py --n-workers 2 --flags slow --timing --out _proc_slow

# The documentation site: every notebook executed (reusing _proc/ copies whose notebook has not changed since),
# with its outputs and plots, plus an API reference, as static HTML in _docs/. Never nbdev_docs (see tools/guard_nbdev_docs.py).
docs: models
	$(BIN)/python tools/nbrun.py --n-workers 2 --timing --reuse || echo "note: the notebooks above failed; their pages end at the failing cell, marked so"
	$(BIN)/python tools/docs.py

readme: venv
	$(BIN)/python tools/nb2readme.py

clean-venv:
	rm -rf $(VENV) $(CONVERT_VENV)
