"""Health and job status, each part measured on every call (CONTRACT §4, §9)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache

import boto3
from aws_lambda_powertools import Logger

from paygate import clock
from paygate.db.counters import CounterRepository
from paygate.queues import Queue
from paygate.settings import Settings

logger = Logger(child=True)
HEARTBEAT_FRESH_SECONDS = 15
WORKER_KINDS = ("payment", "refund", "webhook")
# The Lambda control plane has low, account-wide API quotas, and /health is public: each process
# asks it at most once a minute and answers from that reading in between.
CONTROL_PLANE_TTL_SECONDS = 60
# Test mode (a local stack): a stopped or restarted worker shows within a second.
TEST_MODE_CONTROL_PLANE_TTL_SECONDS = 1


@lru_cache(maxsize=1)
def _lambda_client():
    return boto3.client("lambda")


class HealthService:
    def __init__(
        self,
        counters: CounterRepository,
        queues: list[Queue],
        settings: Settings,
        lambda_client: Callable[[], object] = _lambda_client,
        monotonic: Callable[[], float] = time.monotonic,
        dead_letter_queues: dict[str, Queue] | None = None,
    ) -> None:
        self.counters = counters
        self.queues = queues
        self.settings = settings
        self._lambda_client = lambda_client
        self._monotonic = monotonic
        self._mappings_lock = threading.Lock()
        self._mappings_reading: tuple[float, bool] | None = None
        self.dead_letter_queues = dead_letter_queues or {}

    def _database(self) -> bool:
        try:
            self.counters.heartbeats(("health-probe",))
            return True
        except Exception:
            logger.exception("database probe failed")
            return False

    def _queue_depths(self) -> list[tuple[int, int]] | None:
        try:
            return [queue.depth() for queue in self.queues]
        except Exception:
            logger.exception("queue probe failed")
            return None

    def worker_running(self) -> bool:
        """Locally: every worker's pollers sent a heartbeat lately. On AWS: every event source
        mapping of the workers is enabled (read at most once a minute per process)."""
        names = self.settings.worker_functions
        if not names:
            return False
        if self.settings.worker_status_source != "heartbeat":
            return self._mappings_enabled(names)
        try:
            beats = self.counters.heartbeats(names)
        except Exception:
            logger.exception("worker probe failed")
            return False
        now = clock.unix()
        return all(now - beats.get(n, 0) <= HEARTBEAT_FRESH_SECONDS for n in names)

    def _mappings_enabled(self, names: tuple[str, ...]) -> bool:
        with self._mappings_lock:  # one reading at a time: concurrent calls wait for it
            reading = self._mappings_reading
            now = self._monotonic()
            ttl = (
                TEST_MODE_CONTROL_PLANE_TTL_SECONDS
                if self.settings.test_mode
                else CONTROL_PLANE_TTL_SECONDS
            )
            if reading is None or now - reading[0] >= ttl:
                reading = self._mappings_reading = (now, self._read_mappings(names))
            return reading[1]

    def _read_mappings(self, names: tuple[str, ...]) -> bool:
        try:
            client = self._lambda_client()
            for name in names:
                mappings = client.list_event_source_mappings(FunctionName=name)
                states = [m["State"] for m in mappings["EventSourceMappings"]]
                if not states or any(state != "Enabled" for state in states):
                    return False
            return True
        except Exception:
            logger.exception("worker probe failed")
            return False

    def health(self) -> dict:
        database = self._database()
        queue = self._queue_depths() is not None
        worker = self.worker_running()
        return {
            "status": "healthy" if database and queue and worker else "degraded",
            "database": "connected" if database else "disconnected",
            "queue": "connected" if queue else "disconnected",
            "worker": "running" if worker else "stopped",
            "timestamp": clock.iso(),
        }

    def _dead_letters(self) -> dict[str, int | None]:
        """Messages in each worker queue's DLQ (None when it cannot be measured)."""
        depths: dict[str, int | None] = {}
        for kind in WORKER_KINDS:
            queue = self.dead_letter_queues.get(kind)
            try:
                depths[kind] = sum(queue.depth()) if queue is not None and queue.url else None
            except Exception:
                logger.exception("dead-letter queue probe failed", extra={"kind": kind})
                depths[kind] = None
        return depths

    def jobs_status(self) -> dict:
        depths = self._queue_depths() or []
        completed, failed = self.counters.job_totals(WORKER_KINDS)
        return {
            "pending": sum(d[0] for d in depths),
            "processing": sum(d[1] for d in depths),
            "completed": completed,
            "failed": failed,
            "worker_status": "running" if self.worker_running() else "stopped",
            "dead_letter": self._dead_letters(),
        }
