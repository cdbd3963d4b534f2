"""Webhooks: merchant configuration, logs, manual and test deliveries, bulk replay, and the
delivery engine.

Delivery messages on the webhook queue:
- `{"event_id"}`: an event left the outbox; fan it out (one log per subscribing endpoint) and
  attempt each log;
- `{"log_id", "attempt", "generation"}`: attempt number `attempt` of a log, due at
  `next_retry_at` (waits beyond SQS's 900 s cap arrive early and are re-queued).

The fan-out is exactly-once though it writes several items: each log's id is fixed by (event,
endpoint) and created only if absent, and the event leaves the outbox (`dispatch_shard`
removed, `dispatched_to` recorded) only once every log exists, so a fan-out that dies half-way
is finished by the message's redelivery or the outbox relay, without losing or doubling a log.
Each attempt is recorded with a condition on (attempts, generation), so a redelivered or
duplicated message can repeat a POST (same `webhook-id`) but never counts an attempt twice.
An attempt is one bounded POST (`paygate.webhook_transport`: 5 s in all, 4 KB read, pinned to
the address the URL policy checked). The outbox relay re-sends events stuck before their logs
and attempts overdue by more than `RELAY_OVERDUE_AFTER_SECONDS` (a lost or dead-lettered
attempt message), so every log ends `success` or `failed`. A log whose endpoint is deleted or
disabled ends `failed` at its next attempt without sending anything.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from paygate import clock, ids
from paygate.db.endpoint_gates import EndpointGateRepository
from paygate.db.merchants import MerchantRepository
from paygate.db.models import EventModel, MerchantModel, WebhookLogModel
from paygate.db.webhook_endpoints import WebhookEndpointRepository, merchant_secrets
from paygate.db.webhooks import WebhookRepository
from paygate.domain.events import parse_time
from paygate.domain.pagination import parse_page
from paygate.domain.webhook_endpoints import (
    Endpoint,
    default_endpoint_id,
    overlap_seconds,
    refuse_unknown_fields,
)
from paygate.errors import BadRequest, NotFound
from paygate.queues import MAX_DELAY_SECONDS, Queue
from paygate.services.endpoint_gate import MAX_DEFERRAL_SECONDS, Deferral, EndpointGate
from paygate.services.events import EventPublisher, new_event
from paygate.services.jobs import missing_record
from paygate.services.rate_limits import RateLimiter
from paygate.services.webhook_endpoints import (
    EndpointDirectory,
    EndpointHealth,
    WebhookEndpointService,
)
from paygate.settings import Settings
from paygate.signing import SigningSecrets, webhook_headers
from paygate.webhook_transport import BODY_LIMIT, PinnedTransport

__all__ = ["WebhookDelivery", "WebhookService", "log_id_for", "overlap_seconds"]

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
# A manual retry makes the worker POST at once, as a test webhook does: the same bound. A bulk
# replay may reset up to MAX_REPLAY deliveries per call.
MANUAL_RETRIES_PER_MINUTE = 60
REPLAYS_PER_MINUTE = 10
# A bulk replay retries at most this many failed deliveries, created within at most this range.
MAX_REPLAY = 500
REPLAY_FIELDS = ("status", "created_gte", "created_lt", "endpoint_id")
MAX_REPLAY_RANGE = timedelta(days=31)
REPLAY_THREADS = 16
# A deferred attempt's wait is `Deferral.backoff`. Deferrals adding up to at most this are
# waited by the worker itself (a queue delay is whole seconds: a shorter one would be 1 s).
WAIT_HERE_SECONDS = 1.0
DEFERRAL_RELAY_MARGIN_SECONDS = 60
ENDPOINT_DELETED = "Webhook endpoint deleted: not sent"
ENDPOINT_DISABLED = "Webhook endpoint disabled: not sent"


def log_id_for(event_id: str, endpoint_id: str | None = None) -> str:
    """The log of an event at an endpoint has a fixed id, so two deliveries of one event make
    one log per endpoint. The default endpoint's (`endpoint_id` None) is the id logs had before
    there were several endpoints."""
    name = event_id if endpoint_id is None else f"{event_id}/{endpoint_id}"
    return str(uuid.uuid5(LOG_NAMESPACE, name))


def _log_id(event_id: str, merchant_id: str, endpoint_id: str) -> str:
    default = endpoint_id == default_endpoint_id(merchant_id)
    return log_id_for(event_id, None if default else endpoint_id)


def log_view(log: WebhookLogModel) -> dict:
    return {
        "id": log.id,
        "event": log.event,
        "event_id": log.event_id,
        "endpoint_id": log.endpoint_id or default_endpoint_id(log.merchant_id),
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
    """The merchant's own webhook secret, as its default endpoint signs with it."""
    return merchant_secrets(merchant)


