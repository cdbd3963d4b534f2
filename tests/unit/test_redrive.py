"""The redrive uses SQS's StartMessageMoveTask where the endpoint has it (a stubbed client here;
the fallback is exercised against moto in tests/integration)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from paygate import queues

SOURCE = "https://sqs.us-east-1.amazonaws.com/123456789012/pay"
DLQ = "https://sqs.us-east-1.amazonaws.com/123456789012/pay-dlq"
SOURCE_ARN = "arn:aws:sqs:us-east-1:123456789012:pay"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:pay-dlq"


@pytest.fixture
def stub(monkeypatch):
    client = boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(queues, "sqs_client", lambda: client)
    monkeypatch.setattr(queues.time, "sleep", lambda _s: None)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_queue_lookups(stub):
    policy = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5})
    stub.add_response(
        "get_queue_attributes",
        {"Attributes": {"RedrivePolicy": policy}},
        {"QueueUrl": SOURCE, "AttributeNames": ["RedrivePolicy"]},
    )
    stub.add_response(
        "get_queue_url",
        {"QueueUrl": DLQ},
        {"QueueName": "pay-dlq", "QueueOwnerAWSAccountId": "123456789012"},
    )
    stub.add_response(
        "get_queue_attributes",
        {"Attributes": {"QueueArn": DLQ_ARN}},
        {"QueueUrl": DLQ, "AttributeNames": ["QueueArn"]},
    )
    stub.add_response(
        "get_queue_attributes",
        {"Attributes": {"QueueArn": SOURCE_ARN}},
        {"QueueUrl": SOURCE, "AttributeNames": ["QueueArn"]},
    )


def test_move_task_is_started_and_waited_for(stub):
    expect_queue_lookups(stub)
    stub.add_response(
        "start_message_move_task",
        {"TaskHandle": "h1"},
        {"SourceArn": DLQ_ARN, "DestinationArn": SOURCE_ARN},
    )
    stub.add_response(
        "list_message_move_tasks",
        {"Results": [{"TaskHandle": "h1", "Status": "RUNNING"}]},
        {"SourceArn": DLQ_ARN},
    )
    stub.add_response(
        "list_message_move_tasks",
        {
            "Results": [
                {"TaskHandle": "h1", "Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 7}
            ]
        },
        {"SourceArn": DLQ_ARN},
    )
    assert queues.redrive(queues.Queue(SOURCE)) == (7, "move-task")


def test_a_failed_move_task_is_an_error_not_a_silent_zero(stub):
    expect_queue_lookups(stub)
    stub.add_response("start_message_move_task", {"TaskHandle": "h1"})
    stub.add_response(
        "list_message_move_tasks",
        {"Results": [{"TaskHandle": "h1", "Status": "FAILED", "FailureReason": "x"}]},
    )
    with pytest.raises(queues.StorageUnavailable):
        queues.redrive(queues.Queue(SOURCE))


def test_without_move_tasks_messages_are_copied_then_deleted(stub):
    expect_queue_lookups(stub)
    stub.add_client_error("start_message_move_task", "InvalidAction", http_status_code=400)
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": '{"payment_id":"pay_x"}'}
    stub.add_response("receive_message", {"Messages": [message]})
    stub.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "n1", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": SOURCE, "Entries": [{"Id": "0", "MessageBody": message["Body"]}]},
    )
    stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}], "Failed": []},
        {"QueueUrl": DLQ, "Entries": [{"Id": "0", "ReceiptHandle": "r1"}]},
    )
    stub.add_response("receive_message", {"Messages": []})
    assert queues.redrive(queues.Queue(SOURCE)) == (1, "copy")


def test_a_message_the_source_refuses_stays_in_the_dead_letter_queue(stub):
    expect_queue_lookups(stub)
    stub.add_client_error("start_message_move_task", "InvalidAction")
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": f'{{"n":{i}}}'} for i in range(2)
    ]
    stub.add_response("receive_message", {"Messages": messages})
    stub.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"}],
            "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
        },
    )
    stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}], "Failed": []},
        {"QueueUrl": DLQ, "Entries": [{"Id": "0", "ReceiptHandle": "r0"}]},
    )
    with pytest.raises(queues.StorageUnavailable):
        queues.redrive(queues.Queue(SOURCE))
