"""One merchant's bad endpoint never holds back another merchant's webhooks (issue 12's goal).

15 test events go to an endpoint that trickles its answer one byte a second, 15 to one that
answers 200 MB; right after, a third merchant's payments settle. Its `payment.success`
webhooks must arrive within 2 s of settlement; every bad event must be taken up within 2 s of
being queued too (bad endpoints do not queue behind each other either), and each bad attempt
must be recorded as failed within 6 s of its start (the 5 s deadline plus bookkeeping).
`python -m bench.webhooks` runs the same scenario and prints the figures.
"""

from __future__ import annotations

from tests.support.isolation import run_isolation

BAD_EVENTS_EACH = 15


def test_bad_endpoints_do_not_hold_back_another_merchants_webhooks(stack):
    run = run_isolation(stack.api, bad_events_each=BAD_EVENTS_EACH, payments=3)
    print(f"healthy merchant's lag after settlement: {run.lags}")
    assert run.missing == []
    assert all(lag <= 2.0 for lag in run.lags.values()), run.lags

    assert len(run.bad_logs) == run.queued == 2 * BAD_EVENTS_EACH
    for log in run.bad_logs.values():
        assert log["status"] in ("pending", "failed"), log
        assert log["response_code"] in (None, 500), log
    trickled = [log for log in run.bad_logs.values() if log["response_code"] is None]
    assert len(trickled) == BAD_EVENTS_EACH
    assert all(log["response_body"].startswith("Timeout") for log in trickled)
    print(f"bad events taken up after queueing: {sorted(run.started_after.values())}")
    print(f"bad attempts recorded after their start: {sorted(run.attempt_took.values())}")
    assert run.attempt_took, "no first attempt to measure"
    assert all(s <= 2.0 for s in run.started_after.values()), run.started_after
    assert all(s <= 6.0 for s in run.attempt_took.values()), run.attempt_took
    # 15 answers of 200 MB each: only what socket buffers hold was ever sent
    assert run.huge_bytes_sent < BAD_EVENTS_EACH * 16 * 1024 * 1024, run.huge_bytes_sent
