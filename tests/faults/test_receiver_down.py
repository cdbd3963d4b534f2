"""The merchant's receiver down for a minute, then back."""

from __future__ import annotations

import time

import requests

from infra.local.webhook_receiver import Receiver
from tests.faults.checks import create_payments, fresh_merchant, wait_until_settled


def logs_of(stack, headers) -> list[dict]:
    return requests.get(
        f"{stack.api}/api/v1/webhooks?limit=100", headers=headers, timeout=10
    ).json()["data"]


def test_receiver_down_for_a_minute_then_back(stack):
    receiver = Receiver("pending").start()
    port = receiver.port
    merchant = fresh_merchant(stack, receiver.url)
    receiver.secret = merchant["secret"]
    receiver.stop()  # down: connections refused
    down_since = time.monotonic()
    ids = create_payments(stack, 3, merchant["headers"])
    wait_until_settled(stack, ids, timeout=20, headers=merchant["headers"])
    time.sleep(max(0.0, 60 - (time.monotonic() - down_since)))
    logs = logs_of(stack, merchant["headers"])
    # 3 payments × (created, pending, success, order.paid): one log per event
    assert len(logs) == 12
    assert {log["status"] for log in logs} == {"failed"}, [log["status"] for log in logs]
    assert {log["attempts"] for log in logs} == {5}
    assert all(log["response_code"] is None for log in logs)

    back = Receiver(merchant["secret"], port=port).start()  # back on the same address
    try:
        later = create_payments(stack, 1, merchant["headers"])
        for log in logs:
            retried = requests.post(
                f"{stack.api}/api/v1/webhooks/{log['id']}/retry",
                headers=merchant["headers"],
                timeout=10,
            )
            assert retried.status_code == 200
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            current = logs_of(stack, merchant["headers"])
            if len(current) == 16 and {log["status"] for log in current} == {"success"}:
                break
            time.sleep(0.5)
        assert len(current) == 16 and {log["status"] for log in current} == {"success"}
        ids_seen = [d.headers["webhook-id"] for d in back.deliveries]
        assert len(ids_seen) == len(set(ids_seen)) == 16  # each event delivered once
        assert all(d.legacy_ok and d.standard_ok for d in back.deliveries)
        assert {d.event["data"]["payment"]["id"] for d in back.deliveries} == set(ids + later)
    finally:
        back.stop()
