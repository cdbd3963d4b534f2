"""SQS: the work queues. Delays above SQS's 900 s cap are the caller's to chain."""

from __future__ import annotations

import json
import math
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
