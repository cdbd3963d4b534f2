"""Probes of MiniStack's behaviour, run inside MiniStack's own virtualenv (it pins its own
botocore) by tests/emulator/test_ministack_workarounds.py, with or without the workarounds of
infra/local/ministack_patches.py. Each case prints one JSON object.

    .venv-ministack/bin/python tests/emulator/ministack_probe.py long_poll --patched
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.update({"PERSIST_STATE": "0", "LOG_LEVEL": "ERROR", "IOT_MTLS_ENABLED": "0"})
os.environ.setdefault("TMPDIR", tempfile.mkdtemp(prefix="ministack-probe-"))


FUNCTION = {
    "FunctionName": "probe",
    "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:probe",
    "Runtime": "python3.12",
}


def long_poll() -> dict:
    """Milliseconds from a send to the return of a receive that was already waiting."""
    from ministack.services import sqs

    url = sqs._HANDLERS["CreateQueue"]({"QueueName": "probe"}, "")["QueueUrl"]

    async def one(delay: int) -> float:
        waiting = asyncio.ensure_future(
            sqs._HANDLERS["ReceiveMessage"]({"QueueUrl": url, "WaitTimeSeconds": 5}, url)
        )
        await asyncio.sleep(0.02)  # the receive is waiting now
        sent = time.monotonic()
        sqs._HANDLERS["SendMessage"](
            {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": delay}, url
        )
        result = await waiting
        elapsed = time.monotonic() - sent - delay
        for message in result["Messages"]:
            sqs._HANDLERS["DeleteMessage"](
                {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]}, url
            )
        return elapsed * 1000

    async def run() -> dict:
        arrivals = [await one(0) for _ in range(15)]
        delayed = [await one(1) for _ in range(3)]
        return {"arrival_ms": statistics.median(arrivals), "delayed_ms": max(delayed)}

    return asyncio.run(run())


def log_drain() -> dict:
    """Milliseconds a warm invocation takes for a handler that does nothing and logs nothing."""
    from ministack.core import lambda_runtime

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("quiet.py", "def handler(event, context):\n    return event\n")
    config = {**FUNCTION, "Handler": "quiet.handler"}
    worker = lambda_runtime.Worker("probe", config, buffer.getvalue())
    try:
        assert worker.invoke({"n": 0}, "cold")["status"] == "ok"  # the cold start
        times = []
        for n in range(10):
            started = time.monotonic()
            result = worker.invoke({"n": n}, f"r{n}")
            times.append((time.monotonic() - started) * 1000)
            assert result["status"] == "ok" and result["result"] == {"n": n}, result
    finally:
        worker.kill()
    return {"warm_ms": statistics.median(times)}


SPEC = {
    "swagger": "2.0",
    "info": {"title": "probe", "version": "1"},
    "paths": {
        "/orders": {
            "post": {"responses": {}},
            "x-amazon-apigateway-any-method": {"responses": {}},
        }
    },
    "x-amazon-apigateway-gateway-responses": {
        "MISSING_AUTHENTICATION_TOKEN": {
            "statusCode": 404,
            "responseTemplates": {"application/json": '{"error":"none"}'},
        }
    },
}


def openapi_import() -> dict:
    """Which methods and gateway responses an imported OpenAPI body ends up with."""
    from ministack.services import apigateway_v1

    api_id = apigateway_v1._import_rest_api(json.loads(json.dumps(SPEC)))
    methods = sorted(
        m
        for resource in apigateway_v1._resources.get(api_id, {}).values()
        for m in resource.get("resourceMethods", {})
    )
    responses = apigateway_v1._gateway_responses.get(api_id, {})
    missing = responses.get("MISSING_AUTHENTICATION_TOKEN", {})
    return {"methods": methods, "missing_token_status": missing.get("statusCode")}


def environment_cap() -> dict:
    """With two concurrent invocations of one function and a cap of one: does the second start
    another process, or wait for the first to finish?"""
    from ministack.core import lambda_runtime

    config = {**FUNCTION, "Handler": "h.h", "Timeout": 5}
    first, _ = lambda_runtime.acquire_worker("probe", config, b"")
    second: dict = {}

    def take() -> None:
        started = time.monotonic()
        worker, reason = lambda_runtime.acquire_worker("probe", config, b"")
        second.update(worker=worker, reason=reason, waited=time.monotonic() - started)

    thread = threading.Thread(target=take)
    thread.start()
    time.sleep(0.3)
    lambda_runtime.release_worker(first)
    thread.join(timeout=10)
    return {
        "second_is_first": second["worker"] is first,
        "waited_s": round(second["waited"], 3),
        "environments": len(
            lambda_runtime._workers[lambda_runtime._worker_key("probe", config, "$LATEST")]
        ),
    }


CASES = {f.__name__: f for f in (long_poll, log_drain, openapi_import, environment_cap)}

if __name__ == "__main__":
    case, mode = sys.argv[1], sys.argv[2]
    if mode == "--patched":
        from infra.local import ministack_patches

        ministack_patches.apply(environments=1)
    print(json.dumps(CASES[case]()))
