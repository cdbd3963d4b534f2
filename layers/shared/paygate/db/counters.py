"""Counters kept on write: per-merchant stats (sharded), worker job counts and heartbeats."""

from __future__ import annotations

import random

from paygate.db.errors import storage_errors
from paygate.db.models import CounterModel

# Every payment of a merchant touches its stats; shards keep one hot item from serialising
# concurrent transactions.
STATS_SHARDS = 10


def stats_shard(merchant_id: str) -> CounterModel:
    """A random stats shard of the merchant, to add to inside a transaction."""
    return CounterModel(pk=f"stats#{merchant_id}#{random.randrange(STATS_SHARDS)}")


def currency_shard(merchant_id: str, currency: str) -> CounterModel:
    """A random stats shard of one currency of the merchant (amounts never mix currencies)."""
    return CounterModel(pk=f"stats#{merchant_id}#{currency}#{random.randrange(STATS_SHARDS)}")


def payment_created_counts(merchant_id: str, currency: str) -> list[tuple[CounterModel, list]]:
    """The counter updates that go with a new payment, for its creation transaction."""
    return [
        (
            stats_shard(merchant_id),
            [CounterModel.payments_total.add(1), CounterModel.currencies.add({currency})],
        ),
        (currency_shard(merchant_id, currency), [CounterModel.payments_total.add(1)]),
    ]


def payment_succeeded_counts(
    merchant_id: str, currency: str, amount: int
) -> list[tuple[CounterModel, list]]:
    """The counter updates that go with a successful settle, for its transaction."""
    return [
        (stats_shard(merchant_id), [CounterModel.payments_success.add(1)]),
        (
            currency_shard(merchant_id, currency),
            [CounterModel.payments_success.add(1), CounterModel.amount_success.add(amount)],
        ),
    ]


class CounterRepository:
    def merchant_stats(self, merchant_id: str) -> dict[str, int]:
        """Sum of the merchant's stats shards (one BatchGetItem)."""
        keys = [f"stats#{merchant_id}#{shard}" for shard in range(STATS_SHARDS)]
        totals = {
            "payments_total": 0,
            "payments_success": 0,
            "amount_success": 0,
            "webhook_logs": 0,
        }
        with storage_errors():
            for item in CounterModel.batch_get(keys):
                for name in totals:
                    totals[name] += int(getattr(item, name) or 0)
        return totals

    def merchant_stats_by_currency(self, merchant_id: str) -> dict[str, dict[str, int]]:
        """Currency -> {payments_total, payments_success, amount_success} of the merchant."""
        currencies: set[str] = set()
        with storage_errors():
            keys = [f"stats#{merchant_id}#{shard}" for shard in range(STATS_SHARDS)]
            for item in CounterModel.batch_get(keys):
                currencies |= set(item.currencies or ())
            totals = {
                c: {"payments_total": 0, "payments_success": 0, "amount_success": 0}
                for c in sorted(currencies)
            }
            keys = [
                f"stats#{merchant_id}#{c}#{shard}" for c in totals for shard in range(STATS_SHARDS)
            ]
            for item in CounterModel.batch_get(keys) if keys else ():
                currency = item.pk.split("#")[2]
                for name in totals[currency]:
                    totals[currency][name] += int(getattr(item, name) or 0)
        return totals

    def add_job_results(self, kind: str, completed: int, failed: int) -> None:
        """Add a batch's outcome to the worker counters of `kind` (payment, refund, webhook)."""
        if not completed and not failed:
            return
        with storage_errors():
            CounterModel(pk=f"jobs#{kind}").update(
                actions=[CounterModel.completed.add(completed), CounterModel.failed.add(failed)]
            )

    def job_totals(self, kinds: tuple[str, ...]) -> tuple[int, int]:
        """(completed, failed) summed over the worker kinds."""
        completed = failed = 0
        with storage_errors():
            for item in CounterModel.batch_get([f"jobs#{kind}" for kind in kinds]):
                completed += int(item.completed or 0)
                failed += int(item.failed or 0)
        return completed, failed

    def beat(self, worker: str, at: int) -> None:
        """Record that the pollers of `worker` are alive at unix time `at`."""
        with storage_errors():
            CounterModel(pk=f"worker#{worker}").update(actions=[CounterModel.heartbeat_at.set(at)])

    def heartbeats(self, workers: tuple[str, ...]) -> dict[str, int]:
        """Last heartbeat of each worker that has one."""
        with storage_errors():
            items = CounterModel.batch_get([f"worker#{name}" for name in workers])
            return {item.pk.split("#", 1)[1]: int(item.heartbeat_at or 0) for item in items}
