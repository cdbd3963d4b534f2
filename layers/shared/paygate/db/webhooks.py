"""Events (the outbox) and webhook logs."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from paygate.db.connection import shared_connection
from paygate.db.counters import CounterModel, stats_shard
from paygate.db.errors import ConditionFailed, storage_errors
from paygate.db.models import DISPATCH_SHARDS, RETRY_SHARDS, EventModel, WebhookLogModel
from paygate.domain.webhook_endpoints import default_endpoint_id


def retry_shard(log_id: str) -> str:
    """The `retry-index` partition of a log (stable, spread by the log's random id)."""
    return str(int(log_id.replace("-", "")[-4:], 16) % RETRY_SHARDS)


def failed_key(merchant_id: str, endpoint_id: str) -> str:
    """The `failed-index` partition of an endpoint's failed logs."""
    return f"{merchant_id}#{endpoint_id}"


def _finish_actions(endpoint_ids) -> list:
    return [EventModel.dispatch_shard.remove(), EventModel.dispatched_to.set(list(endpoint_ids))]


def _failed_key(log: WebhookLogModel) -> str:
    return failed_key(log.merchant_id, log.endpoint_id or default_endpoint_id(log.merchant_id))


class WebhookRepository:
    def event(self, event_id: str) -> EventModel | None:
        with storage_errors():
            try:
                return EventModel.get(event_id, consistent_read=True)
            except EventModel.DoesNotExist:
                return None

    def save_event(self, event: EventModel) -> None:
        """Insert a standalone event (`webhook.test`); other events ride their change's write."""
        with storage_errors():
            event.save(condition=EventModel.id.does_not_exist())

    def log(self, log_id: str) -> WebhookLogModel | None:
        with storage_errors():
            try:
                return WebhookLogModel.get(log_id, consistent_read=True)
            except WebhookLogModel.DoesNotExist:
                return None

    def logs(self, log_ids: list[str]) -> list[WebhookLogModel]:
        """The logs of these ids that exist (one BatchGetItem per 100)."""
        with storage_errors():
            return list(WebhookLogModel.batch_get(log_ids)) if log_ids else []

    def create_log(
        self, log: WebhookLogModel, finishing: EventModel | None = None, endpoint_ids=()
    ) -> bool:
        """Insert the log (and count it) if it does not exist yet; False if it does (another
        delivery of the same event got there first). The id is fixed per (event, endpoint),
        so a fan-out that dies half-way and runs again never makes a log twice. With
        `finishing` (the fan-out's last log), the same transaction takes that event out of the
        outbox (see `finish_dispatch`): False then also when it already left it."""
        log.retry_shard = retry_shard(log.id) if log.status == "pending" else None
        log.failed_key = _failed_key(log) if log.status == "failed" else None
        try:
            with storage_errors(), TransactWrite(connection=shared_connection()) as tx:
                tx.save(log, condition=WebhookLogModel.id.does_not_exist())
                tx.update(stats_shard(log.merchant_id), actions=[CounterModel.webhook_logs.add(1)])
                if finishing is not None:
                    tx.update(
                        finishing,
                        actions=_finish_actions(endpoint_ids),
                        condition=EventModel.dispatch_shard.exists(),
                    )
        except ConditionFailed:
            return False
        return True

    def finish_dispatch(self, event: EventModel, endpoint_ids: list[str]) -> bool:
        """Take the event out of the outbox, recording the endpoints it went to, once every
        log exists; False if another delivery of the same event already did."""
        try:
            with storage_errors():
                event.update(
                    actions=_finish_actions(endpoint_ids),
                    condition=EventModel.dispatch_shard.exists(),
                )
        except ConditionFailed:
            return False
        return True

    def record_attempt(
        self, log: WebhookLogModel, expected_attempts: int, generation: int, **fields
    ) -> bool:
        """Write one attempt's outcome if nobody recorded this attempt yet; False otherwise.
        A log stays in `retry-index` while it is pending."""
        fields["retry_shard"] = retry_shard(log.id) if fields.get("status") == "pending" else None
        fields["failed_key"] = _failed_key(log) if fields.get("status") == "failed" else None
        actions = [
            getattr(WebhookLogModel, k).set(v)
            if v is not None
            else getattr(WebhookLogModel, k).remove()
            for k, v in fields.items()
        ]
        condition = (
            (WebhookLogModel.attempts == expected_attempts)
            & (WebhookLogModel.generation == generation)
            & (WebhookLogModel.status == "pending")
        )
        try:
            with storage_errors():
                log.update(actions=actions, condition=condition)
        except ConditionFailed:
            return False
        return True

    def reset(
        self, log: WebhookLogModel, at_iso: str, at_epoch: float, only_failed: bool = False
    ) -> bool:
        """Manual retry: attempts back to 0, status pending, a new generation. With
        `only_failed` (a bulk replay), only while the log is still failed; False otherwise."""
        condition = WebhookLogModel.status == "failed" if only_failed else None
        try:
            with storage_errors():
                log.update(
                    actions=[
                        WebhookLogModel.attempts.set(0),
                        WebhookLogModel.status.set("pending"),
                        WebhookLogModel.generation.add(1),
                        WebhookLogModel.next_retry_at.set(at_iso),
                        WebhookLogModel.next_retry_epoch.set(at_epoch),
                        WebhookLogModel.retry_shard.set(retry_shard(log.id)),
                        WebhookLogModel.failed_key.remove(),
                    ],
                    condition=condition,
                )
        except ConditionFailed:
            return False
        return True

    def failed_logs(
        self, merchant_id: str, endpoint_id: str, created_gte: str, created_lte: str, limit: int
    ) -> list[WebhookLogModel]:
        """Up to `limit` failed logs of one endpoint created from `created_gte` to
        `created_lte` (ISO, both included), oldest first: a query of the sparse
        `failed-index`, which holds failed logs only."""
        with storage_errors():
            return list(
                WebhookLogModel.failed_by_endpoint.query(
                    failed_key(merchant_id, endpoint_id),
                    WebhookLogModel.created_at.between(created_gte, created_lte),
                    limit=limit,
                    page_size=limit,
                )
            )

    def list_for_merchant(self, merchant_id: str, limit: int, offset: int) -> list:
        with storage_errors():
            results = WebhookLogModel.by_merchant.query(
                merchant_id,
                scan_index_forward=False,
                limit=offset + limit,
                page_size=offset + limit,
            )
            return list(results)[offset:]

    def clear_dispatch(self, event: EventModel) -> None:
        with storage_errors():
            event.update(actions=[EventModel.dispatch_shard.remove()])

    def undispatched(self, created_before: str, limit: int = 100) -> list[EventModel]:
        """Events still in the outbox created before `created_before` (ISO), oldest first."""
        found: list[EventModel] = []
        with storage_errors():
            for shard in range(DISPATCH_SHARDS):
                found += list(
                    EventModel.to_dispatch.query(
                        str(shard), EventModel.created_at < created_before, limit=limit
                    )
                )
        return sorted(found, key=lambda e: e.created_at)[:limit]

    def overdue(self, due_before: float, limit: int = 100) -> list[WebhookLogModel]:
        """Pending logs whose next attempt was due before `due_before` (unix seconds), most
        overdue first: a query on the sparse `retry-index`, never a scan."""
        found: list[WebhookLogModel] = []
        with storage_errors():
            for shard in range(RETRY_SHARDS):
                found += list(
                    WebhookLogModel.pending_by_due_time.query(
                        str(shard),
                        WebhookLogModel.next_retry_epoch < due_before,
                        limit=limit,
                    )
                )
        return sorted(found, key=lambda log: float(log.next_retry_epoch))[:limit]
