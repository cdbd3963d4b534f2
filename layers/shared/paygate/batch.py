"""What every SQS worker does around its record handler: partial batch responses and counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from paygate.queues import sqs_client
from paygate.services.jobs import RecordNotYetWritten
from paygate.wiring import services

logger = Logger(child=True)
# A message whose record is not there yet comes back after 1, 3, 9, 27 s rather than the queue's
# visibility timeout (60 s): quick for the common race with a commit, and its fifth receive
# (about 40 s after sending) is past ORPHAN_AFTER_SECONDS, so an orphan is dropped before the
# redrive policy (5 receives) would call it poison.
RETRY_BASE_SECONDS = 3
OVERTAKE_PAUSES = (0.02, 0.05, 0.1)


@lru_cache(maxsize=8)
def _queue_url(queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":")
    return sqs_client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _receives(record: SQSRecord) -> int:
    return max(1, int(record.attributes.approximate_receive_count or 1))


def _retry_soon(record: SQSRecord) -> None:
    try:
        sqs_client().change_message_visibility(
            QueueUrl=_queue_url(record.event_source_arn),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=RETRY_BASE_SECONDS ** (_receives(record) - 1),
        )
    except Exception:  # the queue's visibility timeout still brings it back, only later
        logger.warning("could not shorten the retry", extra={"message_id": record.message_id})


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor, handling up to `concurrency` records of a batch at
    once: a slow record (a webhook receiver that takes its full 5 s) then delays the batch by
    its own time, not by the sum of every record's time. Results and failures are collected
    as Powertools does (appending to lists is thread-safe)."""

    def __init__(self, concurrency: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.concurrency = concurrency

    def process(self) -> list[tuple]:
        if self.concurrency <= 1 or len(self.records) <= 1:
            return super().process()
        workers = min(self.concurrency, len(self.records))
        with ThreadPoolExecutor(workers, thread_name_prefix="record") as pool:
            return list(pool.map(self._process_record, self.records))


def sent_at(record: SQSRecord) -> float:
    """When the message was first sent, in unix seconds."""
    return int(record.attributes.sent_timestamp) / 1000


def process_batch(
    event: dict,
    context,
    record_handler: Callable[[SQSRecord], object],
    kind: str,
    concurrency: int = 1,
) -> dict:
    """Run `record_handler` over every record (up to `concurrency` at once); failures go back
    as `batchItemFailures` and the job counters of `kind` (shown by /api/v1/test/jobs/status)
    are updated."""
    if not event.get("Records"):
        # Lambda never sends an empty batch; a warm-up ping does (run-stack warms every worker
        # once after a deploy): build the services and their clients now, not on the first real
        # message. Powertools would refuse an empty batch as an unknown event type.
        services()
        return {"batchItemFailures": []}
    # A processor per invocation: its state is per batch, and the local runtime runs several
    # batches of one function at once in threads, as Lambda runs them in separate sandboxes.
    processor = ConcurrentBatchProcessor(
        concurrency, event_type=EventType.SQS, raise_on_entire_batch_failure=False
    )

    def handle(record: SQSRecord) -> object:
        for pause in OVERTAKE_PAUSES:
            try:
                return record_handler(record)
            except RecordNotYetWritten:
                time.sleep(pause)  # the commit it overtook usually lands within milliseconds
        try:
            return record_handler(record)
        except RecordNotYetWritten:
            _retry_soon(record)
            raise

    result = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
    failed = len(result["batchItemFailures"])
    services().counters.add_job_results(kind, len(event["Records"]) - failed, failed)
    return result
