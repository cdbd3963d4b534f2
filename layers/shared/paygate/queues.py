"""SQS: the work queues and their dead-letter queues. Delays above SQS's 900 s cap are the
caller's to chain."""

from __future__ import annotations

import json
import math
import time
from functools import lru_cache

import boto3
from botocore.config import Config

from paygate.errors import StorageUnavailable

MAX_DELAY_SECONDS = 900


@lru_cache(maxsize=1)
def sqs_client():
    """One SQS client per process (botocore clients are thread-safe)."""
    return boto3.client("sqs", config=Config(max_pool_connections=64, retries={"mode": "standard"}))


def delay_seconds(delay_ms: int) -> int:
    """SQS delay for a wait of `delay_ms`: whole seconds rounded up, capped at 900.

    Sub-second waits round up to one second except 0, so TEST_PROCESSING_DELAY=500 settles
    after about a second rather than at once.
    """
    return min(MAX_DELAY_SECONDS, math.ceil(max(0, delay_ms) / 1000))


class Queue:
    """One SQS queue of JSON messages."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, message: dict, delay_ms: int = 0) -> None:
        """Send `message` as compact JSON, visible after `delay_ms` (rounded up to seconds)."""
        try:
            sqs_client().send_message(
                QueueUrl=self.url,
                MessageBody=json.dumps(message, separators=(",", ":")),
                DelaySeconds=delay_seconds(delay_ms),
            )
        except Exception as exc:  # botocore raises many unrelated types for one outage
            raise StorageUnavailable("Queue temporarily unavailable") from exc

    def send_batch(self, messages: list[dict], delay_ms: int = 0) -> None:
        """Send up to ten messages in one request; any entry SQS refuses raises."""
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            try:
                result = sqs_client().send_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {
                            "Id": str(i),
                            "MessageBody": json.dumps(m, separators=(",", ":")),
                            "DelaySeconds": delay_seconds(delay_ms),
                        }
                        for i, m in enumerate(chunk)
                    ],
                )
            except Exception as exc:  # botocore raises many unrelated types for one outage
                raise StorageUnavailable("Queue temporarily unavailable") from exc
            if result.get("Failed"):
                raise StorageUnavailable(f"Queue refused {len(result['Failed'])} message(s)")

    def depth(self) -> tuple[int, int]:
        """(waiting, in flight): visible plus delayed messages, and messages being processed."""
        attrs = sqs_client().get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        waiting = int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesDelayed"]
        )
        return waiting, int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def arn(self) -> str:
        attrs = sqs_client().get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        return attrs["Attributes"]["QueueArn"]

    def dead_letter_queue(self) -> Queue | None:
        """The queue its RedrivePolicy sends poison messages to, if it has one."""
        attrs = sqs_client().get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        if "RedrivePolicy" not in attrs:
            return None
        target = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
        _, _, _, _, account, name = target.split(":")
        url = sqs_client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
        return Queue(url["QueueUrl"])


MOVE_TIMEOUT_SECONDS = 300


def redrive(source: Queue, wait: float = MOVE_TIMEOUT_SECONDS) -> tuple[int, str]:
    """Move every message of `source`'s dead-letter queue back to `source`; (moved, how).

    Uses SQS's own StartMessageMoveTask and waits for it; where the endpoint lacks it, receives,
    re-sends and then deletes each message (a crash in between duplicates a message, never loses
    one: the workers are idempotent per message)."""
    dlq = source.dead_letter_queue()
    if dlq is None:
        return 0, "none"
    try:
        return _move_task(dlq.arn(), source.arn(), wait), "move-task"
    except MoveUnsupported:
        return _copy_then_delete(dlq, source), "copy"


class MoveUnsupported(Exception):
    """The endpoint has no StartMessageMoveTask."""


def _move_task(source_arn: str, destination_arn: str, wait: float) -> int:
    client = sqs_client()
    try:
        handle = client.start_message_move_task(
            SourceArn=source_arn, DestinationArn=destination_arn
        )["TaskHandle"]
    except Exception as exc:  # moto raises NotImplementedError in-process, a bare 500 as a server
        # Nothing was moved: copying is always correct, only slower.
        raise MoveUnsupported(repr(exc)) from exc
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        tasks = client.list_message_move_tasks(SourceArn=source_arn)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        if task.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            if task["Status"] != "COMPLETED":
                raise StorageUnavailable(f"message move task {task['Status']}")
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        time.sleep(1)
    raise StorageUnavailable("message move task still running; check list-message-move-tasks")


def _copy_then_delete(dlq: Queue, target: Queue) -> int:
    client = sqs_client()
    moved = 0
    while True:
        messages = client.receive_message(
            QueueUrl=dlq.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        entries = [
            {"Id": str(i), "MessageBody": m["Body"]}
            | ({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})
            for i, m in enumerate(messages)
        ]
        sent = client.send_message_batch(QueueUrl=target.url, Entries=entries)
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        if done:
            client.delete_message_batch(
                QueueUrl=dlq.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                    if str(i) in done
                ],
            )
        moved += len(done)
        if sent.get("Failed"):
            raise StorageUnavailable(f"Queue refused {len(sent['Failed'])} message(s)")
