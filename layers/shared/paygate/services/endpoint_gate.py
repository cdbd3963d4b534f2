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

An attempt that finds no place is deferred by the delivery engine: not counted, not
dead-lettered (see `WebhookDelivery`), for a wait that depends on why (`Deferral.backoff`).
After an open circuit: its cool-down. At a full gate: a back-off doubling at each deferral,
whose first step is **how long the gate's oldest place has been held** (read from the leases
the refusal reads anyway), between MIN_BACKOFF_BASE_SECONDS and MAX_BACKOFF_BASE_SECONDS. A
fast receiver in a burst (ten payments of a merchant settling at once: forty deliveries) fills
its gate with places taken a moment ago, which turn over within a fraction of a second: its
deferred attempts wait 0.1-0.2 s (waited by the worker itself, a queue delay being whole
seconds), not 1-2 s then 2-4 s. Places held for a second or more (a slow or silent endpoint,
red-team a08) keep the full back-off (1-2 s, 2-4 s, ... up to a minute) on the queue, as does a
probe in flight, so a flood churns the queue no more than before. A process trusts what it
learnt of a full gate for FULL_MEMO_SECONDS at most, and never longer than that first step.

Places are leases that expire (LEASE_SECONDS, past the attempt's deadline and the function's
timeout), so a worker that dies mid-POST frees its places by itself. The state is one item per
gate in the counters table, changed by conditional writes only, and expires (TTL) once the gate
is quiet.
"""

from __future__ import annotations

import random
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
# The first back-off at a full gate is the age of its oldest place, within these bounds; the
# upper one is the back-off every full gate had before (1-2 s, then doubling).
MIN_BACKOFF_BASE_SECONDS = 0.1
MAX_BACKOFF_BASE_SECONDS = 1.0
MAX_DEFERRAL_BACKOFF_SECONDS = 60
_NEVER = 2**31  # a streak of timeouts no gate of a merchant reaches: it has no circuit


@dataclass(frozen=True)
class Deferral:
    """Why an attempt must wait: an open circuit (`wait`: until its cool-down ends, seconds) or
    a full gate (`wait` 0; `held`: how long its oldest place has been held, None for a probe in
    flight)."""

    reason: str
    wait: float = 0.0
    held: float | None = None

    @property
    def base(self) -> float:
        """A full gate's first back-off: the age of its oldest place, within bounds. Places
        taken a moment ago turn over soon; places held long (or a probe) do not."""
        if self.held is None:
            return MAX_BACKOFF_BASE_SECONDS
        return min(MAX_BACKOFF_BASE_SECONDS, max(MIN_BACKOFF_BASE_SECONDS, self.held))

    def backoff(
        self, count: int, uniform: Callable[[float, float], float] = random.uniform
    ) -> float:
        """How long to wait (seconds) after `count` earlier deferrals of the attempt."""
        if self.wait:  # an open circuit: after its cool-down, spread over a few seconds
            return self.wait + uniform(1.0, 5.0)
        return min(MAX_DEFERRAL_BACKOFF_SECONDS, self.base * 2**count) * uniform(1.0, 2.0)


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
                if deferral.wait:  # the circuit's cool-down, less the time since
                    deferral = Deferral(deferral.reason, max(0.001, until - now))
                return Admission(key, deferral=deferral)
            self._refused.pop(key, None)
        admission = self._enter(key, cap, probe_after)
        deferral = admission.deferral
        if deferral is not None:
            trusted = deferral.wait or min(FULL_MEMO_SECONDS, deferral.base)
            self._refused[key] = (self.now() + trusted, deferral)
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
        if timeouts >= probe_after:
            return Admission(key, deferral=Deferral("probe in flight"))
        live = [_expiry(lease) for lease in (state.leases if state is not None else None) or ()]
        live = [expiry for expiry in live if expiry > now]
        held = now - (min(live) - LEASE_SECONDS) if live else 0.0
        return Admission(key, deferral=Deferral(f"{cap} attempts in flight", held=held))

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
