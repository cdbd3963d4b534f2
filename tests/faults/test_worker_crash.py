"""A worker process killed with SIGKILL mid-batch, then restarted: nothing lost, nothing doubled."""

from __future__ import annotations

import signal
import time

from tests.faults.checks import assert_consistent, create_payments, wait_until_settled


def test_sigkill_of_the_payment_worker_mid_batch(stack):
    runtime = stack.runtime
    worker = runtime.children["worker-PaymentWorkerFunction"]
    payments = create_payments(stack, 60)
    time.sleep(1.0)  # the 1 s bank delay ends: batches are being settled now
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()
    runtime.supervise_once()  # the runtime restarts what died, as Lambda would
    assert worker.running()
    # Messages of the killed batches come back after the queue's visibility timeout (60 s).
    wait_until_settled(stack, payments, timeout=90)
    assert_consistent(stack, payments)
