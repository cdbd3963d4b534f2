"""Webhooks benchmark (issues 5, 15): `python -m bench.webhooks`, on `make run` (mode local)
and on `make run-stack` (mode stack) one after the other (`--mode` picks one).

- deliveries per second to a local receiver that answers 200 at once (1,000 test events);
- create payment → `payment.success` webhook received, p50/p99, with TEST_PROCESSING_DELAY=0;
- AWS requests per delivered event (botocore calls by operation in the webhook worker);
- isolation (issue 12): 15 test events for an endpoint that trickles its answer and 15 for one
  that answers 200 MB, then a healthy merchant's payments: the lag from settlement to its
  `payment.success` webhook, and how long after queueing each bad attempt was recorded;
  and red-team a08's silent flood (16 endpoints that never answer), beside a control flood of
  the same volume to a healthy receiver.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import MODES, fmt, lambda_processes, machine, percentiles, start
from infra.local.lambda_runtime import LAYER_DIR, REPO, function_env
from infra.local.webhook_receiver import Receiver
from tests.support.isolation import run_isolation, run_silent_flood

# paygate.services.webhooks.TEST_WEBHOOKS_PER_MINUTE (the benchmark does not import paygate:
# its settings would bind to this process's environment)
TEST_WEBHOOKS_PER_MINUTE = 60


def merchant(api: str, url: str) -> tuple[dict, str]:
    created = requests.post(
        f"{api}/api/v1/auth/signup",
        timeout=10,
        json={
            "name": "Bench",
            "email": f"{uuid.uuid4().hex}@bench.example",
            "password": "benchmark",
        },
    )
    body = created.json()
    headers = {"X-Api-Key": body["api_key"], "X-Api-Secret": body["api_secret"]}
    requests.put(
        f"{api}/api/v1/webhooks/config", json={"webhook_url": url}, headers=headers, timeout=10
    )
    return headers, body["webhook_secret"]


def wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def delivery_rate(runtime, api: str, receiver: Receiver, count: int):
    """Queue `count` test events with the workers stopped, start them, and time the drain:
    first delivery to last, so the API's own speed does not limit the figure. Test webhooks
    are limited per merchant per minute, so the events come from as many merchants as that
    takes (the receiver verifies each with its merchant's secret)."""
    accounts = [merchant(api, receiver.url) for _ in range(-(-count // TEST_WEBHOOKS_PER_MINUTE))]
    receiver.secret = accounts[0][1]
    receiver.other_secrets = [secret for _, secret in accounts[1:]]
    local = threading.local()

    def send(n):
        if not hasattr(local, "s"):
            local.s = requests.Session()
        headers = accounts[n // TEST_WEBHOOKS_PER_MINUTE][0]
        return local.s.post(f"{api}/api/v1/webhooks/test", headers=headers).status_code

    runtime.stop_workers()
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(send, range(count)))
    started = time.time()
    runtime.start_workers()
    wait(lambda: len(receiver.deliveries) >= codes.count(202), timeout=600)
    first = min(d.at for d in receiver.deliveries)
    last = max(d.at for d in receiver.deliveries)
    bad = sum(1 for d in receiver.deliveries if not (d.legacy_ok and d.standard_ok))
    unique = len({d.headers["webhook-id"] for d in receiver.deliveries})
    print(
        f"    {codes.count(202)} accepted; {len(receiver.deliveries)} delivered "
        f"({unique} distinct webhook-ids), {bad} with a bad signature; first delivery "
        f"{first - started:.2f} s after the workers started"
    )
    return len(receiver.deliveries) / (last - first), last - first, len(receiver.deliveries)


def success_latency(api: str, receiver: Receiver, rounds: int) -> list[float]:
    headers, secret = merchant(api, receiver.url)
    receiver.secret = secret
    session = requests.Session()
    session.headers.update(headers)
    latencies = []
    for _ in range(rounds + 1):  # the first warms the workers' clients and is dropped
        # An order is paid once (issue 11): a new one each round.
        order_id = session.post(f"{api}/api/v1/orders", json={"amount": 1000}).json()["id"]
        started = time.time()
        payment_id = session.post(
            f"{api}/api/v1/payments",
            json={"order_id": order_id, "method": "upi", "vpa": "success@okbank"},
        ).json()["id"]

        def arrived(pid=payment_id):
            return next(
                (
                    d.at
                    for d in list(receiver.deliveries)
                    if d.event["event"] == "payment.success"
                    and d.event["data"]["payment"]["id"] == pid
                ),
                None,
            )

        if not wait(lambda: arrived() is not None, timeout=30):
            raise RuntimeError(f"no payment.success webhook for {payment_id} in 30 s")
        latencies.append(arrived() - started)
    return latencies[1:]


COUNT_SCRIPT = r"""
import collections, json, sys, time
import botocore.client
calls = collections.Counter()
real = botocore.client.BaseClient._make_api_call
def counting(self, operation, params):
    calls[(self.meta.service_model.service_name, operation)] += 1
    return real(self, operation, params)
botocore.client.BaseClient._make_api_call = counting
from pathlib import Path
from infra.local.lambda_runtime import LambdaContext, load_handler
from infra.local.poller import sqs_event
from paygate.db.merchants import MerchantRepository
from paygate.services.events import new_event
from paygate.wiring import services
svc = services()
m = MerchantRepository().get(sys.argv[2])
handler = load_handler(Path(sys.argv[1]), "handler.lambda_handler")
def one():
    event = new_event(m.id, "webhook.test", {"n": 1})
    svc.webhooks.repo.save_event(event)
    message = {"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps({"event_id": event.id}),
               "Attributes": {"SentTimestamp": str(int(time.time() * 1000))}}
    return sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1")
handler(one(), LambdaContext("webhook-worker"))  # warm-up: clients, connections
event = one()
calls.clear()
result = handler(event, LambdaContext("webhook-worker"))
assert result == {"batchItemFailures": []}, result
print(json.dumps([[list(k), v] for k, v in sorted(calls.items())]))
"""


def requests_per_event(runtime, merchant_id: str) -> list:
    config = runtime._function_config("WebhookWorkerFunction")
    env = {
        **runtime.base_env,
        **function_env(config, runtime.config.endpoint),
        "PYTHONPATH": f"{LAYER_DIR}:{REPO / 'functions' / 'webhook_worker'}:{REPO}",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            COUNT_SCRIPT,
            str(REPO / "functions" / "webhook_worker"),
            merchant_id,
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def isolation(api: str, bad_events: int, payments: int) -> None:
    print(
        f"Isolation: {bad_events} test events to a trickling endpoint and {bad_events} to one "
        f"answering 200 MB, then {payments} payments of a healthy merchant"
    )
    run = run_isolation(api, bad_events_each=bad_events, payments=payments)
    lags = list(run.lags.values())
    print(
        f"    healthy merchant, settlement → payment.success received: {fmt(percentiles(lags))}, "
        f"max {max(lags) * 1000:.1f} ms (goal ≤ 2000 ms); {len(run.missing)} never arrived"
    )
    started = sorted(run.started_after.values())
    took = sorted(run.attempt_took.values())
    print(
        f"    bad events taken up {started[0]:.2f}–{started[-1]:.2f} s after queueing; their "
        f"attempts recorded failed {took[0]:.2f}–{took[-1]:.2f} s after starting "
        f"({len(took)} of {run.queued} measured; goal ≤ 6 s)"
    )
    print(
        f"    bytes the 200 MB endpoint could send before being cut off: "
        f"{run.huge_bytes_sent / 1024 / 1024:.1f} MiB over {bad_events} answers"
    )


def flood(api: str, payments: int) -> None:
    print(
        "Silent flood (red-team a08): 16 endpoints on a server that never answers, 9 payments "
        f"(576 attempts), then {payments} payments of another merchant; control: the same "
        "flood to a receiver answering 200 at once"
    )
    for control in (False, True):
        run = run_silent_flood(api, payments=payments, control=control)
        lags = list(run.lags.values()) or [float("nan")]
        print(
            f"    {'control' if control else 'silent '}: settlement → payment.success received "
            f"{fmt(percentiles(lags))}, max {max(lags) * 1000:.1f} ms (goal ≤ 2000 ms); "
            f"{len(run.missing)} never arrived; {run.silent_connections} contacts at the flood's "
            f"server"
        )


def run_mode(mode: str, args) -> None:
    print(f"== mode {mode} ({'make run' if mode == 'local' else 'make run-stack'})")
    runtime = start(mode, TEST_MODE="true", TEST_PROCESSING_DELAY="0")
    api = runtime.api_url
    receiver = Receiver("pending").start()
    try:
        if args.only_isolation:
            isolation(api, args.bad_events, args.isolation_payments)
            flood(api, args.isolation_payments)
            return
        print(f"Deliveries to a local receiver answering 200 ({args.events} test events)")
        rate, elapsed, delivered = delivery_rate(runtime, api, receiver, args.events)
        print(
            f"    {rate:.1f} deliveries/s ({delivered} in {elapsed:.2f} s, first delivery to last)"
        )
        receiver.deliveries.clear()
        print(
            f"Create payment → payment.success received, TEST_PROCESSING_DELAY=0 "
            f"({args.rounds} payments, one at a time)"
        )
        print(f"    {fmt(percentiles(success_latency(api, receiver, args.rounds)))}")
        if mode == "stack":
            print(
                f"    execution environments (processes) per function: {lambda_processes(runtime)}"
            )
            return
        print("AWS requests for one delivered event (webhook worker: dispatch + first attempt)")
        headers, _ = merchant(api, receiver.url)
        merchant_id = requests.get(f"{api}/api/v1/merchant", headers=headers, timeout=5).json()[
            "id"
        ]
        rows = requests_per_event(runtime, merchant_id)
        for (service, operation), n in rows:
            print(f"    {service}:{operation:24s} {n}")
        print(
            f"    total {sum(n for _, n in rows)} (plus the poller's ReceiveMessage and "
            f"DeleteMessageBatch, shared by up to 10 messages of a batch)"
        )
        isolation(api, args.bad_events, args.isolation_payments)
        flood(api, args.isolation_payments)
    finally:
        receiver.stop()
        runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--mode", choices=sorted(MODES), default="both")
    parser.add_argument("--bad-events", type=int, default=15, help="per bad endpoint")
    parser.add_argument("--isolation-payments", type=int, default=10)
    parser.add_argument(
        "--only-isolation", action="store_true", help="run the isolation scenario alone"
    )
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    for mode in MODES[args.mode]:
        run_mode(mode, args)


if __name__ == "__main__":
    main()
