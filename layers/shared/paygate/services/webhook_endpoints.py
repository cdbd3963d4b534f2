"""Webhook endpoints (CONTRACT §13): where each event goes, the endpoints API, and endpoint
health (a failing streak and automatic disabling).

- `EndpointDirectory` answers "which endpoints" for the delivery engine: the merchant's default
  endpoint (the legacy `webhooks/config` URL and secret) and the endpoints added through the API.
- `WebhookEndpointService` is the API: create, list, read, change, delete, roll a secret. Every
  change to the set holds the merchant's endpoint lock (see `db.webhook_endpoints`), so the
  limit of 16 holds under any concurrency, and refreshes the cached merchant at once.
- `EndpointHealth` watches delivery outcomes: any success ends a failing streak; an endpoint
  whose every delivery failed for `webhook_endpoint_disable_after_seconds` is disabled, with a
  `webhook_endpoint.disabled` event for the merchant.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from paygate import clock, ids, security
from paygate.db.errors import ConditionFailed, TransactionConflict
from paygate.db.merchants import MerchantRepository
from paygate.db.models import EventModel, MerchantModel
from paygate.db.webhook_endpoints import (
    WebhookEndpointRepository,
    default_endpoint,
    merchant_secrets,
)
from paygate.domain import webhook_endpoints as rules
from paygate.domain.webhook_endpoints import MAX_ENDPOINTS, Endpoint
from paygate.errors import BadRequest, Conflict, NotFound
from paygate.services.events import new_event
from paygate.settings import Settings
from paygate.signing import SigningSecrets
from paygate.webhook_urls import check_url

logger = Logger(child=True)
# Changes to one merchant's endpoints are rare; under a burst of them, each round has a
# winner, so a change waits its turn (jittered) instead of failing.
LOCK_ATTEMPTS = 25
LIMIT_REACHED = (
    f"A merchant has at most {MAX_ENDPOINTS} webhook endpoints (the webhooks/config URL "
    "counts as one); delete one first"
)
NOT_FOUND = "Webhook endpoint not found"


def iso_at(epoch: float | None) -> str | None:
    return None if epoch is None else clock.iso(datetime.fromtimestamp(epoch, UTC))


def endpoint_view(endpoint: Endpoint, secret: bool = False, now: float | None = None) -> dict:
    """An endpoint as the API shows it; its signing secret only when just made (create, roll)."""
    now = time.time() if now is None else now
    view = {
        "id": endpoint.id,
        "url": endpoint.url,
        "enabled_events": list(endpoint.enabled_events),
        "description": endpoint.description,
        "status": endpoint.status,
        "is_default": endpoint.is_default,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "disabled_at": endpoint.disabled_at if not endpoint.enabled else None,
        "disabled_reason": endpoint.disabled_reason if not endpoint.enabled else None,
        "failing_since": iso_at(endpoint.failing_since),
        "previous_secret_expires_at": iso_at(endpoint.secrets.previous_expires_at(now)),
    }
    if secret:
        view["secret"] = endpoint.secrets.current
    return view


class EndpointDirectory:
    """A merchant's endpoints, whichever record stores them."""

    def __init__(self, repo: WebhookEndpointRepository, merchants: MerchantRepository) -> None:
        self.repo = repo
        self.merchants = merchants

    def all(self, merchant: MerchantModel) -> list[Endpoint]:
        """The default endpoint first (if the merchant has a URL), then the others, oldest
        first. The merchant record says how many others there are: none costs no query."""
        found = [default] if (default := default_endpoint(merchant)) else []
        if int(merchant.webhook_endpoint_count or 0) > 0:
            found += self.repo.rows(merchant.id)
        return found

    def find(self, merchant_id: str, endpoint_id: str | None) -> Endpoint | None:
        """One endpoint, read fresh; None if it does not exist (any more). `None` as the id
        names the default endpoint (logs written before endpoints existed)."""
        if endpoint_id is None or endpoint_id == rules.default_endpoint_id(merchant_id):
            merchant = self.merchants.get(merchant_id)
            return default_endpoint(merchant) if merchant is not None else None
        if not ids.is_id(endpoint_id, "we"):
            return None
        return self.repo.row(merchant_id, endpoint_id)

    def targets(self, merchant: MerchantModel, event: EventModel) -> list[Endpoint]:
        """The endpoints an event goes to: every endpoint subscribing to it, enabled or not
        (a disabled one gets a failed log, nothing sent), or only the endpoint it names."""
        endpoints = self.all(merchant)
        if event.endpoint_id:
            return [e for e in endpoints if e.id == event.endpoint_id]
        return [e for e in endpoints if e.wants(event.event)]


