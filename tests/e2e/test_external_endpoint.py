"""`make run AWS_ENDPOINT=…` (and `make run-stack AWS_ENDPOINT=…`): the product on an AWS endpoint
that is already running, here a second MiniStack started by the test. The runtime deploys into
it, applies the one-consumer rule there, works, and leaves it running when it stops."""

from __future__ import annotations

import subprocess
import time

import boto3
import requests

from infra.deploy import consumers
from infra.local.runtime import EMULATOR_PYTHON
from tests.support.stack import REPO, TEST_HEADERS, Run, free_port, listening


def test_make_run_on_an_endpoint_already_running(stack_mode, tmp_path, monkeypatch):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    external = subprocess.Popen(
        [str(EMULATOR_PYTHON), "-m", "infra.local.emulator", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    run = None
    try:
        deadline = time.monotonic() + 20
        while not listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        run = Run(stack_mode, tmp_path / "unused", {"AWS_ENDPOINT": endpoint})
        output = run.wait_up()
        assert "Paygate is up" in output, output
        assert f"AWS endpoint   {endpoint}" in output
        assert not listening(run.ports["EMULATOR_PORT"])  # no emulator of its own

        session = requests.Session()
        session.headers.update(TEST_HEADERS)
        order = session.post(f"{run.api}/api/v1/orders", json={"amount": 1000}, timeout=10).json()
        payment = session.post(
            f"{run.api}/api/v1/payments",
            json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
            timeout=10,
        ).json()
        deadline = time.monotonic() + 30
        status = "pending"
        while status == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = session.get(f"{run.api}/api/v1/payments/{payment['id']}", timeout=10).json()[
                "status"
            ]
        assert status == "success"  # someone consumed the payment queue: exactly one consumer

        for key, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(key, value)
        cfn = boto3.client("cloudformation")
        resources = [
            r
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName="paygate-run")
            for r in page["StackResourceSummaries"]
        ]
        mappings = [
            r["PhysicalResourceId"] for r in resources if r["ResourceType"] == consumers.MAPPING
        ]
        states = {
            boto3.client("lambda").get_event_source_mapping(UUID=u)["State"] for u in mappings
        }
        assert states == ({"Disabled"} if stack_mode == "local" else {"Enabled"})
    finally:
        if run is not None:
            output = run.ctrl_c()
            assert "Paygate stopped." in output
        alive = external.poll() is None
        external.terminate()
        external.wait(timeout=60)
    assert alive, "the runtime stopped an endpoint it did not start"
