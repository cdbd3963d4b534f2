# Paygate: `make run` starts everything locally, `make test` runs every test tier.
# Both set themselves up on a fresh machine (virtualenv, pip, and Debian's Chromium for tests).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
# MiniStack (the local AWS emulator) pins its own botocore, so it gets its own virtualenv. It runs
# the Lambda functions on its own interpreter: python3.12, as the template says, where the machine
# has one (Debian bookworm has no python3.12 package; pyenv's counts), else $(PYTHON).
EMULATOR_VENV   ?= .venv-ministack
LAMBDA_PYTHON   ?= $(firstword $(foreach p,python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12),$(shell $(p) -c 'print("$(p)")' 2>/dev/null)) $(PYTHON))
EMULATOR_STAMP  := $(EMULATOR_VENV)/.installed-$(shell cat requirements-ministack.txt | sha1sum | cut -c1-12)
CHROMIUM ?= /usr/bin/chromium
NODE     ?= node
JS_TESTS := $(wildcard tests/js/*.test.js)
PYTEST_ARGS ?=

.PHONY: setup browser node test-js run run-stack reset test test-group-local test-group-browser test-group-stack test-fast lint format \
	bench deploy-localstack redrive clean

setup: $(STAMP) $(EMULATOR_STAMP)

# The project itself is installed editable for its `paygate` command (.venv/bin/paygate), built
# with the setuptools pinned in requirements.txt (no build isolation: nothing is downloaded).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $@

$(EMULATOR_STAMP): requirements-ministack.txt
	test -x $(EMULATOR_VENV)/bin/python || $(LAMBDA_PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/python -m pip install -q -r requirements-ministack.txt
	touch $@

# Browser tests use Debian's Chromium (no downloaded browsers on these machines).
browser:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium (needs root or sudo)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The checkout's field formatters (sdk/checkout-fields.js) are unit-tested with Node's own test
# runner (Node 18 or later, no npm packages).
node:
	@command -v $(NODE) >/dev/null || { \
	  echo "Installing Debian's nodejs (needs root or sudo)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs >/dev/null; }

test-js: node
	$(NODE) --test $(JS_TESTS)

run: setup
	$(PY) -m infra.local.runtime

# The whole template run by the emulator: API Gateway, Lambda, event source mappings, schedule.
run-stack: setup
	$(PY) -m infra.local.runtime --stack

# Local data lives in .local/ministack between clean stops; this empties it (stop `make run` first).
EMULATOR_STATE_DIR ?= .local/ministack
reset:
	rm -rf "$(EMULATOR_STATE_DIR)"

# Separate pytest processes: the integration tier mocks AWS in-process (mock_aws), which must
# not be active while the live tiers talk to a running stack, and the fault suite binds `paygate`
# to its own stack's tables. The live tiers mostly wait (bank delays, retry schedules, visibility
# timeouts: make test keeps the two cores busy about 40% of the time), so after the quick tiers
# three groups run side by side, each on its own stacks and free ports: the e2e, contract and
# security tiers on `make run`; the browser tier on `make run`, then the integration tier; and
# the fault suite, then the e2e tier on `make run-stack` (the template as the emulator runs it:
# API Gateway, Lambda, mappings, schedule). The fault suite goes first in group 3 on purpose:
# with it in group 1 instead, three stacks deployed and warmed at the same moment and the
# run-stack tier ran 13.5 min beside the others (make test 15:45, two of its tests timed out).
# -Otarget prints each group's output in one piece.
test: setup browser test-js
	$(PY) -m pytest tests/unit tests/infra tests/emulator $(PYTEST_ARGS)
	$(MAKE) --no-print-directory -j3 -Otarget test-group-local test-group-browser test-group-stack

test-group-local:
	$(PY) -m pytest tests/e2e tests/contract tests/security $(PYTEST_ARGS)

test-group-browser:
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest tests/browser $(PYTEST_ARGS)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-group-stack:
	$(PY) -m pytest tests/faults $(PYTEST_ARGS)
	$(PY) -m pytest tests/e2e --stack-mode=stack $(PYTEST_ARGS)

test-fast: setup test-js
	$(PY) -m pytest tests/unit tests/infra tests/emulator tests/contract/test_openapi_routes.py $(PYTEST_ARGS)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench.payments

# With Docker: LocalStack runs the whole template, functions included.
deploy-localstack: setup
	AWS_ENDPOINT_URL=$${AWS_ENDPOINT:-http://localhost:4566} $(PY) -m infra.deploy.localstack

# Move dead-lettered job messages back to their queues (the stack `make run` started, by
# default; STACK_NAME and AWS_ENDPOINT as for `make run`).
redrive: setup
	AWS_ENDPOINT_URL=$${AWS_ENDPOINT:-http://127.0.0.1:$${EMULATOR_PORT:-4566}} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} PYTHONPATH=layers/shared \
	$(PY) -m infra.redrive --stack $${STACK_NAME:-paygate}

clean:
	rm -rf $(VENV) $(EMULATOR_VENV) .local/build .pytest_cache .ruff_cache tests/browser/artifacts
