# Paygate: `make run` starts everything locally, `make test` runs every test tier.
# Both set themselves up on a fresh machine (virtualenv, pip, and Debian's Chromium for tests).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | sha1sum | cut -c1-12)
CHROMIUM ?= /usr/bin/chromium
NODE     ?= node
JS_TESTS := $(wildcard tests/js/*.test.js)
PYTEST_ARGS ?=

.PHONY: setup browser node test-js run test test-fast lint format bench deploy-localstack clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
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

# Separate pytest processes: the integration tier mocks AWS in-process (mock_aws), which must
# not be active while the e2e and browser tiers talk to the running local stack, and the fault
# suite binds `paygate` to its own stack's tables.
test: setup browser test-js
	$(PY) -m pytest tests/unit tests/infra $(PYTEST_ARGS)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest tests/e2e tests/contract tests/security tests/browser $(PYTEST_ARGS)
	$(PY) -m pytest tests/faults $(PYTEST_ARGS)

test-fast: setup test-js
	$(PY) -m pytest tests/unit tests/infra tests/contract/test_openapi_routes.py $(PYTEST_ARGS)
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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/browser/artifacts
