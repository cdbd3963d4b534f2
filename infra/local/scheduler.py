"""Scheduled functions, locally: invoke the handler at the rate of its `Schedule` event, as
EventBridge does on AWS. Started by the runtime with the function's environment."""

from __future__ import annotations

import argparse
import re
import signal
import threading
from pathlib import Path

import boto3

from infra.local.lambda_runtime import LambdaContext, load_handler

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs of a `rate(N unit)` expression."""
    match = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule expression: {expression}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def scheduled_event(rule: str) -> dict:
    return {
        "version": "0",
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "resources": [rule],
        "detail": {},
    }


def check_rules_disabled(lambda_client, events_client, function_name: str) -> None:
    """The endpoint's own rules for this function must be off (infra.deploy.consumers), or the
    function would run twice per tick."""
    arn = lambda_client.get_function_configuration(FunctionName=function_name)["FunctionArn"]
    names = events_client.list_rule_names_by_target(TargetArn=arn).get("RuleNames", [])
    enabled = [n for n in names if events_client.describe_rule(Name=n)["State"] != "DISABLED"]
    if enabled:
        raise SystemExit(
            f"scheduler: {function_name}: rules {enabled} are enabled on the endpoint, which "
            "would run it too; refusing to schedule it"
        )


def run(function_name: str, code_dir: Path, handler_path: str, every: int) -> None:
    check_rules_disabled(boto3.client("lambda"), boto3.client("events"), function_name)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"scheduler: {function_name} every {every}s", flush=True)
    handler = None
    while not stop.wait(every):
        try:
            # Imported at the first tick, not while the rest of the stack is starting up (the
            # function's cold start, as on Lambda, without competing with `make run` for CPU).
            handler = handler or load_handler(code_dir, handler_path)
            handler(scheduled_event(function_name), LambdaContext(function_name))
        except Exception as exc:  # a failed run is retried at the next tick, as on AWS
            print(f"scheduler: {function_name} failed: {exc!r}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--code-dir", required=True, type=Path)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--schedule", required=True)
    args = parser.parse_args()
    run(args.function_name, args.code_dir, args.handler, rate_seconds(args.schedule))
