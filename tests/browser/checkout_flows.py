"""Steps on the hosted checkout shared by the tests; `root` is a Page or a FrameLocator.

Fields are typed key by key, as a person types (a key press, then the page's `input` handler,
then the next key): `fill()` sets a whole value at once and never runs a formatter the way
people do (ARCHITECTURE, known trap 12).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

PAYMENT_ID = re.compile(r"^pay_[A-Za-z0-9]{16}$")
SUCCESS_VPA = "success@okbank"
FAILURE_VPA = "failure@okbank"
SUCCESS_CARD = "4242 4242 4242 4242"
FAILURE_CARD = "4000 0000 0000 0002"
SETTLE_TIMEOUT = 15_000  # settle ~1 s + a 2 s poll, with room to spare
KEY_DELAY_MS = 15  # between two keys: a quick typist
_KEY = re.compile(r"(\{[A-Za-z+]+\})")


def tid(value: str) -> str:
    return f'[data-test-id="{value}"]'


def clear(field) -> None:
    """Empty a field as a person does: into it, select everything, Backspace."""
    field.click()
    field.press("ControlOrMeta+a")
    field.press("Backspace")


def keys(field, sequence: str) -> None:
    """Type `sequence` into the focused field key by key; `{Name}` presses a named key
    ("12/34{Backspace}{ArrowLeft}1", "{Shift+ArrowLeft}")."""
    for part in _KEY.split(sequence):
        if not part:
            continue
        if _KEY.fullmatch(part):
            field.press(part[1:-1])
        else:
            field.press_sequentially(part, delay=KEY_DELAY_MS)


def type_into(field, sequence: str) -> None:
    """Clear `field`, then type `sequence` into it key by key."""
    clear(field)
    keys(field, sequence)


def caret(field) -> tuple[int, int]:
    """The field's selection (start, end): the caret when both are equal."""
    return tuple(field.evaluate("el => [el.selectionStart, el.selectionEnd]"))


def pay_upi(root, vpa: str) -> None:
    root.locator(tid("method-upi")).click()
    expect(root.locator(tid("upi-form"))).to_be_visible()
    type_into(root.locator(tid("vpa-input")), vpa)
    root.locator(f"{tid('upi-form')} {tid('pay-button')}").click()


def enter_card(
    root, number: str, expiry: str = "12/34", cvv: str = "123", name: str = "Asha Verma"
) -> None:
    """Switch to card and type every field of the card form."""
    root.locator(tid("method-card")).click()
    expect(root.locator(tid("card-form"))).to_be_visible()
    type_into(root.locator(tid("card-number-input")), number)
    type_into(root.locator(tid("expiry-input")), expiry)
    type_into(root.locator(tid("cvv-input")), cvv)
    type_into(root.locator(tid("cardholder-name-input")), name)


def pay_card(root, number: str, **fields) -> None:
    enter_card(root, number, **fields)
    root.locator(f"{tid('card-form')} {tid('pay-button')}").click()
