"""Payments benchmark (issues 3, 15): run with `make bench` or `python -m bench.payments`.

Runs on `make run` (mode local) and on `make run-stack` (mode stack), one after the other
(`--mode` picks one). In the stack the first burst at concurrency 16 is cold and is reported on
its own, with the execution environments (processes) each function ended up with.

(a) POST /api/v1/payments at concurrency 1 and 16, 30 s each: latency percentiles and req/s;
(b) TEST_PROCESSING_DELAY=1000, 400 payments created as fast as possible: settled per second
    from the first create to the last settle;
(c) one payment at a time: create → settled, minus the configured delay;
(d) AWS requests per payment (botocore calls by operation, one create + one settle) and the
    cold import time of the API and worker handlers.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import MODES, TEST_HEADERS, fmt, lambda_processes, machine, percentiles, start
from infra.local.lambda_runtime import LAYER_DIR, REPO, function_env


def _session() -> requests.Session:
    session = requests.Session()
    session.headers.update(TEST_HEADERS)
    return session


def create_order(api: str, amount: int = 10000) -> str:
    return _session().post(f"{api}/api/v1/orders", json={"amount": amount}).json()["id"]


def load(api: str, concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    """POST payments for `seconds` with `concurrency` clients; (latencies, errors, elapsed)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        session = _session()
        mine, bad = [], 0
        while time.monotonic() < deadline:
            # An order takes one payment at a time: each payment gets its own (untimed) order.
            order_id = session.post(f"{api}/api/v1/orders", json={"amount": 10000}).json()["id"]
            body = {"order_id": order_id, "method": "upi", "vpa": "bench@okbank"}
            started = time.perf_counter()
            response = session.post(f"{api}/api/v1/payments", json=body)
            mine.append(time.perf_counter() - started)
            bad += response.status_code != 201
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.monotonic() - started


def wait_all_settled(api: str, ids: list[str], timeout: float) -> dict[str, float]:
    """Poll until every payment left `pending`; returns id → time it was first seen settled."""
    session = _session()
    settled: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(settled) < len(ids) and time.monotonic() < deadline:
        for payment_id in ids:
            if payment_id in settled:
                continue
            status = session.get(f"{api}/api/v1/payments/{payment_id}").json()["status"]
            if status != "pending":
                settled[payment_id] = time.monotonic()
        time.sleep(0.05)
    return settled


def settle_throughput(api: str, count: int) -> tuple[float, float, int]:
    """(settled per second, seconds from first create to last settle, settled count)."""
    with ThreadPoolExecutor(16) as pool:
        order_ids = list(pool.map(lambda _: create_order(api), range(count)))
    first = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        sessions = threading.local()

        def create(order_id):
            if not hasattr(sessions, "s"):
                sessions.s = _session()
            body = {"order_id": order_id, "method": "upi", "vpa": "bench@okbank"}
            return sessions.s.post(f"{api}/api/v1/payments", json=body).json()["id"]

        ids = list(pool.map(create, order_ids))
    created = time.monotonic() - first
    # Watch the payments table rather than poll 400 GETs: the last settle time is what counts.
    settled = wait_all_settled(api, ids, timeout=120)
    last = max(settled.values()) if settled else time.monotonic()
    elapsed = last - first
    print(f"    created {count} in {created:.2f} s; all settled after {elapsed:.2f} s")
    return len(settled) / elapsed, elapsed, len(settled)


def settle_latency(api: str, rounds: int, delay_s: float) -> list[float]:
    """Create → first seen settled, minus the configured delay, one payment at a time."""
    session = _session()
    extra = []
    for _ in range(rounds):
        order_id = create_order(api)  # a paid order takes no second payment
        started = time.monotonic()
        payment_id = session.post(
            f"{api}/api/v1/payments",
            json={"order_id": order_id, "method": "upi", "vpa": "bench@okbank"},
        ).json()["id"]
        while session.get(f"{api}/api/v1/payments/{payment_id}").json()["status"] == "pending":
            time.sleep(0.005)
        extra.append(time.monotonic() - started - delay_s)
    return extra


COUNT_SCRIPT = r"""
import collections, json, os, sys, time
import botocore.client
calls = collections.Counter()
phase = ["?"]
real = botocore.client.BaseClient._make_api_call
def counting(self, operation, params):
    calls[(phase[0], self.meta.service_model.service_name, operation)] += 1
    return real(self, operation, params)
botocore.client.BaseClient._make_api_call = counting
from app import app
from infra.local import api_gateway
from infra.local.lambda_runtime import LambdaContext, load_handler
from infra.local.poller import sqs_event
from paygate.wiring import services
import boto3
routes, _, stage = api_gateway.load()
def call(method, path, body):
    route, params = api_gateway.match(routes, method, path)
    headers = [("X-Api-Key", "key_test_abc123"), ("X-Api-Secret", "secret_test_xyz789"),
               ("Content-Type", "application/json")]
    event = api_gateway.proxy_event(route, params, method, path, headers, body, stage, "127.0.0.1")
    return json.loads(app(event, LambdaContext("api"))["body"])
def pay_body():
    order = call("POST", "/api/v1/orders", b'{"amount": 1000}')
    return json.dumps({"order_id": order["id"], "method": "upi", "vpa": "bench@okbank"}).encode()
# warm-up payment so lazily built clients are not counted as per-payment work
call("POST", "/api/v1/payments", pay_body())
body = pay_body()  # an order takes one payment at a time: a fresh one
calls.clear()
phase[0] = "api: POST /api/v1/payments"
payment = call("POST", "/api/v1/payments", body)
phase[0] = "poller: receive + delete"
sqs = boto3.client("sqs")
url = services().settings.payment_queue_url
target = None
deadline = time.time() + 30
while target is None and time.time() < deadline:
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                 AttributeNames=["All"]).get("Messages", []):
        if json.loads(m["Body"])["payment_id"] == payment["id"]:
            target = m
handler = load_handler(__import__("pathlib").Path(sys.argv[1]), "handler.lambda_handler")
phase[0] = "worker: settle"
handler(sqs_event([target], "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1"),
        LambdaContext("payment-worker"))
phase[0] = "poller: receive + delete"
sqs.delete_message(QueueUrl=url, ReceiptHandle=target["ReceiptHandle"])
print(json.dumps([[list(k), v] for k, v in sorted(calls.items())]))
"""


