"""Per-endpoint fairness state: places in flight and the circuit breaker, one item per endpoint
in the counters table, changed only by conditional writes (many workers share it)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.expressions.condition import size

from paygate.db.errors import ConditionFailed, storage_errors
from paygate.db.models import EndpointGateModel as Gate


def gate_key(server: str) -> str:
    return f"gate#{server}"


def _expiry(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class EndpointGateRepository:
    def take(
        self,
        key: str,
        lease: str,
        now: float,
        max_in_flight: int,
        probe_after_timeouts: int,
        keep_until: float,
    ) -> bool:
        """Take a place for `lease` if the circuit is not open and fewer than `max_in_flight`
        places are taken; once the endpoint's streak reaches `probe_after_timeouts`, only one
        place (the probe). False when refused."""
        closed = Gate.open_until.does_not_exist() | (Gate.open_until <= now)
        room = Gate.leases.does_not_exist() | (size(Gate.leases) < max_in_flight)
        probe = (
            Gate.timeouts.does_not_exist()
            | (Gate.timeouts < probe_after_timeouts)
            | Gate.leases.does_not_exist()
        )
        try:
            with storage_errors():
                Gate(pk=key).update(
                    actions=[Gate.leases.add({lease}), Gate.expires_at.set(_expiry(keep_until))],
                    condition=closed & room & probe,
                )
        except ConditionFailed:
            return False
        return True

    def state(self, key: str) -> Gate | None:
        with storage_errors():
            try:
                return Gate.get(key, consistent_read=True)
            except Gate.DoesNotExist:
                return None

    def drop(self, key: str, leases: set[str]) -> None:
        """Give back places whose holders died (their leases expired)."""
        with storage_errors():
            Gate(pk=key).update(actions=[Gate.leases.delete(leases)])

    def give_back(self, key: str, lease: str, timed_out: bool) -> Gate:
        """Free the place of `lease` with the attempt's outcome: a timeout lengthens the
        streak, anything else ends it (and the breaker's back-off). Returns the item after."""
        if timed_out:
            outcome = [Gate.timeouts.add(1)]
        else:
            outcome = [Gate.timeouts.remove(), Gate.open_for.remove()]
        item = Gate(pk=key)
        with storage_errors():
            item.update(actions=[Gate.leases.delete({lease}), *outcome])
        return item

    def trip(self, key: str, now: float, open_for: float, keep_until: float) -> bool:
        """Open the circuit for `open_for` seconds, unless it is open already."""
        try:
            with storage_errors():
                Gate(pk=key).update(
                    actions=[
                        Gate.open_until.set(now + open_for),
                        Gate.open_for.set(open_for),
                        Gate.expires_at.set(_expiry(keep_until)),
                    ],
                    condition=Gate.open_until.does_not_exist() | (Gate.open_until <= now),
                )
        except ConditionFailed:
            return False
        return True
