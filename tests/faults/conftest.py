"""Fault injection runs in its own pytest process with its own stack: some tests drive the
stack's emulator in-process through `paygate` (whose table names bind at import)."""

from __future__ import annotations

import os

import boto3
import pytest

from tests.support.stack import start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("fault-logs"))
    yield running
    running.runtime.stop()


@pytest.fixture(scope="session")
def inproc(stack):
    """`paygate.wiring.services()` bound to the stack's tables and queues (the worker's env)."""
    config = boto3.client("lambda").get_function_configuration(
        FunctionName=stack.runtime.deployment["resources"]["PaymentWorkerFunction"]
    )
    os.environ.update({k: str(v) for k, v in config["Environment"]["Variables"].items()})
    from paygate.settings import get_settings

    get_settings.cache_clear()
    from paygate.wiring import services

    return services()
