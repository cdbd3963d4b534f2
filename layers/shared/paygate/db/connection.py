"""The process's one PynamoDB connection for transactions (a new one per transaction would build
a new botocore client each time: hundreds of milliseconds)."""

from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    return Connection(max_pool_connections=64)
