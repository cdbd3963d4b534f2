"""`paygate trigger`: which objects each event needs, made with the test instruments."""

from __future__ import annotations

import pytest
import requests
from paygate_cli import main as cli
from paygate_cli import trigger as triggers
from paygate_cli.api import PaygateApi
from paygate_cli.trigger import SCENARIOS, TriggerFailed, trigger

from tests.unit.cli_fakes import Answer


class FakeBank(requests.Session):
    """Orders, payments (settled by instrument on the second read) and refunds."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, dict | None, dict]] = []
        self.reads: dict[str, int] = {}
        self.payments: dict[str, dict] = {}

    def request(
        self, method, url, timeout=None, json=None, headers=None, params=None, allow_redirects=True
    ):
        assert allow_redirects is False  # the key and secret never follow a redirect
        path = url.split("://", 1)[1].split("/", 1)[1]
        self.calls.append((method, "/" + path, json, headers or {}))
        if (method, path) == ("POST", "api/v1/orders"):
            return Answer(201, {"id": "order_1", "amount": json["amount"]})
        if (method, path) == ("POST", "api/v1/payments"):
            fails = json.get("vpa", "").startswith("failure@") or (
                json.get("card", {}).get("number") == "4000000000000002"
            )
            self.payments["pay_1"] = {
                "id": "pay_1",
                "amount": 50000,
                "status": "pending",
                "outcome": "failed" if fails else "success",
            }
            return Answer(201, dict(self.payments["pay_1"]))
        if (method, path) == ("GET", "api/v1/payments/pay_1"):
            payment = self.payments["pay_1"]
            self.reads["pay_1"] = self.reads.get("pay_1", 0) + 1
            if self.reads["pay_1"] >= 2:
                payment["status"] = payment["outcome"]
            return Answer(200, dict(payment))
        if (method, path) == ("POST", "api/v1/payments/pay_1/refunds"):
            return Answer(201, {"id": "rfnd_1", "status": "pending"})
        if (method, path) == ("GET", "api/v1/refunds/rfnd_1"):
            return Answer(200, {"id": "rfnd_1", "status": "processed"})
        if (method, path) == ("POST", "api/v1/webhooks/test"):
            return Answer(400, {"error": {"code": "BAD_REQUEST_ERROR", "description": "no URL"}})
        raise AssertionError(f"unexpected {method} {path}")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(triggers.time, "sleep", lambda s: None)


def run(event: str, bank: FakeBank | None = None) -> tuple[FakeBank, dict]:
    bank = bank or FakeBank()
    made = trigger(PaygateApi("http://api.test", "k", "s", session=bank), event, out=lambda _: 0)
    return bank, made


def test_payment_success_pays_an_order_with_the_succeeding_vpa():
    bank, made = run("payment.success")
    assert made == {"order": "order_1", "payment": "pay_1"}
    create = next(c for c in bank.calls if c[:2] == ("POST", "/api/v1/payments"))
    assert create[2] == {"order_id": "order_1", "method": "upi", "vpa": "success@paygate"}
    assert create[3]["Idempotency-Key"].startswith("paygate-trigger-")
    assert bank.payments["pay_1"]["status"] == "success"


def test_payment_failed_uses_the_failing_card():
    bank, _ = run("payment.failed")
    create = next(c for c in bank.calls if c[:2] == ("POST", "/api/v1/payments"))
    assert create[2]["method"] == "card" and create[2]["card"]["number"] == "4000000000000002"
    assert bank.payments["pay_1"]["status"] == "failed"


def test_payment_created_does_not_wait_for_the_bank():
    bank, made = run("payment.created")
    assert made == {"order": "order_1", "payment": "pay_1"}
    assert ("GET", "/api/v1/payments/pay_1") not in [c[:2] for c in bank.calls]


@pytest.mark.parametrize("event", ["refund.created", "refund.processed"])
def test_refunds_follow_a_settled_payment(event):
    bank, made = run(event)
    assert made["refund"] == "rfnd_1"
    refund = next(c for c in bank.calls if c[:2] == ("POST", "/api/v1/payments/pay_1/refunds"))
    assert refund[2]["amount"] == 50000
    waited = ("GET", "/api/v1/refunds/rfnd_1") in [c[:2] for c in bank.calls]
    assert waited == (event == "refund.processed")


def test_a_payment_that_settles_the_wrong_way_fails_the_trigger():
    bank = FakeBank()
    original = bank.request

    def always_fails(method, url, **kwargs):
        answer = original(method, url, **kwargs)
        if "pay_1" in bank.payments:
            bank.payments["pay_1"]["outcome"] = "failed"
        return answer

    bank.request = always_fails
    with pytest.raises(TriggerFailed, match="not success"):
        run("payment.success", bank)


def test_every_scenario_is_an_event_name_of_the_api():
    from paygate.domain.events import EVENT_TYPES

    assert set(SCENARIOS) - set(EVENT_TYPES) <= {"order.paid"}  # raised once orders raise it
    assert set(EVENT_TYPES) <= set(SCENARIOS)


def test_the_command_reports_api_errors_and_exits_1(monkeypatch, capsys):
    monkeypatch.setattr(cli, "PaygateApi", lambda url, key, secret: _api_with(FakeBank()))
    assert cli.main(["trigger", "webhook.test"]) == 1
    assert "BAD_REQUEST_ERROR: no URL" in capsys.readouterr().err


def test_the_command_uses_env_then_defaults(monkeypatch):
    monkeypatch.setenv("PAYGATE_API_URL", "https://pay.example")
    monkeypatch.delenv("PAYGATE_API_KEY", raising=False)
    monkeypatch.delenv("PAYGATE_API_SECRET", raising=False)
    args = cli.build_parser().parse_args(["trigger", "payment.success"])
    assert (args.api_url, args.api_key, args.api_secret) == (
        "https://pay.example",
        "key_test_abc123",
        "secret_test_xyz789",
    )
    args = cli.build_parser().parse_args(["listen", "--forward-to", "x", "--api-key", "k"])
    assert args.api_key == "k"


def _api_with(session):
    return PaygateApi("http://api.test", "k", "s", session=session)
