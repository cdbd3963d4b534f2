"""template.yaml parts of money safety: the reconciler on a schedule, its sparse indexes, the
workers' access to what their transactions touch, and the DLQs the jobs status measures."""

from __future__ import annotations

import pytest

from infra.local.scheduler import rate_seconds


def policies_text(resource: dict) -> str:
    return repr(resource["Properties"].get("Policies", []))


def test_reconciler_runs_on_a_schedule_the_local_scheduler_understands(sam):
    function = sam["Resources"]["ReconcilerFunction"]["Properties"]
    assert function["Handler"] == "handler.lambda_handler"
    assert function["CodeUri"] == "functions/reconciler/"
    [event] = function["Events"].values()
    assert event["Type"] == "Schedule"
    assert rate_seconds(event["Properties"]["Schedule"]) == 60


def test_reconciler_may_read_pending_records_and_send_their_jobs(sam):
    text = policies_text(sam["Resources"]["ReconcilerFunction"])
    for name in ("PaymentsTable", "RefundsTable", "PaymentQueue", "RefundQueue"):
        assert name in text, name


@pytest.mark.parametrize("table", ["PaymentsTable", "RefundsTable"])
def test_pending_records_have_a_sparse_index(sam, table):
    props = sam["Resources"][table]["Properties"]
    [index] = [i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] == "pending-index"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["pending_shard", "pending_due"]


def test_payment_worker_may_update_the_order_it_pays(sam):
    assert "OrdersTable" in policies_text(sam["Resources"]["PaymentWorkerFunction"])


def test_every_function_knows_the_dead_letter_queues_and_the_api_may_measure_them(sam):
    env = sam["Globals"]["Function"]["Environment"]["Variables"]
    for kind in ("PAYMENT", "REFUND", "WEBHOOK"):
        assert env[f"{kind}_DLQ_URL"] == {"Ref": f"{kind.title()}DLQ"}
    text = policies_text(sam["Resources"]["ApiFunction"])
    for dlq in ("PaymentDLQ", "RefundDLQ", "WebhookDLQ"):
        assert dlq in text, dlq
