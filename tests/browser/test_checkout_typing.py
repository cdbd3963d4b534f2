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
RIGHT = "{ArrowRight}"
BACK = "{Backspace}"
HOME = "{Home}"
SELECT_RIGHT = "{Shift+ArrowRight}"
FULL_CARD = "4242 4242 4242 4242 424"  # 19 digits: the most a card number has

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
            # A digit that does not fit is refused; none already there is pushed out.
            Row(FULL_CARD + HOME + RIGHT * 2 + "9", FULL_CARD, 2),
            Row("5555555555554444" + HOME + SELECT_RIGHT * 2 + "37", "3755 555555 55444 4", 2),
            Row("378282246310005" + HOME + RIGHT * 5 + "1", "3782 182246 31000 5", 6),
            Row("37828224631000512345", "3782 822463 10005 1234"),  # Amex grouping: 19 too
            Row("４２４２４２４２４２４２４２４２", "4242 4242 4242 4242"),  # full-width (IME)
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
            Row("13/34", "13/34"),  # no month, shown as typed for Pay to refuse (not "01/33")
            Row("00/34", "00/34"),  # (not "03/4")
            Row("12/345", "12/34"),  # a year has two digits...
            Row("12/203", "12/203"),  # ...or four when it starts with 20
            Row("1234" + HOME + RIGHT + "1", "12/34", 1),  # would push the 4 out: refused
            Row("１２／３４", "12/34"),  # full-width (IME)
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
            Row("1234" + HOME + "5", "1234", 0),  # a fifth digit in front is refused
            Row("１２３", "123"),  # full-width (IME)
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
            Row("  success@okbank", "success@okbank"),  # leading spaces go
            # A space inside stays in sight (Pay refuses it), runs show as one space.
            Row("success @okbank", "success @okbank"),
            Row("success @  okbank", "success @ okbank"),
            Row("success@okbank" + HOME + RIGHT * 2 + " ", "su ccess@okbank", 3),
            # A trailing space stays while typing (it may come before a next word); Pay trims it.
            Row("success@okbank ", "success@okbank "),
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


def allow_clipboard(page, stack) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.checkout)


def paste(page, test_id: str, text: str, shown: str) -> None:
    """Empty the field, paste `text` with Ctrl+V as a person does; it shows `shown`, the caret
    at its end."""
    field = page.locator(tid(test_id))
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    clear(field)
    field.press("ControlOrMeta+v")
    expect(field, f"pasting {text!r}").to_have_value(shown)
    assert caret(field) == (len(shown), len(shown))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_pasted_values_are_cleaned_up_and_paid(new_page, stack, viewport):
    page = open_checkout(new_page, stack, viewport)
    allow_clipboard(page, stack)
    paste(page, "vpa-input", "  success@okbank \n", "success@okbank")
    page.locator(tid("method-card")).click()
    paste(page, "card-number-input", "4242-4242-4242-4242", "4242 4242 4242 4242")
    paste(page, "expiry-input", "12 / 2034", "12/2034")
    paste(page, "cvv-input", " 123 ", "123")
    paste(page, "cardholder-name-input", "Asha Verma", "Asha Verma")

    card = pay_and_see_success(page)["card"]
    assert card["number"] == "4242424242424242"
    assert (card["expiry_month"], card["expiry_year"], card["cvv"]) == ("12", "2034", "123")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_upi_id_with_a_space_inside_is_refused_never_paid_as_another(new_page, stack, viewport):
    """The field used to remove every space: two pasted lines became one ID nobody wrote
    ("success@okaxissecondline"), and "success @okaxis" was paid as "success@okaxis"."""
    page = open_checkout(new_page, stack, viewport)
    allow_clipboard(page, stack)
    payments = []
    page.on(
        "request",
        lambda r: payments.append(r) if r.method == "POST" and "/payments" in r.url else None,
    )
    field = page.locator(tid("vpa-input"))
    error = page.locator(tid("vpa-error"))
    pay = page.locator(f"{tid('upi-form')} {tid('pay-button')}")
    for keys, shown in (
        ("success @okaxis", "success @okaxis"),
        ("success@okaxis   x", "success@okaxis x"),
    ):
        type_into(field, keys)
        expect(field).to_have_value(shown)
        pay.click()
        expect(error).to_have_text("A UPI ID has no spaces: remove the space")
        expect(field).to_be_focused()
    paste(page, "vpa-input", "\tsuccess@okaxis\nsecond line \n", "success@okaxis second line")
    pay.click()
    expect(error).to_have_text("A UPI ID has no spaces: remove the space")
    # The refusal happens before any request: validation runs before the payment is sent.
    assert payments == [], [r.url for r in payments]

    type_into(field, "success@okbank")
    expect(error).to_be_hidden()
    assert pay_and_see_success(page)["vpa"] == "success@okbank"
    assert len(payments) == 1


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
