# The two commands of the README's contract:
#   make run   - the service on :8080 against a Spanner emulator (started if needed)
#   make test  - what the suite needs from the machine (installed, or a clear stop), then
#                lint, type-check, and every test against private emulators
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test testdeps lint imports format typecheck pytest migrate bench clean venv lock

# Installs the locks, never the loose requirements*.txt: every package pinned with its
# hashes (pip's hash-checking mode refuses anything else). Edit a requirements*.txt, then
# `make lock`.
$(STAMP): requirements-dev.lock clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	# The Python client and its `ledger` CLI (their own package; tests/client, tests/cli):
	# our own code, so no hash; its dependencies and its build backend (setuptools) came
	# hash-checked from the lock, so nothing is fetched here.
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e clients/python
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m devtools.devserver

# The one definition of the test suite: .ci/run is `make test`, and so is the build's
# test step (cloudbuild.yaml). testdeps comes first: a missing browser or emulator stops
# the run in seconds, not after the lint and half the tests.
test: testdeps lint typecheck pytest checkov

# devtools/testdeps.py: installs what apt-get can (chromium; with sudo unless root) and
# names what it cannot (the emulators: README).
testdeps: $(STAMP)
	$(PY) -m devtools.testdeps --install

# The import contracts (pyproject.toml's [tool.devtools.imports.*], devtools/imports.py):
# no cycles, layers that point down. lint checks those named here; `make imports` checks
# every one.
LINT_IMPORTS := client api

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m devtools.imports $(LINT_IMPORTS)

imports: $(STAMP)
	$(PY) -m devtools.imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

migrate: $(STAMP)
	$(PY) -m api.migrate $(MIGRATE_ARGS)

# checkov (infrastructure-as-code scanner) lives in its own venv: its pins conflict with
# the app's. Zero failed checks allowed; every skip is inline, with its reason. checkov
# exits 0 on files it cannot parse, so the JSON summary's parsing_errors is checked too.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV := $(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact \
	--config-file infra/.checkov.yaml --output cli --output json
CHECKOV_PARSED := $(CHECKOV_VENV)/bin/python -c 'import json, sys; \
	n = json.load(open(sys.argv[1]))["summary"]["parsing_errors"]; \
	sys.exit("checkov could not parse %d file(s)" % n if n else 0)'

.PHONY: checkov

$(CHECKOV_STAMP): requirements-checkov.lock
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-checkov.lock
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)
	$(CHECKOV) --framework terraform --directory infra \
		--output-file-path console,$(CHECKOV_VENV)/infra.json
	$(CHECKOV_PARSED) $(CHECKOV_VENV)/infra.json
	$(CHECKOV) --framework dockerfile --file Dockerfile \
		--output-file-path console,$(CHECKOV_VENV)/dockerfile.json
	$(CHECKOV_PARSED) $(CHECKOV_VENV)/dockerfile.json

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache

# Benchmarks: a private emulator, the service as a real process, docs/BENCHMARKS.md rewritten.
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# The locks: each requirements*.txt resolved to its whole tree, every file's hash, for
# any platform (--universal: markers, not this machine's answers) on Python 3.11. The
# runtime is locked first and constrains the others, so a package has one version
# everywhere. requirements.lock goes into the image; -functions and -lambda are the
# adapters' packages; -dev is what `make` installs; -checkov its own venv's.
# The command is written into each lock's header as it is run (Renovate reads it there
# to refresh a lock: renovate.json).
UV ?= $(VENV)/bin/uv
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes
LOCKED = functions lambda dev checkov

lock:
	test -x $(UV) || $(MAKE) venv
	$(UV_COMPILE) requirements.txt --output-file requirements.lock
	for name in $(LOCKED); do \
		$(UV_COMPILE) --constraints requirements.lock \
			requirements-$$name.txt --output-file requirements-$$name.lock || exit 1; \
	done
