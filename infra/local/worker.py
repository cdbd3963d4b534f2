"""One worker function's process: its event source mappings' pollers and their heartbeat.

Started by the runtime with the function's environment (see lambda_runtime.function_env).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

import boto3

from infra.local.lambda_runtime import load_handler
from infra.local.poller import Poller

HEARTBEAT_SECONDS = 3


def _queue_url(sqs, arn: str) -> str:
    _, _, _, region, account, name = arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def owned_mappings(lambda_client, function_name: str) -> list[dict]:
    """The function's event source mappings, which this process consumes in the endpoint's
    place. The runtime disabled them on the endpoint (infra.deploy.consumers); one still
    enabled there means two consumers, so this refuses to start."""
    mappings = lambda_client.list_event_source_mappings(FunctionName=function_name)
    mappings = mappings["EventSourceMappings"]
    enabled = [m["UUID"] for m in mappings if m.get("State") != "Disabled"]
    if enabled:
        raise SystemExit(
            f"worker: {function_name}: mappings {enabled} are not disabled on the endpoint, "
            "which would consume the same queues; refusing to poll them too"
        )
    return mappings


def run(function_name: str, code_dir: Path, handler_path: str, timeout: int) -> None:
    """Poll every mapping of `function_name` until SIGTERM/SIGINT."""
    from paygate.wiring import services  # after the env is in place (table names bind at import)

    services()  # the wiring and its clients, before the first message
    sqs = boto3.client("sqs")
    mappings = owned_mappings(boto3.client("lambda"), function_name)
    handler = load_handler(code_dir, handler_path)
    pollers = [
        Poller(sqs, m, _queue_url(sqs, m["EventSourceArn"]), handler, function_name, timeout)
        for m in mappings
    ]
    for poller in pollers:
        poller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    counters = services().counters
    from paygate import clock

    print(f"worker: {function_name} polling {len(pollers)} queue(s)", flush=True)
    while not stop.is_set():
        if pollers and all(p.alive() for p in pollers):
            try:
                counters.beat(function_name, clock.unix())
            except Exception as exc:  # the emulator may be restarting; keep polling
                print(f"worker: heartbeat failed: {exc}", flush=True)
        stop.wait(HEARTBEAT_SECONDS)
    for poller in pollers:
        poller.stop()
    try:
        counters.beat(function_name, 0)  # stopped on purpose: say so at once
    except Exception as exc:
        print(f"worker: could not record the stop: {exc}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--code-dir", required=True, type=Path)
    parser.add_argument("--handler", required=True)
    args = parser.parse_args()
    run(
        args.function_name,
        args.code_dir,
        args.handler,
        int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "10")),
    )
