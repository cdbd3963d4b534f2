"""Load test (issue 8): `python -m bench.load [--seconds 300 --rate 8]`.

Mixed traffic at a fixed rate against the local stack (orders, payments, refunds, reads) for a
merchant whose webhooks go to a local receiver. Prints throughput, p50/p99 per endpoint, errors,
lost and duplicated events, and the peak RSS of every process.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import requests

from bench.common import MODES, lambda_processes, machine, percentiles, start
from infra.local.webhook_receiver import Receiver

MIX = (("order", 0.2), ("payment", 0.4), ("refund", 0.1), ("read", 0.3))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Traffic:
    def __init__(self, api: str, headers: dict) -> None:
        self.api = api
        self.headers = headers
        self.local = threading.local()
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter = collections.Counter()
        self.orders: list[str] = []
        self.payments: list[str] = []
        self.refundable: list[str] = []

    def session(self) -> requests.Session:
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
            self.local.s.headers.update(self.headers)
        return self.local.s

    def call(self, name: str, method: str, path: str, expect: int, **kwargs):
        started = time.perf_counter()
        try:
            response = self.session().request(method, self.api + path, timeout=30, **kwargs)
            ok = response.status_code == expect
        except requests.RequestException:
            response, ok = None, False
        with self.lock:
            self.latency[name].append(time.perf_counter() - started)
            if not ok:
                self.errors[name] += 1
        return response.json() if ok else None

    def order(self) -> None:
        body = self.call(
            "POST /orders",
            "POST",
            "/api/v1/orders",
            201,
            json={"amount": random.randint(100, 100000)},
        )
        if body:
            with self.lock:
                self.orders.append(body["id"])

    def payment(self) -> None:
        with self.lock:
            # An order takes one payment at a time (CONTRACT §5): each is paid once here.
            order_id = self.orders.pop(random.randrange(len(self.orders))) if self.orders else None
        if order_id is None:
            return self.order()
        vpa = random.choice(["success@okbank", "success@okbank", "failure@okbank"])
        body = self.call(
            "POST /payments",
            "POST",
            "/api/v1/payments",
            201,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={"order_id": order_id, "method": "upi", "vpa": vpa},
        )
        if body:
            with self.lock:
                self.payments.append(body["id"])
                if vpa.startswith("success"):
                    self.refundable.append(body["id"])
        return None

    def refund(self) -> None:
        with self.lock:
            # Only payments old enough to have settled, each refunded once, in part.
            ready = self.refundable[:-20]
            payment_id = ready.pop(0) if ready else None
            if payment_id:
                self.refundable.remove(payment_id)
        if payment_id:
            self.call(
                "POST /refunds",
                "POST",
                f"/api/v1/payments/{payment_id}/refunds",
                201,
                json={"amount": 50},
            )
        return None

    def read(self) -> None:
        choice = random.random()
        if choice < 0.4 and self.payments:
            self.call(
                "GET /payments/{id}", "GET", f"/api/v1/payments/{random.choice(self.payments)}", 200
            )
        elif choice < 0.7:
            self.call("GET /payments", "GET", "/api/v1/payments?limit=20", 200)
        elif choice < 0.85:
            self.call("GET /stats", "GET", "/api/v1/stats", 200)
        elif self.orders:
            self.call(
                "GET /orders/{id}", "GET", f"/api/v1/orders/{random.choice(self.orders)}", 200
            )


def run(traffic: Traffic, seconds: float, rate: float) -> float:
    """Open loop: one operation every 1/rate s, whatever the latency."""
    kinds, weights = zip(*MIX, strict=True)
    started = time.monotonic()
    with ThreadPoolExecutor(64) as pool:
        n = 0
        while time.monotonic() - started < seconds:
            target = started + n / rate
            if target > time.monotonic():
                time.sleep(target - time.monotonic())
            pool.submit(getattr(traffic, random.choices(kinds, weights)[0]))
            n += 1
    return time.monotonic() - started


def audit(runtime, merchant_id: str, receiver: Receiver, payments: list[str]) -> dict:
    dynamodb = boto3.client("dynamodb")
    events_table = runtime.deployment["outputs"]["EventsTableName"]
    events, kwargs = [], {}
    while True:
        page = dynamodb.scan(TableName=events_table, **kwargs)
        events += [
            json.loads(i["body"]["S"])
            for i in page["Items"]
            if i["merchant_id"]["S"] == merchant_id
        ]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    delivered = collections.Counter(d.headers.get("webhook-id") for d in receiver.deliveries)
    per_payment = collections.defaultdict(collections.Counter)
    for event in events:
        payment = event["data"].get("payment")
        if payment and "refund" not in event["data"]:
            per_payment[payment["id"]][event["event"]] += 1
    settled_twice = [
        p for p, c in per_payment.items() if c["payment.success"] + c["payment.failed"] > 1
    ]
    unsettled = [
        p
        for p in payments
        if per_payment[p]["payment.success"] + per_payment[p]["payment.failed"] == 0
    ]
    return {
        "events": len(events),
        "lost": sum(1 for e in events if e["id"] not in delivered),
        "duplicated": sum(1 for n in delivered.values() if n > 1),
        "bad_signatures": sum(
            1 for d in receiver.deliveries if not (d.legacy_ok and d.standard_ok)
        ),
        "settled_twice": len(settled_twice),
        "unsettled": len(unsettled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=8.0, help="operations per second")
    parser.add_argument("--mode", choices=["local", "stack"], default="local")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    runtime = start(MODES[args.mode][0], TEST_MODE="true", TEST_PROCESSING_DELAY="1000")
    api = runtime.api_url
    receiver = Receiver("pending").start()
    try:
        account = requests.post(
            f"{api}/api/v1/auth/signup",
            timeout=10,
            json={
                "name": "Load",
                "email": f"{uuid.uuid4().hex}@load.example",
                "password": "load-test",
            },
        ).json()
        headers = {"X-Api-Key": account["api_key"], "X-Api-Secret": account["api_secret"]}
        receiver.secret = account["webhook_secret"]
        requests.put(
            f"{api}/api/v1/webhooks/config",
            json={"webhook_url": receiver.url},
            headers=headers,
            timeout=10,
        )
        traffic = Traffic(api, headers)
        print(
            f"{args.seconds:.0f} s of mixed traffic at {args.rate} ops/s "
            f"({', '.join(f'{k} {w:.0%}' for k, w in MIX)}), webhooks to a local receiver"
        )
        elapsed = run(traffic, args.seconds, args.rate)
        total = sum(len(v) for v in traffic.latency.values())
        print(f"    {total} requests in {elapsed:.1f} s: {total / elapsed:.1f} req/s")
        for name, samples in sorted(traffic.latency.items()):
            stats = percentiles(samples)
            print(
                f"    {name:22s} n={len(samples):5d}  p50 {stats['p50']:7.1f} ms  "
                f"p99 {stats['p99']:7.1f} ms  errors {traffic.errors[name]}"
            )
        print(f"    errors: {sum(traffic.errors.values())}")
        time.sleep(5)
        deadline = time.monotonic() + 120
        result = audit(runtime, account["merchant"]["id"], receiver, traffic.payments)
        while result["lost"] and time.monotonic() < deadline:  # let the pipeline drain
            time.sleep(2)
            result = audit(runtime, account["merchant"]["id"], receiver, traffic.payments)
        print(
            f"    events {result['events']}, lost {result['lost']}, duplicated deliveries "
            f"{result['duplicated']}, bad signatures {result['bad_signatures']}, payments "
            f"settled twice {result['settled_twice']}, never settled {result['unsettled']}"
        )
        print(
            "    peak RSS: "
            + ", ".join(
                f"{name} {peak_rss_mib(child.process.pid):.0f} MiB"
                for name, child in runtime.children.items()
                if child.running()
            )
            + f", load generator {peak_rss_mib(os.getpid()):.0f} MiB"
        )
        if args.mode == "stack":
            print(
                f"    execution environments (processes) per function: {lambda_processes(runtime)}"
            )
    finally:
        receiver.stop()
        runtime.stop()


if __name__ == "__main__":
    main()
