"""Webhooks: merchant configuration, logs, manual and test deliveries, and the delivery engine.

Delivery messages on the webhook queue:
- `{"event_id"}`: an event left the outbox; create its log (one per event) and attempt it;
- `{"log_id", "attempt", "generation"}`: attempt number `attempt` of a log, due at
  `next_retry_at` (waits beyond SQS's 900 s cap arrive early and are re-queued).
Each attempt is recorded with a condition on (attempts, generation), so a redelivered or
duplicated message can repeat a POST (same `webhook-id`) but never counts an attempt twice.
An attempt is one bounded POST (`paygate.webhook_transport`: 5 s in all, 4 KB read, pinned to
the address the URL policy checked). The outbox relay re-sends events stuck before their log
and attempts overdue by more than `RELAY_OVERDUE_AFTER_SECONDS` (a lost or dead-lettered
attempt message), so every log ends `success` or `failed`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from paygate import clock, ids, security
from paygate.db.merchants import MerchantRepository
from paygate.db.models import MerchantModel, WebhookLogModel
from paygate.db.webhooks import WebhookRepository
from paygate.domain.pagination import parse_page
from paygate.errors import BadRequest, Conflict, NotFound
from paygate.queues import MAX_DELAY_SECONDS, Queue
from paygate.services.events import EventPublisher, new_event
from paygate.services.jobs import missing_record
from paygate.services.rate_limits import RateLimiter
from paygate.settings import Settings
from paygate.signing import (
    DEFAULT_OVERLAP_SECONDS,
    MAX_OVERLAP_SECONDS,
    SigningSecrets,
    webhook_headers,
)
from paygate.webhook_transport import BODY_LIMIT, PinnedTransport
from paygate.webhook_urls import check_url

logger = Logger(child=True)
LOG_NAMESPACE = uuid.UUID("6f1d3c1e-5b8e-4a51-9d0c-0e4f8e7a9c21")
SCHEDULE = (0, 60, 300, 1800, 7200)
TEST_SCHEDULE = (0, 5, 10, 15, 20)
MAX_ATTEMPTS = 5
RESPONSE_BODY_LIMIT = BODY_LIMIT
RELAY_AFTER_SECONDS = 30
OVERDUE_GRACE_SECONDS = 30
# An attempt message may legitimately be late: a crashed batch comes back after the queue's
# 60 s visibility timeout, up to 5 receives before the DLQ. Past that the relay re-sends it.
RELAY_OVERDUE_AFTER_SECONDS = 300
TEST_WEBHOOKS_PER_MINUTE = 60


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


def signing_secrets(merchant: MerchantModel) -> SigningSecrets:
    """The merchant's default endpoint's secrets (issue 16 keeps the same triple per endpoint)."""
    expires = merchant.webhook_previous_secret_expires_at
    return SigningSecrets(
        merchant.webhook_secret or "",
        merchant.webhook_previous_secret,
        float(expires) if expires is not None else None,
    )


def previous_expiry(secrets: SigningSecrets, now: float) -> str | None:
    """When the previous secret stops signing (ISO), while it still does; None otherwise."""
    if len(secrets.in_use(now)) < 2:
        return None
    return _iso_at(secrets.previous_expires_at)


def overlap_seconds(body: object) -> int:
    """`expire_previous_in` of a regenerate request: whole seconds, 0 to 7 days (default 24 h)."""
    if body is None:
        return DEFAULT_OVERLAP_SECONDS
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    value = body.get("expire_previous_in", DEFAULT_OVERLAP_SECONDS)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_OVERLAP_SECONDS
    ):
        raise BadRequest(
            f"expire_previous_in must be a whole number of seconds from 0 to {MAX_OVERLAP_SECONDS}"
        )
    return value


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
        test_limiter: RateLimiter,
    ) -> None:
        self.repo = repo
        self.merchants = merchants
        self.publisher = publisher
        self.counters = counters
        self.queue = queue
        self.settings = settings
        self.test_limiter = test_limiter

    @staticmethod
    def _config_view(merchant: MerchantModel) -> dict:
        return {
            "webhook_url": merchant.webhook_url,
            "webhook_secret": merchant.webhook_secret,
            "previous_secret_expires_at": previous_expiry(signing_secrets(merchant), time.time()),
        }

    def config(self, merchant: MerchantModel) -> dict:
        """The stored configuration (read fresh: the caller's copy may be cached)."""
        return self._config_view(self.merchants.get(merchant.id) or merchant)

    def set_url(self, merchant: MerchantModel, body: object) -> dict:
        if not isinstance(body, dict) or "webhook_url" not in body:
            raise BadRequest("webhook_url is required (null or an empty string clears it)")
        url = body["webhook_url"]
        if url not in (None, ""):
            url = check_url(url, self.settings.webhook_allow_private_targets)
        merchant = self.merchants.update_fields(
            merchant, webhook_url=url or None, updated_at=clock.iso()
        )
        return self._config_view(merchant)

    def regenerate_secret(self, merchant: MerchantModel, body: object = None) -> dict:
        """A new secret; the one it replaces keeps signing for `expire_previous_in` seconds."""
        overlap = overlap_seconds(body)
        for _ in range(3):
            merchant = self.merchants.get(merchant.id) or merchant
            now = time.time()
            rolled = signing_secrets(merchant).rolled(security.new_webhook_secret(), overlap, now)
            if self.merchants.replace_webhook_secrets(merchant, rolled):
                return {
                    "webhook_secret": rolled.current,
                    "previous_secret_expires_at": _iso_at(now + overlap),
                }
        raise Conflict("The webhook secret changed while regenerating it; try again")

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
        """A `webhook.test` event through the normal pipeline; returns its log id. At most
        TEST_WEBHOOKS_PER_MINUTE per merchant (each one makes the worker POST)."""
        self.test_limiter.hit(
            merchant.id, f"At most {TEST_WEBHOOKS_PER_MINUTE} test webhooks per minute"
        )
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
        transport: PinnedTransport | None = None,
    ) -> None:
        self.repo = repo
        self.merchants = merchants
        self.queue = queue
        self.settings = settings
        self.transport = transport or PinnedTransport(settings.webhook_allow_private_targets)

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
            body = log.payload.encode()
            headers = webhook_headers(body, signing_secrets(merchant), log.event_id, clock.unix())
            answer = self.transport.post(merchant.webhook_url, body, headers)
            code, text = answer.status, answer.body
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

    def sweep(self, now: float | None = None) -> int:
        """The outbox relay: re-send events a crash left between commit and hand-off, and the
        next attempt of logs overdue by more than RELAY_OVERDUE_AFTER_SECONDS. Returns how
        many messages it sent."""
        now = now or time.time()
        stuck = self.repo.undispatched(_iso_at(now - RELAY_AFTER_SECONDS))
        if stuck:
            self.queue.send_batch([{"event_id": e.id} for e in stuck])
            logger.warning("outbox relay resent events", extra={"count": len(stuck)})
        overdue = [
            log
            for log in self.repo.overdue(now - RELAY_OVERDUE_AFTER_SECONDS)
            if log.status == "pending" and int(log.attempts) < MAX_ATTEMPTS
        ]
        if overdue:
            # The attempt number makes this safe next to a late original: only one of them
            # can record the attempt.
            self.queue.send_batch(
                [
                    {
                        "log_id": log.id,
                        "attempt": int(log.attempts) + 1,
                        "generation": int(log.generation),
                    }
                    for log in overdue
                ]
            )
            logger.warning("outbox relay resent overdue attempts", extra={"count": len(overdue)})
        return len(stuck) + len(overdue)