class WebhookEndpointService:
    """The endpoints API (CONTRACT §13)."""

    def __init__(
        self,
        directory: EndpointDirectory,
        repo: WebhookEndpointRepository,
        merchants: MerchantRepository,
        settings: Settings,
    ) -> None:
        self.directory = directory
        self.repo = repo
        self.merchants = merchants
        self.settings = settings

    # ------------------------------------------------------------------ changes to the set
    def _change(self, merchant_id: str, apply):
        """Run `apply(merchant, rows)` on a fresh read of the merchant and its endpoints; it
        writes conditioned on what it read (the set's version, the endpoint's existence), and
        is run again, after a jittered pause, when another change got there first. The cached
        merchant is refreshed afterwards, so events raised next see the change."""
        for attempt in range(LOCK_ATTEMPTS):
            merchant = self.merchants.get(merchant_id)
            if merchant is None:
                raise NotFound(NOT_FOUND)
            rows = self.repo.rows(merchant_id) if merchant.webhook_endpoint_count else []
            try:
                result = apply(merchant, rows)
            except (ConditionFailed, TransactionConflict):
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
                continue
            self.merchants.get(merchant_id)  # refresh this process's cached copy
            return result
        raise Conflict("Webhook endpoints changed meanwhile; try again")

    @staticmethod
    def _own(merchant: MerchantModel, rows: list[Endpoint], endpoint_id: str) -> Endpoint:
        for endpoint in [default_endpoint(merchant), *rows]:
            if endpoint is not None and endpoint.id == endpoint_id:
                return endpoint
        raise NotFound(NOT_FOUND)

    def _url(self, raw: str, field: str = "url") -> str:
        return check_url(raw, self.settings.webhook_allow_private_targets, field=field)

    # ------------------------------------------------------------------ reads
    def list(self, merchant: MerchantModel) -> dict:
        """Every endpoint of the merchant (at most 16: one page), the default one first."""
        merchant = self.merchants.get(merchant.id) or merchant
        endpoints = self.directory.all(merchant)
        return {"data": [endpoint_view(e) for e in endpoints], "total": len(endpoints)}

    def get(self, merchant: MerchantModel, endpoint_id: str) -> dict:
        endpoint = self.directory.find(merchant.id, endpoint_id) if endpoint_id else None
        if endpoint is None:
            raise NotFound(NOT_FOUND)
        return endpoint_view(endpoint)

    # ------------------------------------------------------------------ changes
    def create(self, merchant: MerchantModel, body: object) -> dict:
        """A new endpoint with its own `whsec_` secret (shown in this answer only); 400 when the
        merchant has MAX_ENDPOINTS already (the default one counts), under any concurrency."""
        fields = rules.parse_create(body)
        now = clock.iso()
        endpoint = Endpoint(
            id=ids.new_id("we"),
            merchant_id=merchant.id,
            url=self._url(fields["url"]),
            enabled_events=fields["enabled_events"],
            description=fields["description"],
            secrets=SigningSecrets(security.new_webhook_secret()),
            created_at=now,
            updated_at=now,
        )
        for attempt in range(LOCK_ATTEMPTS):
            try:
                self.repo.create(endpoint, MAX_ENDPOINTS)
                break
            except ConditionFailed as exc:
                raise BadRequest(LIMIT_REACHED) from exc
            except TransactionConflict:  # another write held the merchant item: try again
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
        else:
            raise Conflict("Webhook endpoints changed meanwhile; try again")
        self.merchants.get(merchant.id)  # refresh this process's cached copy
        return endpoint_view(endpoint, secret=True)

    def update(self, merchant: MerchantModel, endpoint_id: str, body: object) -> dict:
        """Change url, enabled_events, description or status. Enabling a disabled endpoint
        answers with `replay`: the bulk replay that sends what it missed."""
        changes = rules.parse_update(body)
        if "url" in changes:
            changes["url"] = self._url(changes["url"])
        now = iso_at(time.time())

        def apply(current: MerchantModel, rows: list[Endpoint]) -> dict | None:
            endpoint = self._own(current, rows, endpoint_id)
            fields = {k: v for k, v in changes.items() if k != "status"}
            replay = None
            wanted = changes.get("status", endpoint.status)
            if wanted == "enabled" and not endpoint.enabled:
                fields.update(
                    status="enabled",
                    failing_since=None,
                    missed_since=None,
                    disabled_at=None,
                    disabled_reason=None,
                )
                replay = self._replay_hint(endpoint, now)
            elif wanted == "disabled" and endpoint.enabled:
                fields.update(
                    status="disabled",
                    disabled_at=now,
                    disabled_reason=rules.DISABLED_BY_MERCHANT,
                    failing_since=None,
                )
            fields["updated_at"] = now
            if "enabled_events" not in changes:
                self.repo.update(endpoint, fields)
                return replay
            fields["enabled_events"] = list(changes["enabled_events"])
            after = [
                replace(r, enabled_events=changes["enabled_events"]) if r.id == endpoint.id else r
                for r in rows
            ]
            self.repo.update(
                endpoint,
                fields,
                current.webhook_endpoints_version,
                rules.union_of_events(after),
            )
            return replay

        replay = self._change(merchant.id, apply)
        view = self.get(merchant, endpoint_id)
        if replay is not None:
            view["replay"] = replay
        return view

    @staticmethod
    def _replay_hint(endpoint: Endpoint, now: str) -> dict:
        """The replay that sends what a disabled endpoint missed: its failed deliveries since
        the oldest one it missed (created before the streak's first failed attempt, or before
        it was disabled), the streak's start and when it was disabled."""
        known = [endpoint.missed_since, iso_at(endpoint.failing_since), endpoint.disabled_at]
        since = min((t for t in known if t), default=now)
        return {
            "method": "POST",
            "path": "/api/v1/webhooks/replay",
            "body": {
                "status": "failed",
                "endpoint_id": endpoint.id,
                "created_gte": min(since, now),
                "created_lt": now,
            },
        }

    def delete(self, merchant: MerchantModel, endpoint_id: str) -> dict:
        """Remove an endpoint (the default one: clear the webhook URL). Its pending deliveries
        end as failed at their next attempt, and nothing more is sent to it."""

        def apply(current: MerchantModel, rows: list[Endpoint]) -> None:
            endpoint = self._own(current, rows, endpoint_id)
            if endpoint.is_default:
                self.repo.set_default_url(current, None, clock.iso(), MAX_ENDPOINTS)
                return
            remaining = [r for r in rows if r.id != endpoint.id]
            self.repo.delete(
                endpoint, current.webhook_endpoints_version, rules.union_of_events(remaining)
            )

        self._change(merchant.id, apply)
        return {"id": endpoint_id, "deleted": True}

    def set_default_url(self, merchant: MerchantModel, url: str | None) -> MerchantModel:
        """The legacy `PUT webhooks/config`: give the merchant a default endpoint at `url`
        (checked by the URL policy), change it, or remove it (None). A new default endpoint
        needs room within MAX_ENDPOINTS, as a new endpoint does."""
        url = self._url(url, "webhook_url") if url is not None else None
        current = self.merchants.get(merchant.id) or merchant
        try:
            self.repo.set_default_url(current, url, clock.iso(), MAX_ENDPOINTS)
        except ConditionFailed as exc:
            raise BadRequest(LIMIT_REACHED) from exc
        return self.merchants.get(merchant.id) or current

    # ------------------------------------------------------------------ secrets
    def roll_secret(self, merchant: MerchantModel, endpoint_id: str, body: object) -> dict:
        """A new secret for the endpoint; the one it replaces keeps signing for
        `expire_previous_in` seconds (default 24 h), older ones until their own expiry, exactly
        as the legacy regenerate (see `SigningSecrets.rolled`: 0 revokes them all, and a roll
        past MAX_SIGNING_SECRETS is refused)."""
        if isinstance(body, dict):
            rules.refuse_unknown_fields(body, rules.ROLL_FIELDS)
        overlap = rules.overlap_seconds(body)
        endpoint = self.directory.find(merchant.id, endpoint_id) if endpoint_id else None
        if endpoint is None:
            raise NotFound(NOT_FOUND)
        if endpoint.is_default:
            self.roll_default(merchant, overlap)
        else:
            for _ in range(3):
                rolled = endpoint.secrets.rolled(
                    security.new_webhook_secret(), overlap, time.time()
                )
                if self.repo.replace_secrets(endpoint, rolled, clock.iso()):
                    break
                endpoint = self.directory.find(merchant.id, endpoint_id)
                if endpoint is None:
                    raise NotFound(NOT_FOUND)
            else:
                raise Conflict("The endpoint's secret changed while rolling it; try again")
        return endpoint_view(self.directory.find(merchant.id, endpoint_id), secret=True)

    def roll_default(self, merchant: MerchantModel, overlap: int) -> tuple[str, float]:
        """Roll the merchant's own webhook secret (the default endpoint's, with or without a
        URL), with the rules of `SigningSecrets.rolled`; returns the new secret and when the
        one it replaced stops signing."""
        for _ in range(3):
            merchant = self.merchants.get(merchant.id) or merchant
            now = time.time()
            rolled = merchant_secrets(merchant).rolled(security.new_webhook_secret(), overlap, now)
            if self.merchants.replace_webhook_secrets(merchant, rolled):
                return rolled.current, now + overlap
        raise Conflict("The webhook secret changed while regenerating it; try again")


