"""The hosted checkout's fields take what people type, key by key, at desktop and on a 360 px
phone: for each field a table of what a person types (with Backspace and arrow keys), the value
the field then shows and where the caret is; then the last row is paid as it stands and the
person sees the success state. Paste and browser autofill too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import (
    PAYMENT_ID,
    SETTLE_TIMEOUT,
    SUCCESS_CARD,
    caret,
    clear,
    enter_card,
    tid,
    type_into,
)
from tests.browser.conftest import DESKTOP, MOBILE

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"viewport": DESKTOP},
    "phone-360": {
        "viewport": MOBILE,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


@dataclass(frozen=True)
class Row:
    keys: str  # what the person types; {Name} presses a key: {Backspace}, {ArrowLeft}, {Home}
    shown: str  # what the field then shows
    at: int | None = None  # where the caret then is; None: at the end


@dataclass(frozen=True)
class Field:
    test_id: str
    method: str
    rows: tuple[Row, ...]  # the last row is paid as it stands
    paid: dict  # what the payment request then carries for this field


LEFT = "{ArrowLeft}"
BACK = "{Backspace}"

FIELDS = {
    "card-number": Field(
        "card-number-input",
        "card",
        (
            Row("4242424242424242", "4242 4242 4242 4242"),
            Row("4242 4242 4242 4242", "4242 4242 4242 4242"),
            Row("4242-4242-4242-4242", "4242 4242 4242 4242"),
            Row("3782 8224 6310 005", "3782 822463 10005"),  # American Express: 4-6-5
            Row("4242abcd4242", "4242 4242"),  # letters never show
            Row("4242 4242" + LEFT * 4 + "9", "4242 9424 2", 6),  # typed in the middle
            Row("4242 4242" + LEFT * 4 + BACK, "4244 242", 3),  # Backspace just after a space
            Row("4242 4242 4242 4242", "4242 4242 4242 4242"),
        ),
        {"card": {"number": "4242424242424242"}},
    ),
    "expiry": Field(
        "expiry-input",
        "card",
        (
            Row("12/34", "12/34"),
            Row("12 / 34", "12/34"),
            Row("12/2034", "12/2034"),
            Row("734", "07/34"),  # a first digit 2-9 is a month
            Row("1/34", "01/34"),
            Row("1234" + BACK, "12/3"),
            Row("1234" + BACK * 2, "12/"),
            Row("1234" + BACK * 3, "12"),  # backspace over the slash
            Row("1234" + BACK * 4, "1"),
            Row("12" + BACK + "3", "12/3"),
            Row("1234" + LEFT * 2 + BACK, "1/34", 1),  # Backspace just after the slash
            Row("1234" + LEFT * 2 + BACK + "1", "11/34", 3),
            Row("1234", "12/34"),  # the case: it used to show "12/4"
        ),
        {"card": {"expiry_month": "12", "expiry_year": "34"}},
    ),
    "cvv": Field(
        "cvv-input",
        "card",
        (
            Row("123", "123"),
            Row("1234", "1234"),
            Row("12345", "1234"),
            Row("1 2a3", "123"),
            Row("321", "321"),
        ),
        {"card": {"cvv": "321"}},
    ),
    "name": Field(
        "cardholder-name-input",
        "card",
        (
            Row("Asha Verma", "Asha Verma"),
            Row("Zoë Núñez-O'Brien", "Zoë Núñez-O'Brien"),
            Row("Asha Verm{ArrowLeft}{ArrowLeft}x", "Asha Vexrm", 8),
            Row("  Asha Verma ", "  Asha Verma "),
        ),
        {"card": {"holder_name": "Asha Verma"}},
    ),
    "vpa": Field(
        "vpa-input",
        "upi",
        (
            Row("success@okbank", "success@okbank"),
            Row(" success @ okbank ", "success@okbank"),
            Row("success@okbank{Home}{ArrowRight}{ArrowRight} ", "success@okbank", 2),
            Row("success@okbank ", "success@okbank"),
        ),
        {"vpa": "success@okbank"},
    ),
}


def open_checkout(new_page, stack, viewport: str, amount: int = 50000):
    options = dict(VIEWPORTS[viewport])
    page = new_page(options.pop("viewport"), **options)
    order = stack.create_order(amount)
    page.goto(f"{stack.checkout}/checkout?order_id={order['id']}")
    expect(page.locator(tid("order-id"))).to_have_text(order["id"])
    return page


def pay_and_see_success(page) -> dict:
    """Press Pay as a person does; return the request body once the success state shows."""
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/payments/public")
    ) as sent:
        page.locator(tid("pay-button")).click()  # one form, so one Pay button, at a time
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
    expect(page.locator(tid("payment-id"))).to_have_text(PAYMENT_ID)
    return sent.value.post_data_json


def contains(body: dict, expected: dict) -> bool:
    return all(
        contains(body.get(k, {}), v) if isinstance(v, dict) else body.get(k) == v
        for k, v in expected.items()
    )


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(FIELDS))
def test_field_takes_what_people_type(new_page, stack, viewport, name):
    spec = FIELDS[name]
    page = open_checkout(new_page, stack, viewport)
    if spec.method == "card":
        enter_card(page, SUCCESS_CARD)  # the other fields, valid; this one is retyped below
    field = page.locator(tid(spec.test_id))
    for row in spec.rows:
        type_into(field, row.keys)
        expect(field, f"typing {row.keys!r}").to_have_value(row.shown)
        at = len(row.shown) if row.at is None else row.at
        assert caret(field) == (at, at), f"typing {row.keys!r}: caret at {caret(field)}"

    body = pay_and_see_success(page)
    assert contains(body, spec.paid), body


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_pasted_values_are_cleaned_up_and_paid(new_page, stack, viewport):
    page = open_checkout(new_page, stack, viewport)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.checkout)

    def paste(test_id: str, text: str, shown: str) -> None:
        field = page.locator(tid(test_id))
        page.evaluate("text => navigator.clipboard.writeText(text)", text)
        clear(field)
        field.press("ControlOrMeta+v")
        expect(field, f"pasting {text!r}").to_have_value(shown)
        assert caret(field) == (len(shown), len(shown))

    paste("vpa-input", "  success@okbank \n", "success@okbank")
    page.locator(tid("method-card")).click()
    paste("card-number-input", "4242-4242-4242-4242", "4242 4242 4242 4242")
    paste("expiry-input", "12 / 2034", "12/2034")
    paste("cvv-input", " 123 ", "123")
    paste("cardholder-name-input", "Asha Verma", "Asha Verma")

    card = pay_and_see_success(page)["card"]
    assert card["number"] == "4242424242424242"
    assert (card["expiry_month"], card["expiry_year"], card["cvv"]) == ("12", "2034", "123")


AUTOFILL = """values => {
    // What Chromium's autofill does to each field it fills: set the value, then fire input
    // and change (no key events, no caret).
    for (const [testId, value] of Object.entries(values)) {
        const input = document.querySelector(`[data-test-id="${testId}"]`);
        input.value = value;
        input.dispatchEvent(new Event('input', {bubbles: true}));
        input.dispatchEvent(new Event('change', {bubbles: true}));
    }
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_autofill_of_month_and_year_fields_fills_the_expiry(new_page, stack, viewport):
    page = open_checkout(new_page, stack, viewport)
    page.locator(tid("method-card")).click()
    for test_id, autocomplete in (
        ("expiry-month-autofill", "cc-exp-month"),
        ("expiry-year-autofill", "cc-exp-year"),
    ):
        hidden = page.locator(tid(test_id))
        assert hidden.get_attribute("autocomplete") == autocomplete
        assert hidden.get_attribute("tabindex") == "-1"
        # Out of sight and out of reach: clipped away, so nothing at its place is the input.
        hit = hidden.evaluate("""el => { const r = el.getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el; }""")
        assert not hit, f"{test_id} can be seen and tapped"
    page.evaluate(
        AUTOFILL,
        {
            "card-number-input": "4242424242424242",
            "expiry-month-autofill": "12",
            "expiry-year-autofill": "2034",
            "cardholder-name-input": "Asha Verma",
        },
    )
    expect(page.locator(tid("card-number-input"))).to_have_value("4242 4242 4242 4242")
    expect(page.locator(tid("expiry-input"))).to_have_value("12/2034")
    expect(page.locator("#card-network")).to_have_text("visa")
    type_into(page.locator(tid("cvv-input")), "123")  # autofill never fills a CVV

    card = pay_and_see_success(page)["card"]
    assert (card["number"], card["expiry_month"], card["expiry_year"]) == (
        "4242424242424242",
        "12",
        "2034",
    )


def test_autofill_of_the_expiry_field_in_every_usual_shape(new_page, stack):
    page = open_checkout(new_page, stack, "desktop")
    page.locator(tid("method-card")).click()
    expiry = page.locator(tid("expiry-input"))
    assert expiry.get_attribute("autocomplete") == "cc-exp"
    for filled, shown in (
        ("12/34", "12/34"),
        ("12 / 2034", "12/2034"),
        ("1234", "12/34"),
        ("1/2034", "01/2034"),
        ("12-34", "12/34"),
        ("07/31", "07/31"),
    ):
        page.evaluate(AUTOFILL, {"expiry-input": filled})
        expect(expiry, f"autofilled {filled!r}").to_have_value(shown)
    page.evaluate(AUTOFILL, {"card-number-input": "4242 4242 4242 4242"})
    type_into(page.locator(tid("cvv-input")), "123")
    type_into(page.locator(tid("cardholder-name-input")), "Asha Verma")

    card = pay_and_see_success(page)["card"]
    assert (card["expiry_month"], card["expiry_year"]) == ("07", "31")
