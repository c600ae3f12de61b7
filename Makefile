# Single entry point. `make deploy` and `make test` are the README's two commands.
SHELL := /bin/bash
VENV ?= .venv
PY ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# `make <target> JUNIT=1`: every ansible-playbook run also writes a JUnit XML
# report (ansible-core's own ansible.builtin.junit callback, one testcase per
# task and host) into JUNIT_OUTPUT_DIR. Off by default; see docs/ci.md.
JUNIT_OUTPUT_DIR ?= reports/junit
ifdef JUNIT
export ANSIBLE_CALLBACKS_ENABLED := ansible.builtin.junit
export JUNIT_OUTPUT_DIR := $(abspath $(JUNIT_OUTPUT_DIR))
export JUNIT_HIDE_TASK_ARGUMENTS := true
export JUNIT_TASK_RELATIVE_PATH := $(CURDIR)
endif

.PHONY: setup deploy engine test lint unit integration app molecule e2e e2e-extended e2e-all clean-venv

$(VENV)/.installed: requirements.txt
	@command -v $(PY) >/dev/null || { echo "python3 is required"; exit 1; }
	$(PY) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PY) -m venv $(VENV); }
	$(VENV)/bin/pip install --upgrade pip >/dev/null
	$(VENV)/bin/pip install -r requirements.txt
	touch $@

setup: $(VENV)/.installed ## virtualenv with the pinned toolchain

engine: setup ## only the Docker engine, through the docker_engine role
	ansible-playbook playbooks/engine.yml

deploy: setup ## the main job against localhost: engine and every image
	ansible-playbook deploy-prod.yml

lint: setup
	yamllint -s .
	ansible-lint

# Pure: no engine, no network; runs first and takes seconds.
unit: setup
	python -m pytest -q tests/unit

# Real containers of the images molecule built (a broker, promtool, the socket proxy).
integration: setup
	python -m pytest -q tests/integration

# The reference app's own tests (real PostgreSQL and Mosquitto containers from
# the images molecule built), in a virtualenv of the app's pinned requirements.
APP_DIR := examples/taylordash/backend
$(APP_DIR)/.venv/.installed: $(APP_DIR)/requirements.txt $(APP_DIR)/requirements-test.txt
	$(PY) -m venv $(APP_DIR)/.venv
	$(APP_DIR)/.venv/bin/pip install -q -r $(APP_DIR)/requirements-test.txt
	touch $@

app: $(APP_DIR)/.venv/.installed
	cd $(APP_DIR) && .venv/bin/python -m pytest -q

molecule: setup
	molecule test

# The CI tier (`make test`); the extended tier's tests are listed in tests/e2e/conftest.py (EXTENDED).
e2e: setup
	python -m pytest -v -o console_output_style=times tests/e2e

# The slower variants and multi-host flows CI leaves out (on a machine with time to spare: about 45 minutes).
e2e-extended: setup
	TAYLORDASH_E2E_TIER=extended python -m pytest -v -o console_output_style=times tests/e2e

# Both tiers, in one session (the stack deployed once).
e2e-all: setup
	TAYLORDASH_E2E_TIER=all python -m pytest -v -o console_output_style=times tests/e2e

# Unit tests run first (pure, seconds); integration tests after molecule built
# the images they run, and under `make test` they fail rather than skip without them.
# Lint and the app's virtualenv need no engine: they run beside molecule (most
# of whose time is image builds waiting on the network) on the second core, their
# output kept in reports/ and printed when molecule is done.
test: export TAYLORDASH_REQUIRE_ENGINE := 1
test: setup ## every test: unit, lint (beside molecule), molecule on the real engine, integration, the app's tests, end to end (each stage timed)
	@mkdir -p reports; \
	stage() { start=$$(date +%s); $(MAKE) --no-print-directory $$1 || return 1; \
	  echo "== stage $$1 took $$(( $$(date +%s) - start ))s"; }; \
	stage unit || exit 1; \
	( stage lint && start=$$(date +%s) && $(MAKE) --no-print-directory $(APP_DIR)/.venv/.installed \
	  && echo "== the app's virtualenv took $$(( $$(date +%s) - start ))s" ) > reports/beside-molecule.log 2>&1 & beside=$$!; \
	stage molecule; molecule=$$?; \
	wait $$beside; status=$$?; echo "== beside molecule: lint, the app's virtualenv (rc $$status)"; \
	cat reports/beside-molecule.log; \
	[ $$molecule -eq 0 ] && [ $$status -eq 0 ] || exit 1; \
	for next in integration app e2e; do stage $$next || exit 1; done
