"""Helpers for the integration tier: the wired services, SQS events, the handlers."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import boto3

from infra.local.lambda_runtime import LambdaContext, load_handler
from infra.local.poller import sqs_event
from paygate.wiring import services

REPO = Path(__file__).resolve().parents[2]


def handler(worker: str):
    return load_handler(REPO / "functions" / worker, "handler.lambda_handler")


def new_merchant():
    """A fresh merchant through the real signup path, from a client address of its own (sign-ups
    are limited per address)."""
    return services().merchants.signup(
        {"name": "M", "email": f"{uuid.uuid4().hex}@example.com", "password": "password1"},
        f"198.18.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}",
    )


def merchant_with_url(url: str):
    """A fresh merchant whose webhooks go to `url` (as stored, fresh from the table)."""
    merchant = new_merchant()
    services().webhooks.set_url(merchant, {"webhook_url": url})
    return services().merchants.repo.get(merchant.id)


def seeded_merchant():
    svc = services()
    svc.merchants.seed_test_merchant()
    return svc.merchants.test_merchant()


def receive_all(queue_url: str, wait: int = 0) -> list[dict]:
    sqs = boto3.client("sqs")
    return sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
    ).get("Messages", [])


def event_for(messages: list[dict], queue_url: str) -> dict:
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return sqs_event(messages, arn, "us-east-1")


def fake_message(body: dict, sent_at: float | None = None) -> dict:
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": str(uuid.uuid4()),
        "Body": json.dumps(body),
        "Attributes": {
            "SentTimestamp": str(int((sent_at or time.time()) * 1000)),
            "ApproximateReceiveCount": "1",
        },
    }


def context(name: str = "worker") -> LambdaContext:
    return LambdaContext(name)


def drain(queue_url: str) -> None:
    """Delete every visible message (PurgeQueue is limited to once a minute)."""
    sqs = boto3.client("sqs")
    while messages := receive_all(queue_url):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def poison_into_dlq(url: str, worker, kind: str = "payment") -> str:
    """Deliver the queue's messages five times through the local runtime's poller (visibility
    0, so each failure comes straight back): the redrive policy dead-letters what keeps failing.
    Returns the dead-letter queue's URL."""
    from infra.local.poller import Poller

    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    try:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"]
        )["Attributes"]
        mapping = {
            "EventSourceArn": attrs["QueueArn"],
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        poller = Poller(sqs, mapping, url, worker, kind, 10)
        for _ in range(6):
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if messages:
                poller.slots.acquire()
                poller._invoke(messages)
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    dlq_name = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].split(":")[-1]
    return sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
