"""Steps on the hosted checkout shared by the tests; `root` is a Page or a FrameLocator."""

from __future__ import annotations

import re

from playwright.sync_api import expect

PAYMENT_ID = re.compile(r"^pay_[A-Za-z0-9]{16}$")
SUCCESS_VPA = "success@okbank"
FAILURE_VPA = "failure@okbank"
SUCCESS_CARD = "4242 4242 4242 4242"
FAILURE_CARD = "4000 0000 0000 0002"
SETTLE_TIMEOUT = 15_000  # settle ~1 s + a 2 s poll, with room to spare


def tid(value: str) -> str:
    return f'[data-test-id="{value}"]'


def pay_upi(root, vpa: str) -> None:
    root.locator(tid("method-upi")).click()
    expect(root.locator(tid("upi-form"))).to_be_visible()
    root.locator(tid("vpa-input")).fill(vpa)
    root.locator(f"{tid('upi-form')} {tid('pay-button')}").click()


def fill_card(
    root, number: str, expiry: str = "12/34", cvv: str = "123", name: str = "Asha Verma"
) -> None:
    root.locator(tid("method-card")).click()
    expect(root.locator(tid("card-form"))).to_be_visible()
    root.locator(tid("card-number-input")).fill(number)
    root.locator(tid("expiry-input")).fill(expiry)
    root.locator(tid("cvv-input")).fill(cvv)
    root.locator(tid("cardholder-name-input")).fill(name)


def pay_card(root, number: str, **fields) -> None:
    fill_card(root, number, **fields)
    root.locator(f"{tid('card-form')} {tid('pay-button')}").click()
