"""Fixtures shared by the tiers. The local stack starts only for tests that ask for it."""

from __future__ import annotations

import os

import pytest

# Tests import the API's app (route checks), which refuses to start outside local mode without
# a token key; in-process they run as the local runtime does. Tiers with a stack of their own
# take the functions' environment from it.
os.environ.setdefault("LOCAL_MODE", "true")


def pytest_addoption(parser):
    parser.addoption(
        "--stack-mode",
        choices=("local", "stack"),
        default="local",
        help="run the live tiers against `make run` (local, the default) or `make run-stack`",
    )


@pytest.fixture(scope="session")
def stack_mode(request) -> str:
    return request.config.getoption("--stack-mode")


@pytest.fixture(scope="session")
def stack(tmp_path_factory, stack_mode):
    """The whole local product (same code as `make run`, or `make run-stack` with
    --stack-mode=stack), on free ports, in test mode."""
    from tests.support.stack import start_stack

    running = start_stack(tmp_path_factory.mktemp("stack-logs"), mode=stack_mode)
    yield running
    running.runtime.stop()


def pytest_collection_modifyitems(config, items):
    tiers = {
        item.path.relative_to(config.rootpath).parts[1]
        for item in items
        if item.path.is_relative_to(config.rootpath / "tests")
    }
    live = {"e2e", "browser", "contract", "security"}
    if len(tiers & {"integration", "faults"}) + bool(tiers & live) > 1:
        raise pytest.UsageError(
            "tests/integration (mock_aws) and tests/faults (paygate bound to its own stack) each "
            "run in their own pytest process; make test does: unit+infra, integration, "
            "e2e+contract+security+browser, faults"
        )
