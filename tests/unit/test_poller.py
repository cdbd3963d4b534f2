"""The local event source mapping's rules: what an invocation's response lets it delete."""

from __future__ import annotations

from infra.local.poller import sqs_event, to_delete

MESSAGES = [{"MessageId": str(i), "ReceiptHandle": f"r{i}", "Body": "{}"} for i in range(3)]


def test_partial_batch_response_keeps_failures():
    response = {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert [m["MessageId"] for m in to_delete(MESSAGES, response, True)] == ["0", "2"]


def test_without_report_batch_item_failures_everything_is_deleted():
    response = {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert to_delete(MESSAGES, response, False) == MESSAGES


def test_event_shape():
    event = sqs_event(MESSAGES, "arn:aws:sqs:us-east-1:1:q", "us-east-1")
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["messageId"] == "0"
    assert record["receiptHandle"] == "r0" and record["eventSourceARN"].endswith(":q")