def previous_expiry(secrets: SigningSecrets, now: float) -> str | None:
    """When the newest previous secret stops signing (ISO), while it still does; else None."""
    expires = secrets.previous_expires_at(now)
    return None if expires is None else _iso_at(expires)


def _replay_time(body: dict, name: str) -> str:
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if value is None:
        raise BadRequest(f"{name} is required (ISO-8601 with a zone, or unix seconds)")
    return parse_time(value, name)


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
        endpoints: WebhookEndpointService | None = None,
        retry_limiter: RateLimiter | None = None,
        replay_limiter: RateLimiter | None = None,
    ) -> None:
        self.repo = repo
        self.merchants = merchants
        self.publisher = publisher
        self.counters = counters
        self.queue = queue
        self.settings = settings
        self.test_limiter = test_limiter
        self.retry_limiter = retry_limiter
        self.replay_limiter = replay_limiter
        if endpoints is None:
            endpoint_repo = WebhookEndpointRepository()
            directory = EndpointDirectory(endpoint_repo, merchants)
            endpoints = WebhookEndpointService(directory, endpoint_repo, merchants, settings)
        self.endpoints = endpoints

    @property
    def directory(self) -> EndpointDirectory:
        return self.endpoints.directory

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
        """Set, change or clear (`null`, "") the default endpoint's URL (the legacy config)."""
        if not isinstance(body, dict) or "webhook_url" not in body:
            raise BadRequest("webhook_url is required (null or an empty string clears it)")
        url = body["webhook_url"]
        merchant = self.endpoints.set_default_url(merchant, None if url in (None, "") else url)
        return self._config_view(merchant)

    def regenerate_secret(self, merchant: MerchantModel, body: object = None) -> dict:
        """A new secret; the one it replaces keeps signing for `expire_previous_in` seconds."""
        secret, expires = self.endpoints.roll_default(merchant, overlap_seconds(body))
        return {"webhook_secret": secret, "previous_secret_expires_at": _iso_at(expires)}

    # ------------------------------------------------------------------ logs
    def list_logs(self, merchant: MerchantModel, query: dict | None) -> dict:
        """The merchant's logs newest first; with `event_id`, that event's logs (one per
        endpoint it went to)."""
        limit, offset = parse_page(query)
        event_id = (query or {}).get("event_id")
        if event_id is not None:
            logs = self._logs_of_event(merchant, event_id)
            total = len(logs)
            logs = logs[offset : offset + limit]
        else:
            logs = self.repo.list_for_merchant(merchant.id, limit, offset)
            total = self.counters.merchant_stats(merchant.id)["webhook_logs"]
        return {
            "data": [log_view(log) for log in logs],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def _logs_of_event(self, merchant: MerchantModel, event_id: str) -> list[WebhookLogModel]:
        if not ids.is_id(event_id, "evt"):
            raise BadRequest("event_id must be an event id (evt_ and 16 letters or digits)")
        event = self.repo.event(event_id)
        if event is None or event.merchant_id != merchant.id:
            return []  # unknown and another merchant's look the same: no deliveries
        wanted = {log_id_for(event.id)}  # the default endpoint's (and logs of before)
        wanted.update(_log_id(event.id, merchant.id, e) for e in event.dispatched_to or ())
        logs = [log for log in self.repo.logs(sorted(wanted)) if log.merchant_id == merchant.id]
        return sorted(logs, key=lambda log: (log.created_at, log.id))

    def _deliverable(self, merchant_id: str, endpoint_id: str | None) -> Endpoint:
        """The endpoint a retry goes to: it must still exist and be enabled."""
        endpoint = self.directory.find(merchant_id, endpoint_id)
        if endpoint is None:
            raise BadRequest("The webhook endpoint of this delivery was deleted")
        if not endpoint.enabled:
            raise BadRequest(
                "The webhook endpoint of this delivery is disabled; enable it to retry"
            )
        return endpoint

    def retry(self, merchant: MerchantModel, log_id: str) -> dict:
        """Attempts back to 0, deliver at once, then the schedule again (failed logs too). At
        most MANUAL_RETRIES_PER_MINUTE per merchant (each one makes the worker POST)."""
        if self.retry_limiter is not None:
            self.retry_limiter.hit(
                merchant.id, f"At most {MANUAL_RETRIES_PER_MINUTE} manual retries per minute"
            )
        log = self.repo.log(log_id) if ids.is_id(log_id, "uuid") else None
        if log is None or log.merchant_id != merchant.id:
            raise NotFound("Webhook log not found")
        self._deliverable(merchant.id, log.endpoint_id)
        now = time.time()
        self.repo.reset(log, _iso_at(now), now)
        self.queue.send({"log_id": log.id, "attempt": 1, "generation": int(log.generation)})
        return {"id": log.id, "status": "pending", "message": "Webhook retry scheduled"}

    def replay(self, merchant: MerchantModel, body: object) -> dict:
        """Retry, as a manual retry each, the merchant's failed deliveries created in
        [created_gte, created_lt), of one endpoint or of every enabled one. At most MAX_REPLAY
        deliveries in a range of at most MAX_REPLAY_RANGE; beyond, 400 and nothing changes.
        At most REPLAYS_PER_MINUTE calls per merchant."""
        if self.replay_limiter is not None:
            self.replay_limiter.hit(
                merchant.id, f"At most {REPLAYS_PER_MINUTE} bulk replays per minute"
            )
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        refuse_unknown_fields(body, REPLAY_FIELDS)
        if body.get("status") != "failed":
            raise BadRequest('status is required and must be "failed" (failed deliveries)')
        gte, lt = _replay_time(body, "created_gte"), _replay_time(body, "created_lt")
        start, end = datetime.fromisoformat(gte), datetime.fromisoformat(lt)
        if start >= end:
            raise BadRequest("created_gte must be before created_lt")
        if end - start > MAX_REPLAY_RANGE:
            raise BadRequest(f"The range may span at most {MAX_REPLAY_RANGE.days} days")
        endpoint_id = body.get("endpoint_id")
        if endpoint_id is not None:
            if not isinstance(endpoint_id, str):
                raise BadRequest("endpoint_id must be a webhook endpoint id (we_...)")
            endpoint = self.directory.find(merchant.id, endpoint_id)
            if endpoint is None:
                raise NotFound("Webhook endpoint not found")
            if not endpoint.enabled:
                raise BadRequest("The webhook endpoint is disabled; enable it before replaying")
            endpoints = [endpoint]
        else:
            current = self.merchants.get(merchant.id) or merchant
            endpoints = [e for e in self.directory.all(current) if e.enabled]
        last = clock.iso(end - timedelta(milliseconds=1))  # stored times are milliseconds
        logs: list[WebhookLogModel] = []
        for endpoint in endpoints:
            logs += self.repo.failed_logs(merchant.id, endpoint.id, gte, last, MAX_REPLAY + 1)
            if len(logs) > MAX_REPLAY:
                raise BadRequest(
                    f"More than {MAX_REPLAY} failed deliveries in that range; replay a "
                    "shorter range (or one endpoint) at a time"
                )
        now = time.time()

        def reset(log: WebhookLogModel) -> dict | None:
            if not self.repo.reset(log, _iso_at(now), now, only_failed=True):
                return None  # retried meanwhile (another replay, a manual retry)
            return {"log_id": log.id, "attempt": 1, "generation": int(log.generation)}

        with ThreadPoolExecutor(max_workers=REPLAY_THREADS) as pool:
            messages = [m for m in pool.map(reset, logs) if m is not None]
        self.queue.send_batch(messages)
        return {"replayed": len(messages)}

    # ------------------------------------------------------------------ test deliveries
    def send_test(self, merchant: MerchantModel, body: object = None) -> dict:
        """A `webhook.test` event through the normal pipeline, to one endpoint (`endpoint_id`,
        or the default one); returns its log id. At most TEST_WEBHOOKS_PER_MINUTE per
        merchant (each one makes the worker POST)."""
        self.test_limiter.hit(
            merchant.id, f"At most {TEST_WEBHOOKS_PER_MINUTE} test webhooks per minute"
        )
        if body is not None and not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        endpoint_id = (body or {}).get("endpoint_id")
        if endpoint_id is None:
            endpoint = self.directory.find(merchant.id, None)
            if endpoint is None:
                raise BadRequest("Set a webhook URL before sending a test webhook")
        else:
            endpoint = (
                self.directory.find(merchant.id, endpoint_id)
                if isinstance(endpoint_id, str)
                else None
            )
            if endpoint is None:
                raise NotFound("Webhook endpoint not found")
        if not endpoint.enabled:
            raise BadRequest("This webhook endpoint is disabled; enable it to send a test")
        event = new_event(
            merchant.id,
            "webhook.test",
            {"message": "This is a test webhook from Paygate", "merchant_id": merchant.id},
        )
        event.endpoint_id = endpoint.id
        self.repo.save_event(event)
        self.publisher.publish([event])
        return {"id": _log_id(event.id, merchant.id, endpoint.id), "status": "pending"}


@dataclass(frozen=True)
class _Deferred:
    """How often an attempt's message was deferred, and since when (unix seconds)."""

    count: int = 0
    since: float | None = None


def _ago(since: float, now: float) -> str:
    minutes = int((now - since) // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


class WebhookDelivery:
    """The webhook worker's engine: fan-out, attempts, retries, endpoint health and the outbox
    relay."""

    def __init__(
        self,
        repo: WebhookRepository,
        merchants: MerchantRepository,
        queue: Queue,
        settings: Settings,
        transport: PinnedTransport | None = None,
        directory: EndpointDirectory | None = None,
        health: EndpointHealth | None = None,
        gate: EndpointGate | None = None,
    ) -> None:
        self.repo = repo
        self.merchants = merchants
        self.queue = queue
        self.settings = settings
        self.transport = transport or PinnedTransport(settings.webhook_allow_private_targets)
        endpoint_repo = WebhookEndpointRepository()
        self.directory = directory or EndpointDirectory(endpoint_repo, merchants)
        self.health = health or EndpointHealth(endpoint_repo, settings)
        self.gate = gate or EndpointGate(EndpointGateRepository())

    @property
    def schedule(self) -> tuple[int, ...]:
        return TEST_SCHEDULE if self.settings.webhook_retry_intervals_test else SCHEDULE

    def handle(self, message: dict, sent_at: float) -> str:
        """Process one webhook-queue message; returns what happened."""
        if "event_id" in message:
            return self.dispatch(message["event_id"], sent_at)
        return self.attempt(
            message["log_id"],
            int(message["attempt"]),
            int(message.get("generation", 0)),
            _Deferred(int(message.get("deferrals", 0)), message.get("deferred_since")),
        )

    def dispatch(self, event_id: str, sent_at: float) -> str:
        """Fan an event out: one log per endpoint that takes it (created only if absent), then
        the event leaves the outbox, then the first attempts start."""
        event = self.repo.event(event_id)
        if event is None:
            return missing_record("event", event_id, sent_at)
        if event.dispatch_shard is None:
            # Fanned out already: a crash may have left first attempts undone.
            return self._start([(log_id, None, None) for log_id in self._log_ids(event)])
        merchant = self.merchants.get(event.merchant_id)
        targets = self.directory.targets(merchant, event) if merchant is not None else []
        if not targets:
            self.repo.finish_dispatch(event, [])
            return "no_endpoint"
        now = time.time()
        endpoint_ids = [endpoint.id for endpoint in targets]
        started = []
        for endpoint in targets:
            log = self._new_log(event, endpoint, now)
            last = endpoint is targets[-1]
            # The last log leaves the outbox with the event, in its own transaction.
            if self.repo.create_log(log, event if last else None, endpoint_ids):
                if log.status == "pending":
                    started.append((log.id, log, endpoint))
                continue
            if last and not self.repo.finish_dispatch(event, endpoint_ids):
                return "duplicate"  # another delivery of this event finished the fan-out
            started.append((log.id, None, None))  # made earlier: attempted as stored
        return self._start(started)

    def _log_ids(self, event: EventModel) -> list[str]:
        if event.dispatched_to is None:  # fanned out before there were several endpoints
            return [log_id_for(event.id)]
        return [_log_id(event.id, event.merchant_id, e) for e in event.dispatched_to]

    def _new_log(self, event: EventModel, endpoint: Endpoint, now: float) -> WebhookLogModel:
        """The log of `event` at `endpoint`: pending, or failed at once (nothing sent) while
        the endpoint is disabled, so a replay after enabling it can send what it missed."""
        log = WebhookLogModel(
            id=log_id_for(event.id, None if endpoint.is_default else endpoint.id),
            merchant_id=event.merchant_id,
            event_id=event.id,
            endpoint_id=endpoint.id,
            event=event.event,
            payload=event.body,
            status="pending",
            attempts=0,
            generation=0,
            created_at=clock.iso(),
            next_retry_at=_iso_at(now),
            next_retry_epoch=now,
        )
        if not endpoint.enabled:
            log.status, log.response_body = "failed", ENDPOINT_DISABLED
            log.next_retry_at = log.next_retry_epoch = None
        return log

    def _start(self, logs: list[tuple[str, WebhookLogModel | None, Endpoint | None]]) -> str:
        """First attempts: every log but the first as its own message (so no endpoint waits
        for another's answer), the first one here and now; a log given without its item is
        read first (it may have been attempted already)."""
        if not logs:
            return "no_log"
        rest = [{"log_id": log_id, "attempt": 1, "generation": 0} for log_id, _, _ in logs[1:]]
        if rest:
            self.queue.send_batch(rest)
        log_id, log, endpoint = logs[0]
        if log is None:
            return self.attempt(log_id, 1, 0)
        return self._deliver(log, 1, endpoint)

    def attempt(
        self, log_id: str, attempt: int, generation: int, deferred: _Deferred | None = None
    ) -> str:
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
            self._enqueue(log, attempt, wait, deferred)
            return "not_due"
        return self._deliver(log, attempt, deferred=deferred)

    def _reschedule_if_lost(self, log: WebhookLogModel, done: int) -> str:
        # This attempt was recorded but its message survived: the worker died between the
        # record and queueing the next attempt. Re-queue only if that next attempt is overdue,
        # so a plain duplicate message does nothing.
        due = float(log.next_retry_epoch or 0)
        if done < MAX_ATTEMPTS and time.time() > due + OVERDUE_GRACE_SECONDS:
            self._enqueue(log, done + 1, 0)
            return "rescheduled"
        return "duplicate"

    def _enqueue(
        self,
        log: WebhookLogModel,
        attempt: int,
        wait_seconds: float,
        deferred: _Deferred | None = None,
    ) -> None:
        delay_ms = int(min(MAX_DELAY_SECONDS, max(0.0, wait_seconds)) * 1000)
        message = {"log_id": log.id, "attempt": attempt, "generation": int(log.generation)}
        if deferred is not None and deferred.count:
            message.update(deferrals=deferred.count, deferred_since=deferred.since)
        self.queue.send(message, delay_ms=delay_ms)

    def _deliver(
        self,
        log: WebhookLogModel,
        attempt: int,
        endpoint: Endpoint | None = None,
        deferred: _Deferred | None = None,
    ) -> str:
        """POST once and record it; `endpoint` if the caller has just read it (URL, secret).
        A deleted or disabled endpoint ends the log as failed, with nothing sent; an endpoint
        with no place for another attempt (`EndpointGate`) defers it."""
        endpoint = endpoint or self.directory.find(log.merchant_id, log.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            ended = self.repo.record_attempt(
                log,
                attempt - 1,
                int(log.generation),
                attempts=attempt - 1,
                status="failed",
                response_body=ENDPOINT_DELETED if endpoint is None else ENDPOINT_DISABLED,
                next_retry_at=None,
                next_retry_epoch=None,
            )
            if ended and endpoint is not None:
                self._missed(endpoint, log.created_at)
            return "ended" if ended else "duplicate"
        deferred = deferred or _Deferred()
        admission, waited, tries = self.gate.enter(endpoint), 0.0, 0
        while admission.deferral is not None:
            wait = admission.deferral.backoff(deferred.count + tries)
            if waited + wait > WAIT_HERE_SECONDS:
                # Back on the queue: its back-off follows the queue's deferrals only (the short
                # waits here would have doubled it three times, 1 s places making it 8-16 s).
                since = deferred.since if deferred.since is not None else time.time() - waited
                queued = admission.deferral.backoff(deferred.count)
                return self._defer(
                    log, attempt, admission.deferral, _Deferred(deferred.count, since), queued
                )
            # A full gate turning over fast (a burst to a fast receiver): a wait shorter than
            # a queue delay can be (whole seconds) is waited here, then the gate asked again.
            time.sleep(wait)
            waited += wait
            tries += 1
            admission = self.gate.enter(endpoint)
        timed_out = False
        try:
            body = log.payload.encode()
            headers = webhook_headers(body, endpoint.secrets, log.event_id, clock.unix())
            answer = self.transport.post(endpoint.url, body, headers)
            timed_out = answer.timed_out
        finally:
            self.gate.leave(admission, timed_out)
        return self._record(log, attempt, endpoint, answer.status, answer.body)

    def _defer(
        self,
        log: WebhookLogModel,
        attempt: int,
        deferral: Deferral,
        deferred: _Deferred,
        wait: float,
    ) -> str:
        """Put the attempt back on the queue for `wait` seconds, counting nothing: the log's next
        attempt moves to then (so the relay does not take it for lost). An attempt deferred for
        longer than MAX_DEFERRAL_SECONDS is recorded as failed, with nothing sent."""
        now = time.time()
        since = deferred.since if deferred.since is not None else now
        if now - since > MAX_DEFERRAL_SECONDS:
            text = f"Not sent: endpoint overloaded ({deferral.reason}) for over {_ago(since, now)}"
            return self._record(log, attempt, None, None, text)
        until = now + wait
        due = float(log.next_retry_epoch or now)
        if until > due + RELAY_OVERDUE_AFTER_SECONDS - DEFERRAL_RELAY_MARGIN_SECONDS:
            # Past this the relay would take the attempt for lost: its due time moves first
            # (the log then also shows when it comes). Shorter deferrals cost no write.
            moved = self.repo.record_attempt(
                log,
                attempt - 1,
                int(log.generation),
                attempts=attempt - 1,
                status="pending",
                next_retry_at=_iso_at(until),
                next_retry_epoch=until,
            )
            if not moved:
                return "duplicate"  # attempted or ended meanwhile by another copy
        self._enqueue(log, attempt, wait, _Deferred(deferred.count + 1, since))
        return "deferred"

    def _record(
        self,
        log: WebhookLogModel,
        attempt: int,
        endpoint: Endpoint | None,
        code: int | None,
        text: str,
    ) -> str:
        """Record an attempt's outcome, queue the next one, and tell endpoint health (when
        something was sent to `endpoint`)."""
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
        if endpoint is not None:
            self._observe(endpoint, ok, now, log.created_at)
        return "success" if ok else ("failed" if final else "retry")

    def _observe(self, endpoint: Endpoint, ok: bool, now: float, created_at: str) -> None:
        """Endpoint health after a recorded attempt; never fails the delivery itself (the next
        attempt's outcome catches up)."""
        try:
            self.health.observe(endpoint, ok, now, created_at)
        except Exception:
            logger.exception("endpoint health not updated", extra={"endpoint_id": endpoint.id})

    def _missed(self, endpoint: Endpoint, created_at: str) -> None:
        """A log ended unsent at a disabled endpoint: part of what re-enabling replays."""
        try:
            self.health.missed(endpoint, created_at)
        except Exception:
            logger.exception("endpoint health not updated", extra={"endpoint_id": endpoint.id})

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
