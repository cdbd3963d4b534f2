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


WIDE = "wide-probe"
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


def idle_reap() -> dict:
    """Two environments of one function, idle for 10 minutes: how many does the reaper keep?"""
    from ministack.core import lambda_runtime

    name = WIDE  # a function that may have two environments
    config = {**FUNCTION, "FunctionName": name, "Handler": "h.h", "Timeout": 5}
    leased = [lambda_runtime.acquire_worker(name, config, b"")[0] for _ in range(2)]
    for worker in leased:
        lambda_runtime.release_worker(worker)
        worker.last_used = time.time() - 600
    lambda_runtime.reap_idle_workers()
    key = lambda_runtime._worker_key(name, config, "$LATEST")
    return {"environments": len(lambda_runtime._workers.get(key, []))}


SLOW_HANDLER = """import os, time
SLOW = {slow!r}
def handler(event, context):
    left = int(open(SLOW).read())
    if left:  # the first invocations run past the timeout: their process is killed
        open(SLOW, "w").write(str(left - 1))
        time.sleep(3)
    return os.getpid()
"""


def warm() -> dict:
    """Warming both environments of a function whose first two invocations time out: once
    (what invoking twice at once gives), then with the retries of `warm_environments`."""
    from ministack.core import lambda_runtime
    from ministack.services import lambda_svc

    from infra.local.ministack_patches import warm_environments

    slow = Path(tempfile.mkdtemp()) / "slow"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("slow.py", SLOW_HANDLER.format(slow=str(slow)))
    config = {**FUNCTION, "FunctionName": WIDE, "Handler": "slow.handler", "Timeout": 1}
    lambda_svc._functions[WIDE] = {"config": config, "code_zip": buffer.getvalue()}
    results = {}
    for label, attempts in (("once", 1), ("retried", 3)):
        slow.write_text("2")
        results[label] = warm_environments(lambda_runtime, lambda_svc, WIDE, 2, attempts)
    pool = lambda_runtime._workers[lambda_runtime._worker_key(WIDE, config, "$LATEST")]
    live = {w._proc.pid for w in pool if w._proc is not None and w._proc.poll() is None}
    lambda_runtime.kill_workers(pool)
    return {**results, "live_processes": len(live)}


CASES = {
    f.__name__: f for f in (long_poll, log_drain, openapi_import, environment_cap, idle_reap, warm)
}

if __name__ == "__main__":
    case, mode = sys.argv[1], sys.argv[2]
    if mode == "--patched":  # as infra.local.emulator runs MiniStack
        from infra.local import ministack_patches
        from infra.local.emulator import KEEP_WARM

        os.environ.update(KEEP_WARM)  # read when MiniStack's modules are imported

        ministack_patches.apply(environments=1, overrides={WIDE: 2})
    print(json.dumps(CASES[case]()))