class EndpointHealth:
    """Any success ends an endpoint's failing streak; a streak that lasts
    `webhook_endpoint_disable_after_seconds` disables the endpoint."""

    def __init__(self, repo: WebhookEndpointRepository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    def observe(self, endpoint: Endpoint, ok: bool, now: float, created_at: str) -> str | None:
        """Record one attempt's outcome, of a delivery created at `created_at`; returns what
        changed (None, most of the time: only the first failure after a success, the first
        success after failures, and a failure of a delivery older than the streak's oldest
        write)."""
        if ok:
            if endpoint.failing_since is not None and self.repo.end_failing(endpoint):
                return "recovered"
            return None
        if endpoint.failing_since is None:
            if self.repo.start_failing(endpoint, now, created_at):
                return "failing"
            self.missed(endpoint, created_at)  # another worker began the streak meanwhile
            return None
        self.missed(endpoint, created_at)
        limit = self.settings.webhook_endpoint_disable_after_seconds
        if not endpoint.enabled or now - endpoint.failing_since < limit:
            return None
        at = iso_at(now)
        disabled = replace(
            endpoint,
            status="disabled",
            disabled_at=at,
            disabled_reason=rules.DISABLED_FAILING,
        )
        notice = new_event(
            endpoint.merchant_id,
            "webhook_endpoint.disabled",
            {"webhook_endpoint": endpoint_view(disabled, now=now)},
            dispatch=False,
        )
        if not self.repo.disable_failing(endpoint, endpoint.failing_since, at, notice):
            return None
        logger.warning(
            "webhook endpoint disabled: every delivery failed",
            extra={
                "merchant_id": endpoint.merchant_id,
                "endpoint_id": endpoint.id,
                "failing_since": iso_at(endpoint.failing_since),
            },
        )
        return "disabled"

    def missed(self, endpoint: Endpoint, created_at: str) -> None:
        """A delivery created at `created_at` was missed: the replay offered on re-enable must
        include it (a write only when it is older than the oldest one known)."""
        if endpoint.missed_since is None or created_at < endpoint.missed_since:
            self.repo.note_missed(endpoint, created_at)
