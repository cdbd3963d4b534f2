"""Fixtures shared by the tiers. The local stack starts only for tests that ask for it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The whole local product (same code as `make run`), on free ports, in test mode."""
    from tests.support.stack import start_stack

    running = start_stack(tmp_path_factory.mktemp("stack-logs"))
    yield running
    running.runtime.stop()
