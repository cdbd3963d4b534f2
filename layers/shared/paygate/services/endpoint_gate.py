"""Fairness in webhook delivery (red-team a08, c02, c03): one merchant's slow endpoints never
take every worker, nor hold back another merchant's deliveries.

Each attempt takes two places before it POSTs and gives them back after:

- **its merchant's place at the server** (the URL's host and port): at most MAX_IN_FLIGHT
  attempts at once, with a **circuit breaker**: when the last BREAKER_TIMEOUTS attempts all ran
  into the deadline, further attempts wait BREAKER_OPEN_SECONDS (doubling while they keep timing
  out, up to BREAKER_MAX_OPEN_SECONDS); then one probe at a time goes out until an attempt does
  not time out, which closes the circuit. Fast failures (a 500, a refused connection) cost a
  worker nothing and do not count: endpoint health handles those. Keyed by merchant as well as
  server, so a merchant whose own path on a shared server is slow (webhook.site style) opens
  the circuit for itself only.
- **a place of its merchant**: at most MAX_MERCHANT_IN_FLIGHT attempts at once over all its
  endpoints and servers, so naming one slow server by many host names (wildcard DNS) gains
  nothing. A fast receiver never reaches either cap (10 places at 100 ms an answer is 100
  deliveries a second).

An attempt that finds no place is deferred by the delivery engine: re-queued with a delay, not
counted, not dead-lettered (see `WebhookDelivery`). Places are leases that expire
(LEASE_SECONDS, past the attempt's deadline and the function's timeout), so a worker that dies
mid-POST frees its places by itself. The state is one item per gate in the counters table,
changed by conditional writes only, and expires (TTL) once the gate is quiet.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from paygate.db.endpoint_gates import EndpointGateRepository, gate_key
from paygate.domain.webhook_endpoints import Endpoint
from paygate.errors import BadRequest
from paygate.webhook_urls import parse_target

logger = Logger(child=True)
MAX_IN_FLIGHT = 10
MAX_MERCHANT_IN_FLIGHT = 20
BREAKER_TIMEOUTS = 3
BREAKER_OPEN_SECONDS = 30
BREAKER_MAX_OPEN_SECONDS = 600
# The attempt's 5 s deadline plus bookkeeping, past the function's 10 s timeout: a place held
# by a worker that died is free again soon after.
LEASE_SECONDS = 15
# An attempt deferred for longer than this is recorded as a failed attempt, without a POST,
# and follows the schedule from there: deferrals never loop for ever.
MAX_DEFERRAL_SECONDS = 3600
KEEP_SECONDS = 3600  # the gate item outlives a quiet endpoint by this much (TTL)
# What this process learnt of a refusal is trusted this long (a full endpoint) or until the
# circuit's cool-down ends: deferring a flood then costs no DynamoDB call per message.
FULL_MEMO_SECONDS = 0.5
_NEVER = 2**31  # a streak of timeouts no gate of a merchant reaches: it has no circuit


@dataclass(frozen=True)
class Deferral:
    """Why an attempt must wait, and at least how long (seconds)."""

    reason: str
    wait: float


@dataclass(frozen=True)
class Admission:
    """The outcome of `EndpointGate.enter`: a place (`lease`) or a `deferral`."""

    key: str
    lease: str | None = None
    deferral: Deferral | None = None
    merchant_key: str | None = None
    merchant_lease: str | None = None


class EndpointGate:
    """Places in flight and the circuit breaker of each endpoint."""

    def __init__(
        self,
        repo: EndpointGateRepository,
        max_in_flight: int = MAX_IN_FLIGHT,
        now: Callable[[], float] = time.time,
        max_merchant_in_flight: int = MAX_MERCHANT_IN_FLIGHT,
    ) -> None:
        self.repo = repo
        self.max_in_flight = max_in_flight
        self.max_merchant_in_flight = max_merchant_in_flight
        self.now = now
        self._refused: dict[str, tuple[float, Deferral]] = {}  # key -> (until, why)

    def enter(self, endpoint: Endpoint) -> Admission:
        """Take the merchant's place at the endpoint's server and a place of the merchant, or
        say why not and for how long."""
        key, merchant_key = _key(endpoint), gate_key(f"merchant:{endpoint.merchant_id}")
        at_server = self._admit(key, self.max_in_flight, BREAKER_TIMEOUTS)
        if at_server.deferral is not None:
            return at_server
        # The merchant's gate never trips: timeouts are not counted there.
        of_merchant = self._admit(merchant_key, self.max_merchant_in_flight, _NEVER)
        if of_merchant.deferral is not None:
            self._drop(key, at_server.lease)
            return Admission(key, deferral=of_merchant.deferral)
        return Admission(
            key, lease=at_server.lease, merchant_key=merchant_key, merchant_lease=of_merchant.lease
        )

    def _admit(self, key: str, cap: int, probe_after: int) -> Admission:
        memo = self._refused.get(key)
        if memo is not None:
            until, deferral = memo
            now = self.now()
            if now < until:
                return Admission(key, deferral=Deferral(deferral.reason, max(0.0, until - now)))
            self._refused.pop(key, None)
        admission = self._enter(key, cap, probe_after)
        if admission.deferral is not None:
            wait = admission.deferral.wait
            self._refused[key] = (self.now() + (wait or FULL_MEMO_SECONDS), admission.deferral)
        return admission

    def _enter(self, key: str, cap: int, probe_after: int) -> Admission:
        for _ in range(2):  # a second try only after freeing places of dead workers
            now = self.now()
            lease = f"{now + LEASE_SECONDS:.3f}:{uuid.uuid4().hex}"
            if self.repo.take(key, lease, now, cap, probe_after, now + KEEP_SECONDS):
                return Admission(key, lease=lease)
            state = self.repo.state(key)
            if state is None:
                continue  # expired meanwhile (TTL): nothing holds the gate
            if state.open_until is not None and float(state.open_until) > now:
                wait = float(state.open_until) - now
                return Admission(key, deferral=Deferral("circuit open", wait))
            expired = {lease for lease in state.leases or () if _expiry(lease) <= now}
            if not expired:
                break
            self.repo.drop(key, expired)
        timeouts = int(state.timeouts or 0) if state is not None else 0
        reason = "probe in flight" if timeouts >= probe_after else f"{cap} attempts in flight"
        return Admission(key, deferral=Deferral(reason, 0.0))

    def _drop(self, key: str, lease: str | None) -> None:
        """Give a place back without an outcome (never raises: it would expire anyway)."""
        try:
            if lease is not None:
                self.repo.drop(key, {lease})
        except Exception:
            logger.exception("place not given back", extra={"gate": key})

    def leave(self, admission: Admission, timed_out: bool) -> None:
        """Give the place back with the attempt's outcome; never raises (a place not given
        back frees itself when its lease expires)."""
        if admission.merchant_key is not None:
            self._drop(admission.merchant_key, admission.merchant_lease)
        try:
            state = self.repo.give_back(admission.key, admission.lease, timed_out)
            if timed_out and int(state.timeouts or 0) >= BREAKER_TIMEOUTS:
                last = float(state.open_for or 0)
                open_for = min(BREAKER_MAX_OPEN_SECONDS, 2 * last if last else BREAKER_OPEN_SECONDS)
                now = self.now()
                if self.repo.trip(admission.key, now, open_for, now + open_for + KEEP_SECONDS):
                    logger.warning(
                        "webhook endpoint circuit opened: its attempts keep timing out",
                        extra={"gate": admission.key, "open_for": open_for},
                    )
        except Exception:
            logger.exception("endpoint place not given back", extra={"gate": admission.key})


def _key(endpoint: Endpoint) -> str:
    """The merchant's gate at the server its endpoint's URL names (host and port): a merchant's
    endpoints on one server share its places and its circuit; another merchant has its own."""
    try:
        target = parse_target(endpoint.url)
    except BadRequest:  # refused at send anyway; its own gate
        return gate_key(f"endpoint:{endpoint.merchant_id}:{endpoint.id}")
    return gate_key(f"{endpoint.merchant_id}@{target.host}:{target.port}")


def _expiry(lease: str) -> float:
    return float(lease.split(":", 1)[0])
