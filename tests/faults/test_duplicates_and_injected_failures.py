"""Duplicated and reordered messages, and storage failures injected at the repository layer."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import boto3
import pytest
import requests

from infra.local.lambda_runtime import LambdaContext, load_handler
from infra.local.poller import sqs_event, to_delete
from tests.faults.checks import (
    assert_consistent,
    create_payments,
    fresh_merchant,
    wait_until_settled,
)

REPO = Path(__file__).resolve().parents[2]


def queue_url(fragment: str) -> str:
    sqs = boto3.client("sqs")
    return next(u for u in sqs.list_queues()["QueueUrls"] if fragment in u and "DLQ" not in u)


def test_duplicated_and_reordered_settle_and_refund_messages(stack, inproc):
    merchant = fresh_merchant(stack)
    ids = create_payments(stack, 20, merchant["headers"])
    wait_until_settled(stack, ids, timeout=20, headers=merchant["headers"])
    sqs = boto3.client("sqs")
    duplicates = [{"payment_id": i} for i in ids for _ in range(3)]
    random.shuffle(duplicates)
    for message in duplicates:
        sqs.send_message(QueueUrl=queue_url("PaymentQueue"), MessageBody=json.dumps(message))
    refunds = []
    for payment_id in ids[:5]:
        response = requests.post(
            f"{stack.api}/api/v1/payments/{payment_id}/refunds",
            headers=merchant["headers"],
            json={"amount": 400},
            timeout=10,
        )
        refunds.append(response.json()["id"])
    extra = [{"refund_id": r} for r in refunds for _ in range(3)]
    random.shuffle(extra)
    for message in extra:
        sqs.send_message(QueueUrl=queue_url("RefundQueue"), MessageBody=json.dumps(message))
    time.sleep(4)
    assert_consistent(stack, ids, merchant["headers"])
    processed_events = {}
    from tests.faults.checks import scan

    for item in scan("EventsTable"):
        body = json.loads(item["body"]["S"])
        refund = body["data"].get("refund")
        if refund and refund["id"] in refunds:
            processed_events.setdefault(refund["id"], []).append(body["event"])
    for refund_id in refunds:
        detail = requests.get(
            f"{stack.api}/api/v1/refunds/{refund_id}", headers=merchant["headers"], timeout=10
        ).json()
        assert detail["status"] == "processed"
        assert sorted(processed_events[refund_id]) == ["refund.created", "refund.processed"]


@pytest.fixture
def workers_paused(stack):
    """The stack's own pollers stopped, so the test is the only consumer of the queues."""
    stack.runtime.stop_workers()
    yield
    stack.runtime.start_workers()
    stack.runtime.wait_ready(timeout=20)


def consume(url: str, handler, rounds: int = 60) -> None:
    """Poll like the runtime does (partial batch responses) until the queue stays empty."""
    sqs = boto3.client("sqs")
    idle = 0
    for _ in range(rounds):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            idle += 1
            if idle == 2:
                return
            continue
        idle = 0
        try:
            response = handler(
                sqs_event(messages, "arn:aws:sqs:us-east-1:0:q", "us-east-1"),
                LambdaContext("faults"),
            )
        except Exception:
            response = None
        done = to_delete(messages, response, True) if response is not None else []
        for message in done:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        failed = [m for m in messages if m not in done]
        for message in failed:  # skip the 60 s visibility timeout: retry at once
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


@pytest.mark.parametrize("fault", ["throttled", "condition_failed", "conflict"])
def test_injected_storage_failures_on_settle(stack, inproc, workers_paused, monkeypatch, fault):
    from paygate.db.errors import ConditionFailed, TransactionConflict
    from paygate.errors import StorageUnavailable

    merchant = fresh_merchant(stack)
    ids = create_payments(stack, 12, merchant["headers"])
    time.sleep(1.2)  # the bank delay
    repo = inproc.payments.repo
    real = repo.settle
    failures = {"left": 8}

    def flaky(*args, **kwargs):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise {
                "throttled": StorageUnavailable(),
                "condition_failed": ConditionFailed(),
                "conflict": TransactionConflict(),
            }[fault]
        return real(*args, **kwargs)

    monkeypatch.setattr(repo, "settle", flaky)
    handler = load_handler(REPO / "functions" / "payment_worker", "handler.lambda_handler")
    consume(queue_url("PaymentQueue"), handler)
    assert failures["left"] == 0
    assert_consistent(stack, ids, merchant["headers"])