def count_requests(runtime) -> list[tuple[tuple[str, str, str], int]]:
    """Botocore calls by operation for one create (API) and one settle (worker)."""
    config = runtime._function_config("ApiFunction")
    env = {**runtime.base_env, **function_env(config, runtime.config.endpoint)}
    # The workers' pollers would race us for the message: stop them while counting.
    runtime.stop_workers()
    try:
        env["PYTHONPATH"] = f"{LAYER_DIR}:{REPO / 'functions' / 'api'}:{REPO}"
        out = subprocess.run(
            [sys.executable, "-c", COUNT_SCRIPT, str(REPO / "functions" / "payment_worker")],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        runtime.start_workers()
    return [(tuple(k), v) for k, v in json.loads(out.stdout.strip().splitlines()[-1])]


IMPORT_SCRIPT = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def cold_import(runtime, module: str, code_dir, runs: int = 5) -> float:
    """Median seconds to import a handler module in a fresh interpreter."""
    config = runtime._function_config("ApiFunction")
    env = {
        **runtime.base_env,
        **function_env(config, runtime.config.endpoint),
        "PYTHONPATH": f"{LAYER_DIR}:{code_dir}:{REPO}",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_SCRIPT.format(module=module)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def cold_burst(api: str, concurrency: int) -> list[float]:
    """One request per client, all at once, right after start: what a first burst meets."""
    order_id = create_order(api)
    body = {"order_id": order_id, "method": "upi", "vpa": "bench@okbank"}
    barrier = threading.Barrier(concurrency)
    latencies: list[float] = []

    def one(_):
        session = _session()
        barrier.wait()
        started = time.perf_counter()
        session.post(f"{api}/api/v1/payments", json=body, timeout=120)
        return time.perf_counter() - started

    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(concurrency)))
    return latencies


def run_mode(mode: str, args) -> None:
    print(f"== mode {mode} ({'make run' if mode == 'local' else 'make run-stack'})")
    started = time.monotonic()
    runtime = start(mode, TEST_MODE="true", TEST_PROCESSING_DELAY="1000")
    print(f"    started in {time.monotonic() - started:.1f} s")
    api = runtime.api_url
    try:
        if mode == "stack":
            burst = cold_burst(api, 16)
            print(f"    first burst, concurrency 16 (cold): {fmt(percentiles(burst))}")
        print("(a) POST /api/v1/payments")
        for concurrency in (1, 16):
            latencies, errors, elapsed = load(api, concurrency, args.seconds)
            print(
                f"    concurrency {concurrency:2d}: {len(latencies) / elapsed:7.1f} req/s  "
                f"{fmt(percentiles(latencies))}  errors {errors}  ({len(latencies)} requests "
                f"in {elapsed:.1f} s; with each payment's untimed POST /orders the API served "
                f"{2 * len(latencies) / elapsed:.1f} req/s)"
            )
        print(f"(b) {args.settle_count} payments, TEST_PROCESSING_DELAY=1000")
        time.sleep(3)  # let (a)'s backlog settle first
        rate, elapsed, settled = settle_throughput(api, args.settle_count)
        print(
            f"    settled {settled}: {rate:.1f} payments/s (first create to last settle "
            f"{elapsed:.2f} s)"
        )
        print("(c) create → settled minus the 1000 ms delay, one at a time")
        extra = settle_latency(api, args.latency_rounds, 1.0)
        print(f"    {fmt(percentiles(extra))}  ({len(extra)} payments)")
        if mode == "stack":
            print(
                f"    execution environments (processes) per function: {lambda_processes(runtime)}"
            )
            return
        print("(d) AWS requests for one create + one settle")
        rows = count_requests(runtime)
        by_phase = collections.Counter()
        for (phase, service, operation), n in rows:
            by_phase[phase] += n
            print(f"    {phase:28s} {service}:{operation:24s} {n}")
        for phase, n in by_phase.items():
            print(f"    total {phase:22s} {n}")
        api_import = cold_import(runtime, "app", REPO / "functions" / "api")
        worker_import = cold_import(runtime, "handler", REPO / "functions" / "payment_worker")
        print(
            f"    cold import: API handler {api_import * 1000:.0f} ms, payment worker "
            f"{worker_import * 1000:.0f} ms (median of 5 fresh interpreters)"
        )
    finally:
        runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--settle-count", type=int, default=400)
    parser.add_argument("--latency-rounds", type=int, default=30)
    parser.add_argument("--mode", choices=sorted(MODES), default="both")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    for mode in MODES[args.mode]:
        run_mode(mode, args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
