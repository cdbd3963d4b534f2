"""Event source mappings, locally: long-poll an SQS queue and invoke the handler as Lambda does.

Honours BatchSize, ReportBatchItemFailures (only successes are deleted) and the queue's
visibility timeout (failed messages reappear when it ends, and the queue's redrive policy moves
them to the DLQ), and runs up to MaximumConcurrency batches at once, so one slow batch never
stalls the queue.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools import Logger

from infra.local.lambda_runtime import LambdaContext

logger = Logger(service="local-poller")
DEFAULT_CONCURRENCY = 5
LONG_POLL_SECONDS = 2


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """A real-shaped SQS event for Lambda."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def to_delete(messages: list[dict], response, reports_failures: bool) -> list[dict]:
    """The messages a successful invocation consumed: with ReportBatchItemFailures all but the
    reported ones; without it, all of them (Lambda ignores a partial response then)."""
    if not reports_failures:
        return messages
    failed = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures", [])}
    return [m for m in messages if m["MessageId"] not in failed]


class Poller:
    """One event source mapping: a receiver thread and a pool of concurrent invocations."""

    def __init__(
        self, sqs, mapping: dict, queue_url: str, handler, function_name: str, timeout_seconds: int
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.batch_size = int(mapping.get("BatchSize", 10))
        self.queue_arn = mapping["EventSourceArn"]
        self.reports_failures = "ReportBatchItemFailures" in mapping.get(
            "FunctionResponseTypes", []
        )
        self.concurrency = int(
            mapping.get("ScalingConfig", {}).get("MaximumConcurrency") or DEFAULT_CONCURRENCY
        )
        self.slots = threading.Semaphore(self.concurrency)
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=function_name)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._receive_loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive() and not self.stopping.is_set()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=LONG_POLL_SECONDS + 1)
        self.pool.shutdown(wait=True)

    def _receive_loop(self) -> None:
        while not self.stopping.is_set():
            self.slots.acquire()
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=LONG_POLL_SECONDS,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                logger.exception("receive failed", extra={"queue": self.queue_url})
                self.slots.release()
                time.sleep(1)
                continue
            if not messages:
                self.slots.release()
                continue
            self.pool.submit(self._invoke, messages)

    def _invoke(self, messages: list[dict]) -> None:
        try:
            event = sqs_event(messages, self.queue_arn, self.queue_arn.split(":")[3])
            context = LambdaContext(self.function_name, self.timeout_seconds)
            try:
                response = self.handler(event, context)
            except Exception:
                # A crashed invocation deletes nothing: the whole batch comes back after the
                # visibility timeout, as on Lambda.
                logger.exception("invocation failed", extra={"function": self.function_name})
                return
            done = to_delete(messages, response, self.reports_failures)
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
        finally:
            self.slots.release()
