"""Integration tier: moto in-process (`mock_aws`) holding the stack deployed from template.yaml.

The mock starts and the stack deploys when this conftest is imported, before the test modules
import `paygate` (PynamoDB binds table names at import). AWS_ENDPOINT_URL stays unset: mock_aws
intercepts AWS's own hostnames. Run this tier in its own pytest process (the Makefile does).
"""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from tests.integration import moto_patches

for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "integration",
        # PurgeQueue before every test (below); AWS allows one a minute per queue.
        "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false",
    }
)

moto_patches.apply()
_mock = mock_aws()
_mock.start()

from infra.deploy.stack import deploy  # noqa: E402 - after the mock is up

DEPLOYED = deploy(
    "paygate-it",
    {
        "AuthTokenSecret": "x" * 40,
        "TestMode": "true",
        "TestProcessingDelay": "0",
        "LocalMode": "true",
        "DemoLogin": "true",
        "WorkerStatusSource": "heartbeat",
        "WebhookRetryIntervalsTest": "true",
        # The tier's receivers listen on loopback: allowed explicitly, never by test mode.
        "WebhookAllowPrivateTargets": "true",
    },
    leave_out=moto_patches.CANNOT_CREATE,
)
_api = boto3.client("lambda").get_function_configuration(
    FunctionName=DEPLOYED["resources"]["ApiFunction"]
)
_lambda_env = _api["Environment"]["Variables"]
os.environ.update({k: str(v) for k, v in _lambda_env.items()})

from paygate.settings import get_settings  # noqa: E402

get_settings.cache_clear()


@pytest.fixture(autouse=True)
def empty_queues():
    """Every test starts with empty queues. Emptying by receiving is not enough: a message an
    earlier test received and left (in flight) comes back when the queue's 60 s visibility
    timeout ends, and a delayed retry arrives when its delay ends, in whichever test runs then
    (a flaky `queued(...)[0]` took another merchant's event that way). PurgeQueue removes those
    too."""
    sqs = boto3.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.purge_queue(QueueUrl=url)


@pytest.fixture
def receiver():
    """A local webhook receiver answering 200 (set `.status`, `.secret` as needed)."""
    from infra.local.webhook_receiver import Receiver

    running = Receiver("unused").start()
    yield running
    running.stop()


def pytest_unconfigure(config):
    _mock.stop()
