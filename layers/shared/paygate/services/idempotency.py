"""Idempotency-Key (CONTRACT §6) on Powertools' DynamoDB idempotency.

A key belongs to one request of one merchant: the record is keyed by merchant + key, and the
method, path and body are the payload Powertools validates, so the same key sent to another
path (a refund of another payment, another operation) or with another body is refused as
reused instead of replaying a different resource's answer.

The cached value is the serialized response body, not a dict, so a replay is byte-identical
(Powertools re-orders the keys of a cached dict).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from paygate.db.connection import dynamodb_client
from paygate.errors import BadRequest, IdempotencyKeyInUse, IdempotencyKeyReused
from paygate.jsonutil import dumps
from paygate.security import redact_card

KEY_TTL_SECONDS = 24 * 3600


def check_key(key: str) -> str:
    """1–255 printable ASCII characters."""
    if not 1 <= len(key) <= 255 or not all(32 <= ord(c) < 127 for c in key):
        raise BadRequest("Idempotency-Key must be 1-255 printable characters")
    return key


class IdempotentRequests:
    """Results of POST requests remembered per merchant and key, bound to method, path, body."""

    def __init__(self, table_name: str, secret: str) -> None:
        self._table_name = table_name
        self._secret = secret  # keys the card fingerprint in the stored validation hash
        self._runner: Callable | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self.config = IdempotencyConfig(
            event_key_jmespath="[merchant_id, key]",
            payload_validation_jmespath="request",
            expires_after_seconds=KEY_TTL_SECONDS,
            raise_on_no_idempotency_key=True,
        )

    def _build(self) -> Callable:
        # Powertools makes its boto3 client at construction: build on first use, not at import,
        # and share the process's one DynamoDB client (one model parse, one connection pool).
        persistence = DynamoDBPersistenceLayer(
            table_name=self._table_name, boto3_client=dynamodb_client()
        )

        @idempotent_function(
            data_keyword_argument="request", persistence_store=persistence, config=self.config
        )
        def run(request: dict) -> str:
            self._local.ran = True
            return dumps(self._local.action())

        return run

    def run(
        self,
        merchant_id: str,
        key: str,
        request: tuple[str, str, object],
        action: Callable[[], dict],
        lambda_context=None,
    ) -> tuple[str, bool]:
        """(serialized result, replayed). `request` is (method, path, body). `action` runs at
        most once per merchant+key in 24 h; the same key with another method, path or body is
        IdempotencyKeyReused. Only results are stored, so a request that raised may be sent
        again with its key."""
        method, path, body = request
        check_key(key)
        with self._lock:
            if self._runner is None:
                self._runner = self._build()
        if lambda_context is not None:
            self.config.register_lambda_context(lambda_context)
        self._local.ran = False
        self._local.action = action
        record = {
            "merchant_id": merchant_id,
            "key": key,
            "request": {
                "method": method.upper(),
                "path": path,
                # Powertools stores a plain MD5 of this to detect a reused key: never of card data.
                "body": redact_card(body, self._secret),
            },
        }
        try:
            result = self._runner(request=record)
        except IdempotencyAlreadyInProgressError as exc:
            raise IdempotencyKeyInUse() from exc
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused() from exc
        return result, not self._local.ran
