"""Adjustments that make moto (in-process, `mock_aws`) behave like AWS for the integration tier,
which is their only user (`make run` runs on MiniStack, see infra/local/ministack_patches.py).

- SQS queues do not invoke Lambda themselves (the tests drive the handlers, as the Lambda service
  would).
- A delayed SQS message is seen by a long poll as soon as it becomes visible, and a receive
  costs O(messages) rather than O(messages²).
- DynamoDB reads see whole items (a copy taken between writes), and writes are atomic:
  conditional writes and transactions are serialised, as DynamoDB isolates them, and a
  transaction rolls back only the items it touched (moto deep-copies every table a transaction
  names, which makes each transaction as slow as the table is large).

`CANNOT_CREATE` lists what moto's CloudFormation accepts but cannot build (the SAM-generated REST
API: "The REST API doesn't contain any methods"; CloudFront): the tier's deploy leaves them out.
"""

from __future__ import annotations

import copy
import threading
import time
import types

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.sqs import models as sqs_models

CANNOT_CREATE = ("AWS::ApiGateway::", "AWS::CloudFront::")
_original_init = sqs_models.Queue.__init__
_original_wait = sqs_models.Queue.wait_for_messages


class _PolledElsewhere(dict):
    """moto invokes a queue's Lambda itself on every SendMessage (through Docker, which is
    absent here), receiving — and so counting towards the DLQ — every visible message. Here the
    tests play the Lambda service's part, so queues keep no mappings of their own."""

    def __setitem__(self, key, value) -> None:
        return None


def _init(self, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    self.lambda_event_source_mappings = _PolledElsewhere()


def _prompt_wait(self, timeout):
    # moto's long poll sleeps up to 1 s on a condition that only a *new* message wakes, so a
    # delayed message that becomes visible is seen up to a second late. Re-checking every 20 ms
    # keeps the simulated bank time (SQS DelaySeconds) exact without giving up long polling.
    return _original_wait(self, min(timeout, 0.02))


_WRITE_LOCK = threading.RLock()
_Backend = dynamodb_models.DynamoDBBackend
_original = {
    name: getattr(_Backend, name)
    for name in ("put_item", "update_item", "delete_item", "transact_write_items")
}


def _table_passthrough_deepcopy(value, memo=None):
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_key(table: Table, op: dict) -> dict:
    if "Key" in op:
        return op["Key"]
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _transact_write_items(self, transact_items):
    with _WRITE_LOCK:
        backups = []
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = self.tables.get(op.get("TableName"))
            if table is not None:
                key = _item_key(table, op)
                current = self.get_item(table.name, key)
                backups.append((table.name, key, copy.deepcopy(current)))
        try:
            return _original["transact_write_items"](self, transact_items)
        except Exception:
            for table_name, key, item in reversed(backups):
                if item is None:
                    _original["delete_item"](self, table_name, key)
                else:
                    _original["put_item"](self, table_name, item.to_json()["Attributes"])
            raise


def _serialised(name):
    original = _original[name]

    def write(self, *args, **kwargs):
        with _WRITE_LOCK:
            return original(self, *args, **kwargs)

    return write


def _snapshot(name):
    """Reads see a copy taken under the write lock: moto updates items in place, and a reader
    serialising an item while a writer adds an attribute fails with "dictionary changed size
    during iteration" (DynamoDB never shows a half-written item)."""
    original = getattr(_Backend, name)

    def read(self, *args, **kwargs):
        with _WRITE_LOCK:
            return copy.deepcopy(original(self, *args, **kwargs))

    return read


def _unix_time(dt=None) -> float:
    return time.time() if dt is None else _moto_unix_time(dt)


def _unix_time_millis(dt=None) -> float:
    return time.time() * 1000.0 if dt is None else _moto_unix_time(dt) * 1000.0


_moto_unix_time = sqs_models.unix_time


def _retained(self, queue_name: str, message) -> bool:
    retention = int(self.get_queue(queue_name).message_retention_period)
    return retention + message.sent_timestamp / 1000 > time.time()


def apply() -> None:
    """Patch moto's SQS and DynamoDB models (idempotent)."""
    # Every received message computed every queue attribute (each a scan of the queue) to read
    # its retention period, and every clock read went through datetime: O(n²) per long poll.
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retained
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    sqs_models.Queue.__init__ = _init
    sqs_models.Queue.wait_for_messages = _prompt_wait
    dynamodb_models.copy = types.SimpleNamespace(deepcopy=_table_passthrough_deepcopy)
    for name in ("put_item", "update_item", "delete_item"):
        setattr(_Backend, name, _serialised(name))
    _Backend.transact_write_items = _transact_write_items
    for name in ("get_item", "query", "scan"):
        if getattr(getattr(_Backend, name), "__name__", "") != "read":
            setattr(_Backend, name, _snapshot(name))
