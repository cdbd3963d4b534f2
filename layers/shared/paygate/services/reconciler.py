"""The reconciler (scheduled): no payment or refund stays `pending` for ever.

A job message can be lost to the dead-letter queue (five failed receives during a throttling
burst) or, in principle, never arrive. Every pending record carries `pending_due` in a sparse
index; once it is past, the reconciler sends the record's job again and moves `pending_due`
further out (doubling each time, so a job that keeps failing is not re-sent every minute). The
worker's settle is conditional on `pending`, so a job sent twice still settles once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from paygate import clock
from paygate.db.errors import ConditionFailed
from paygate.db.payments import PaymentRepository
from paygate.db.refunds import RefundRepository
from paygate.queues import Queue
from paygate.settings import Settings

logger = Logger(child=True)
BATCH = 200
MAX_BACKOFF = timedelta(hours=6)


class Reconciler:
    def __init__(
        self,
        payments: PaymentRepository,
        refunds: RefundRepository,
        payment_queue: Queue,
        refund_queue: Queue,
        settings: Settings,
    ) -> None:
        self.kinds = (
            ("payment", payments, payment_queue),
            ("refund", refunds, refund_queue),
        )
        self.settings = settings

    def _next_due(self, row, now: datetime) -> str:
        """Double the wait since the record was created, from the grace period up to 6 hours."""
        grace = timedelta(seconds=self.settings.reconcile_after_seconds)
        age = now - datetime.fromisoformat(row.created_at.replace("Z", "+00:00"))
        return clock.iso(now + min(max(grace, age), MAX_BACKOFF))

    def run(self, now: datetime | None = None) -> dict[str, int]:
        """Re-queue the job of every record pending past its due time; counts per kind."""
        now = now or clock.now()
        requeued: dict[str, int] = {}
        for kind, repo, queue in self.kinds:
            requeued[kind] = 0
            for row in repo.due_for_reconciliation(clock.iso(now), BATCH):
                try:
                    queue.send({f"{kind}_id": row.id})
                except Exception:
                    logger.exception("re-queue failed; next run tries again", extra={"id": row.id})
                    continue
                try:
                    repo.postpone(row, self._next_due(row, now))
                except ConditionFailed:
                    continue  # it settled meanwhile: the message will find it done
                requeued[kind] += 1
                logger.warning(
                    "re-queued a job still pending past its time",
                    extra={"kind": kind, "id": row.id, "created_at": row.created_at},
                )
        return requeued
