"""Webhooks: merchant configuration, logs, manual and test deliveries, and the delivery engine.

Delivery messages on the webhook queue:
- `{"event_id"}`: an event left the outbox; create its log (one per event) and attempt it;
- `{"log_id", "attempt", "generation"}`: attempt number `attempt` of a log, due at
  `next_retry_at` (waits beyond SQS's 900 s cap arrive early and are re-queued).
Each attempt is recorded with a condition on (attempts, generation), so a redelivered or
duplicated message can repeat a POST (same `webhook-id`) but never counts an attempt twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import requests
from aws_lambda_powertools import Logger

from paygate import clock, ids, security
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel, WebhookLogModel
from paygate.db.webhooks import WebhookRepository
from paygate.domain.pagination import parse_page
from paygate.errors import BadRequest, NotFound
from paygate.queues import MAX_DELAY_SECONDS, Queue
from paygate.services.events import EventPublisher, new_event
from paygate.services.jobs import missing_record
from paygate.settings import Settings
from paygate.signing import webhook_headers
from paygate.webhook_urls import check_url

logger = Logger(child=True)
LOG_NAMESPACE = uuid.UUID("6f1d3c1e-5b8e-4a51-9d0c-0e4f8e7a9c21")
SCHEDULE = (0, 60, 300, 1800, 7200)
TEST_SCHEDULE = (0, 5, 10, 15, 20)
MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 5
RESPONSE_BODY_LIMIT = 4096
RELAY_AFTER_SECONDS = 30
OVERDUE_GRACE_SECONDS = 30


def log_id_for(event_id: str) -> str:
    """The log of an event has a fixed id, so two deliveries of one event make one log."""
    return str(uuid.uuid5(LOG_NAMESPACE, event_id))


def log_view(log: WebhookLogModel) -> dict:
    return {
        "id": log.id,
        "event": log.event,
        "event_id": log.event_id,
        "payload": log.payload,
        "status": log.status,
        "attempts": int(log.attempts or 0),
        "created_at": log.created_at,
        "last_attempt_at": log.last_attempt_at,
        "next_retry_at": log.next_retry_at,
        "response_code": int(log.response_code) if log.response_code is not None else None,
        "response_body": log.response_body,
    }


def _iso_at(epoch: float) -> str:
    return clock.iso(datetime.fromtimestamp(epoch, UTC))


_sessions = threading.local()


def _http() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


class WebhookService:
    """What a merchant configures and sees."""

    def __init__(
        self,
        repo: WebhookRepository,
        merchants: MerchantRepository,
        publisher: EventPublisher,
        counters,
        queue: Queue,
        settings: Settings,
    ) -> None:
        self.repo = repo
        self.merchants = merchants
        self.publisher = publisher
        self.counters = counters
        self.queue = queue
        self.settings = settings

    def config(self, merchant: MerchantModel) -> dict:
        """The stored configuration (read fresh: the caller's copy may be cached)."""
        merchant = self.merchants.get(merchant.id) or merchant
        return {"webhook_url": merchant.webhook_url, "webhook_secret": merchant.webhook_secret}

    def set_url(self, merchant: MerchantModel, body: object) -> dict:
        if not isinstance(body, dict) or "webhook_url" not in body:
            raise BadRequest("webhook_url is required (null or an empty string clears it)")
        url = body["webhook_url"]
        if url not in (None, ""):
            url = check_url(url, self.settings.webhooks_may_target_internal_hosts)
        merchant = self.merchants.update_fields(
            merchant, webhook_url=url or None, updated_at=clock.iso()
        )
        return {"webhook_url": merchant.webhook_url, "webhook_secret": merchant.webhook_secret}

    def regenerate_secret(self, merchant: MerchantModel) -> dict:
        merchant = self.merchants.update_fields(
            merchant, webhook_secret=security.new_webhook_secret(), updated_at=clock.iso()
        )
        return {"webhook_secret": merchant.webhook_secret}

    def list_logs(self, merchant: MerchantModel, query: dict | None) -> dict:
        limit, offset = parse_page(query)
        logs = self.repo.list_for_merchant(merchant.id, limit, offset)
        return {
            "data": [log_view(log) for log in logs],
            "total": self.counters.merchant_stats(merchant.id)["webhook_logs"],
            "limit": limit,
            "offset": offset,
        }

    def retry(self, merchant: MerchantModel, log_id: str) -> dict:
        """Attempts back to 0, deliver at once, then the schedule again (failed logs too)."""
        log = self.repo.log(log_id) if ids.is_id(log_id, "uuid") else None
        if log is None or log.merchant_id != merchant.id:
            raise NotFound("Webhook log not found")
        now = time.time()
        log = self.repo.reset(log, _iso_at(now), now)
        self.queue.send({"log_id": log.id, "attempt": 1, "generation": int(log.generation)})
        return {"id": log.id, "status": "pending", "message": "Webhook retry scheduled"}

    def send_test(self, merchant: MerchantModel) -> dict:
        """A `webhook.test` event through the normal pipeline; returns its log id."""
        if not merchant.webhook_url:
            raise BadRequest("Set a webhook URL before sending a test webhook")
        event = new_event(
            merchant.id,
            "webhook.test",
            {"message": "This is a test webhook from Paygate", "merchant_id": merchant.id},
        )
        self.repo.save_event(event)
        self.publisher.publish([event])
        return {"id": log_id_for(event.id), "status": "pending"}


class WebhookDelivery:
    """The webhook worker's engine: dispatch, attempts, retries and the outbox relay."""

    def __init__(
        self,
        repo: WebhookRepository,
        merchants: MerchantRepository,
        queue: Queue,
        settings: Settings,
        post=None,
    ) -> None:
        self.repo = repo
        self.merchants = merchants
        self.queue = queue
        self.settings = settings
        self._post = post

    @property
    def schedule(self) -> tuple[int, ...]:
        return TEST_SCHEDULE if self.settings.webhook_retry_intervals_test else SCHEDULE

    def handle(self, message: dict, sent_at: float) -> str:
        """Process one webhook-queue message; returns what happened."""
        if "event_id" in message:
            return self.dispatch(message["event_id"], sent_at)
        return self.attempt(
            message["log_id"], int(message["attempt"]), int(message.get("generation", 0))
        )

    def dispatch(self, event_id: str, sent_at: float) -> str:
        event = self.repo.event(event_id)
        if event is None:
            return missing_record("event", event_id, sent_at)
        log_id = log_id_for(event.id)
        if event.dispatch_shard is None:
            # Already handed over: a crash may have left its first attempt undone.
            return self.attempt(log_id, 1, 0)
        merchant = self.merchants.get(event.merchant_id)
        if merchant is None or not merchant.webhook_url:
            self.repo.clear_dispatch(event)
            return "no_url"
        now = time.time()
        log = WebhookLogModel(
            id=log_id,
            merchant_id=event.merchant_id,
            event_id=event.id,
            event=event.event,
            payload=event.body,
            status="pending",
            attempts=0,
            generation=0,
            created_at=clock.iso(),
            next_retry_at=_iso_at(now),
            next_retry_epoch=now,
        )
        if not self.repo.create_log(log, event):
            return self.attempt(log_id, 1, 0)  # another delivery of this message made it
        return self._deliver(log, 1, merchant)

    def attempt(self, log_id: str, attempt: int, generation: int) -> str:
        log = self.repo.log(log_id)
        if log is None:
            return "no_log"
        if log.status != "pending" or int(log.generation) != generation:
            return "stale"
        done = int(log.attempts)
        if done >= attempt:
            return self._reschedule_if_lost(log, done)
        due = float(log.next_retry_epoch or 0)
        wait = due - time.time()
        if wait > 1:
            # Waits beyond SQS's 900 s cap are chained: arrive early, go back to the queue.
            self._enqueue(log, attempt, wait)
            return "not_due"
        return self._deliver(log, attempt)

    def _reschedule_if_lost(self, log: WebhookLogModel, done: int) -> str:
        # This attempt was recorded but its message survived: the worker died between the
        # record and queueing the next attempt. Re-queue only if that next attempt is overdue,
        # so a plain duplicate message does nothing.
        due = float(log.next_retry_epoch or 0)
        if done < MAX_ATTEMPTS and time.time() > due + OVERDUE_GRACE_SECONDS:
            self._enqueue(log, done + 1, 0)
            return "rescheduled"
        return "duplicate"

    def _enqueue(self, log: WebhookLogModel, attempt: int, wait_seconds: float) -> None:
        delay_ms = int(min(MAX_DELAY_SECONDS, max(0.0, wait_seconds)) * 1000)
        self.queue.send(
            {"log_id": log.id, "attempt": attempt, "generation": int(log.generation)},
            delay_ms=delay_ms,
        )

    def _deliver(
        self, log: WebhookLogModel, attempt: int, merchant: MerchantModel | None = None
    ) -> str:
        """POST once and record it; `merchant` if the caller has just read it (URL, secret)."""
        merchant = merchant or self.merchants.get(log.merchant_id)
        code, text = None, ""
        if merchant is None or not merchant.webhook_url:
            text = "No webhook URL configured"
        else:
            code, text = self._post_once(merchant, log)
        ok = code is not None and 200 <= code < 300
        now = time.time()
        final = ok or attempt >= MAX_ATTEMPTS
        next_epoch = None if final else now + self.schedule[attempt]
        recorded = self.repo.record_attempt(
            log,
            attempt - 1,
            int(log.generation),
            attempts=attempt,
            status="success" if ok else ("failed" if final else "pending"),
            last_attempt_at=_iso_at(now),
            response_code=code,
            response_body=text[:RESPONSE_BODY_LIMIT],
            next_retry_at=_iso_at(next_epoch) if next_epoch else None,
            next_retry_epoch=next_epoch,
        )
        if not recorded:
            return "duplicate"
        if next_epoch is not None:
            self._enqueue(log, attempt + 1, next_epoch - now)
        return "success" if ok else ("failed" if final else "retry")

    def _post_once(self, merchant: MerchantModel, log: WebhookLogModel) -> tuple[int | None, str]:
        try:
            url = check_url(merchant.webhook_url, self.settings.webhooks_may_target_internal_hosts)
        except BadRequest as exc:
            return None, f"Refused by URL policy: {exc.description}"
        body = log.payload.encode()
        headers = webhook_headers(body, merchant.webhook_secret, log.event_id, clock.unix())
        post = self._post or _http().post
        try:
            response = post(
                url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
            )
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:RESPONSE_BODY_LIMIT]
        return response.status_code, response.text[:RESPONSE_BODY_LIMIT]

    def sweep(self, now: float | None = None) -> int:
        """The outbox relay: re-send events a crash left between commit and hand-off."""
        cutoff = _iso_at((now or time.time()) - RELAY_AFTER_SECONDS)
        stuck = self.repo.undispatched(cutoff)
        if stuck:
            self.queue.send_batch([{"event_id": e.id} for e in stuck])
            logger.warning("outbox relay resent events", extra={"count": len(stuck)})
        return len(stuck)
