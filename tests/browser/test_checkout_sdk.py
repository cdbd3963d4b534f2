"""The SDK on a merchant's page (its own origin): the modal, the iframe, the postMessage
protocol and its origin/source checks, at desktop and phone sizes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import (
    FAILURE_CARD,
    FAILURE_VPA,
    PAYMENT_ID,
    SETTLE_TIMEOUT,
    SUCCESS_CARD,
    SUCCESS_VPA,
    pay_card,
    pay_upi,
    tid,
)
from tests.browser.conftest import MOBILE

pytestmark = pytest.mark.browser

MODAL = tid("payment-modal")
IFRAME = tid("payment-iframe")


def open_checkout(page, merchant_site, order_id: str, before_open: str | None = None):
    """Load the merchant page (then run the script `before_open` in it), open the modal; return
    the checkout frame once the order shows."""
    page.goto(merchant_site + "/shop.html")
    if before_open:
        page.evaluate(before_open)
    page.evaluate("orderId => window.openCheckout(orderId)", order_id)
    frame = page.frame_locator(IFRAME)
    expect(frame.locator(tid("order-id"))).to_have_text(order_id)
    return frame


def events(page) -> list[dict]:
    return page.evaluate("window.events")


def wait_for_event(page, kind: str) -> dict:
    page.wait_for_function(
        "kind => window.events.some(e => e.type === kind)", arg=kind, timeout=SETTLE_TIMEOUT
    )
    return next(e for e in events(page) if e["type"] == kind)


def listen_for_messages(page) -> None:
    """Record the type of every message the merchant page receives, after the SDK's listener."""
    page.evaluate(
        "window.received = []; "
        "window.addEventListener('message', e => window.received.push(e.data && e.data.type))"
    )


def wait_until_handled(page, sender, target: str = "window.parent") -> None:
    """Post a marker from `sender` (a Page or Frame) and wait until the merchant page got it:
    messages from one sender arrive in order, so everything it posted before was handled by
    then (instead of sleeping and hoping the SDK had its chance to misbehave)."""
    marker = f"handled-marker-{id(sender)}"
    sender.evaluate(f"m => {target}.postMessage({{type: m}}, '*')", marker)
    page.wait_for_function("m => window.received.includes(m)", arg=marker)


def test_global_is_the_class_and_requires_key_and_order(page, merchant_site):
    page.goto(merchant_site + "/shop.html")
    shape = page.evaluate("""() => ({
        kind: typeof window.PaymentGateway,
        name: window.PaymentGateway.name,
        hasDefault: 'default' in window.PaymentGateway,
        noKey: (() => { try { new PaymentGateway({orderId: 'order_x'}); return null; }
                        catch (e) { return e.message; } })(),
        noOrder: (() => { try { new PaymentGateway({key: 'key_test_abc123'}); return null; }
                          catch (e) { return e.message; } })(),
        nothing: (() => { try { new PaymentGateway(); return null; }
                          catch (e) { return e.message; } })(),
    })""")
    assert shape["kind"] == "function"
    assert shape["name"] == "PaymentGateway"
    assert not shape["hasDefault"]
    assert "key" in shape["noKey"]
    assert "orderId" in shape["noOrder"]
    assert shape["nothing"]


def test_open_builds_the_modal_with_the_checkout_iframe(page, stack, merchant_site, screenshot):
    order = stack.create_order(50000)
    frame = open_checkout(page, merchant_site, order["id"])

    structure = page.locator(
        f"body > div#payment-gateway-modal{MODAL} > div.modal-overlay > div.modal-content"
    )
    expect(structure).to_have_count(1)
    content = structure.first
    expect(content.locator(f"> iframe{IFRAME}")).to_have_count(1)
    expect(content.locator(f"> button{tid('close-modal-button')}")).to_be_visible()
    src = page.locator(IFRAME).get_attribute("src")
    assert src == f"{stack.checkout}/checkout?order_id={order['id']}&embedded=true"

    expect(frame.locator(tid("checkout-container"))).to_be_visible()
    expect(frame.locator(tid("order-amount"))).to_have_text("₹500.00")
    expect(frame.locator(tid("vpa-input"))).to_be_visible()
    box = page.locator(".modal-content").bounding_box()
    assert 400 <= box["width"] <= 480 and box["height"] >= 560  # a centred card on desktop
    screenshot(page, "modal-desktop-1280x800")

    frame.locator(tid("method-card")).click()
    expect(frame.locator(tid("card-number-input"))).to_be_visible()
    screenshot(page, "modal-desktop-card-1280x800")


def test_upi_payment_calls_on_success_then_closes(page, stack, merchant_site):
    order = stack.create_order(50000)
    frame = open_checkout(page, merchant_site, order["id"])
    pay_upi(frame, SUCCESS_VPA)
    expect(frame.locator(tid("processing-state"))).to_be_visible()

    success = wait_for_event(page, "success")
    assert PAYMENT_ID.match(success["data"]["paymentId"])
    assert success["data"]["orderId"] == order["id"]
    assert success["data"]["status"] == "success"
    expect(page.locator(MODAL)).to_have_count(0)
    assert [e["type"] for e in events(page)] == ["success", "close"]

    payment = stack.call("GET", f"/api/v1/payments/{success['data']['paymentId']}").json()
    assert payment["status"] == "success" and payment["method"] == "upi"
    assert payment["order_id"] == order["id"]


def test_card_payment_calls_on_success(page, stack, merchant_site):
    order = stack.create_order(12345)
    frame = open_checkout(page, merchant_site, order["id"])
    expect(frame.locator(tid("order-amount"))).to_have_text("₹123.45")
    pay_card(frame, SUCCESS_CARD)

    success = wait_for_event(page, "success")
    payment = stack.call("GET", f"/api/v1/payments/{success['data']['paymentId']}").json()
    assert payment["status"] == "success"
    assert payment["method"] == "card"
    assert payment["card_last4"] == "4242"
    assert payment["card_network"] == "visa"
    expect(page.locator(MODAL)).to_have_count(0)


@pytest.mark.parametrize("method", ["upi", "card"])
def test_failed_payment_calls_on_failure_and_keeps_the_modal(page, stack, merchant_site, method):
    # Record, inside the checkout frame, every message it posts to its parent and the target
    # origin it names ('*' would hand the result to whoever framed the page).
    page.context.add_init_script("""
        if (window.parent !== window && location.pathname === '/checkout') {
            const real = window.parent;
            window.__posted = [];
            window.parent = { postMessage: (message, target) => {
                window.__posted.push({message, target}); real.postMessage(message, target); } };
        }""")
    order = stack.create_order(50000)
    frame = open_checkout(page, merchant_site, order["id"])
    if method == "upi":
        pay_upi(frame, FAILURE_VPA)
    else:
        pay_card(frame, FAILURE_CARD)

    failure = wait_for_event(page, "failure")
    assert PAYMENT_ID.match(failure["data"]["paymentId"])
    assert failure["data"]["error"]["code"] == "PAYMENT_FAILED"
    assert [e["type"] for e in events(page)] == ["failure"]  # no success, not closed
    expect(page.locator(MODAL)).to_be_visible()
    expect(frame.locator(tid("error-state"))).to_be_visible()
    expect(frame.locator(tid("error-message"))).to_contain_text("failed")

    checkout_frame = page.locator(IFRAME).element_handle().content_frame()
    posted = checkout_frame.evaluate("window.__posted")
    assert [p["message"]["type"] for p in posted] == ["payment_failed"]
    assert {p["target"] for p in posted} == {merchant_site}
    payment = stack.call("GET", f"/api/v1/payments/{failure['data']['paymentId']}").json()
    assert payment["status"] == "failed"

    frame.locator(tid("retry-button")).click()
    expect(frame.locator(tid(f"{method}-form"))).to_be_visible()


def test_close_button_removes_the_modal_and_calls_on_close(page, stack, merchant_site):
    order = stack.create_order(50000)
    open_checkout(page, merchant_site, order["id"])
    assert page.evaluate("document.body.style.overflow") == "hidden"  # page behind is locked
    page.locator(tid("close-modal-button")).click()
    expect(page.locator(MODAL)).to_have_count(0)
    assert events(page) == [{"type": "close"}]
    assert page.evaluate("document.body.style.overflow") == ""
    assert page.evaluate("window.checkout.isOpen()") is False

    # It opens again, and Escape closes it: pressed on the merchant page, or in the checkout
    # frame (where the focus usually is), which then asks the SDK to close. (Synthetic events:
    # a real key press through CDP can hang when its target frame is removed mid-press.)
    escape = "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))"
    page.evaluate("window.checkout.open()")
    expect(page.locator(MODAL)).to_have_count(1)
    page.evaluate(escape)
    expect(page.locator(MODAL)).to_have_count(0)
    page.evaluate("window.checkout.open()")
    expect(page.frame_locator(IFRAME).locator(tid("vpa-input"))).to_be_visible()
    page.locator(IFRAME).element_handle().content_frame().evaluate(escape)
    expect(page.locator(MODAL)).to_have_count(0)
    assert [e["type"] for e in events(page)] == ["close", "close", "close"]


# The merchant page holds the checkout's close_modal messages until released (its listener,
# added before the SDK's, stops the others), then hands each on with its origin and source.
HOLD_CLOSE_MODAL = """() => {
  window.held = [];
  const hold = e => {
    if (e.data && e.data.type === 'close_modal') { e.stopImmediatePropagation(); held.push(e); }
  };
  window.addEventListener('message', hold, true);
  window.releaseHeld = () => {
    window.removeEventListener('message', hold, true);
    return held.map(e => {
      const copy = {data: e.data, origin: e.origin, source: e.source};
      window.dispatchEvent(new MessageEvent('message', copy));
      return e.data.type;
    });
  };
}"""


def test_cancel_inside_the_checkout_sends_close_modal(page, stack, merchant_site):
    order = stack.create_order(50000)
    frame = open_checkout(page, merchant_site, order["id"], before_open=HOLD_CLOSE_MODAL)
    # This click made the SDK remove the frame it landed in (an out-of-process iframe: another
    # site) while the click was still under way, and about one tier run in five the driver's
    # click never returned (10 s timeout, even with no_wait_after; every log ends at
    # "performing click action", i.e. inside Chromium's Input.dispatchMouseEvent, which
    # answers once the frame has handled the event). Not reproduced in 80 clicks under load.
    # So the checkout's message waits until the click is done: the click a person makes, and
    # what the SDK then does with the message, are unchanged.
    frame.get_by_role("button", name="Cancel payment").click()
    page.wait_for_function("window.held.length > 0")
    expect(page.locator(MODAL)).to_have_count(1)  # held: nothing closed it meanwhile
    assert page.evaluate("window.releaseHeld()") == ["close_modal"]
    expect(page.locator(MODAL)).to_have_count(0)
    assert events(page) == [{"type": "close"}]


def test_messages_from_other_origins_or_frames_are_ignored(page, stack, merchant_site):
    order = stack.create_order(50000)
    open_checkout(page, merchant_site, order["id"])
    listen_for_messages(page)
    forged = [
        {"type": "payment_success", "data": {"paymentId": "pay_forgedforgedforg"}},
        {"type": "payment_failed", "data": {"paymentId": "pay_forgedforgedforg"}},
        {"type": "close_modal", "data": {}},
    ]
    # 1. The merchant page itself (wrong origin, wrong source).
    for message in forged:
        page.evaluate("m => window.postMessage(m, '*')", message)
    # 2. Another frame on the checkout's own origin: right origin, but not the modal's iframe.
    page.evaluate(
        """src => new Promise(done => {
        const impostor = document.createElement('iframe');
        impostor.id = 'impostor'; impostor.src = src; impostor.onload = () => done();
        document.body.appendChild(impostor); })""",
        stack.checkout + "/checkout.css",
    )
    impostor = page.locator("#impostor").element_handle().content_frame()
    assert impostor.evaluate("location.origin") == stack.checkout
    for message in forged:
        impostor.evaluate("m => window.parent.postMessage(m, '*')", message)
    wait_until_handled(page, page, target="window")
    wait_until_handled(page, impostor)
    expect(page.locator(MODAL)).to_be_visible()
    assert events(page) == []

    # Control: the same message from the modal's own iframe is obeyed.
    checkout_frame = page.locator(IFRAME).element_handle().content_frame()
    checkout_frame.evaluate("window.parent.postMessage({type: 'close_modal', data: {}}, '*')")
    expect(page.locator(MODAL)).to_have_count(0)
    assert events(page) == [{"type": "close"}]


def test_checkout_url_option_overrides_the_script_origin(page, stack, merchant_site):
    page.goto(merchant_site + "/shop.html")
    for base in (
        "https://pay.example.com",
        "https://pay.example.com/",
        "https://pay.example.com/checkout.js",
    ):
        src = page.evaluate(
            "base => new PaymentGateway({key: 'k', orderId: 'order_abc', checkoutUrl: base})"
            ".checkoutSrc",
            base,
        )
        assert src == "https://pay.example.com/checkout?order_id=order_abc&embedded=true"
    default = page.evaluate("() => new PaymentGateway({key: 'k', orderId: 'o'}).checkoutOrigin")
    assert default == stack.checkout


def phone(new_page):
    """A 360 x 640 phone: touch, mobile viewport rules, two device pixels per CSS pixel."""
    return new_page(MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)


def test_modal_is_usable_on_a_360px_phone(new_page, stack, merchant_site, screenshot):
    # This test used to fail about one run in three: "clicking UPI did not show the UPI form".
    # The click after a screenshot never reached the checkout frame: Chromium's device-scale
    # screenshot of an emulated 2x phone could leave the cross-site iframe's input routing
    # stale, so the click landed on the merchant page's <iframe> element. The page was right;
    # the screenshot fixture now takes CSS-scale pictures (see conftest.screenshot), and
    # test_screenshots_leave_the_checkout_frame_clickable below keeps it that way.
    page = phone(new_page)
    order = stack.create_order(50000)
    frame = open_checkout(page, merchant_site, order["id"])

    content = page.locator(".modal-content").bounding_box()
    assert content["x"] >= 0 and content["y"] >= 0
    assert content["width"] == pytest.approx(360, abs=1)
    assert content["height"] == pytest.approx(640, abs=1)
    close = page.locator(tid("close-modal-button")).bounding_box()
    assert close["x"] + close["width"] <= 360 and close["y"] >= 0  # on screen, tappable
    assert close["width"] >= 28 and close["height"] >= 28

    checkout_frame = page.locator(IFRAME).element_handle().content_frame()
    overflow = checkout_frame.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the checkout scrolls sideways at 360 px"
    # The close button must not cover the merchant name or the amount.
    for test_id in ("order-amount", "order-id"):
        box = frame.locator(tid(test_id)).bounding_box()
        assert box["x"] + box["width"] <= 360
    name = checkout_frame.locator("#merchant-name").bounding_box()
    assert name["x"] + name["width"] <= close["x"]
    screenshot(page, "modal-mobile-360x640")

    frame.locator(tid("method-card")).click()
    expect(frame.locator(tid("card-form"))).to_be_visible()
    for test_id in ("card-number-input", "expiry-input", "cvv-input", "cardholder-name-input"):
        box = frame.locator(tid(test_id)).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    screenshot(page, "modal-mobile-card-360x640")

    pay_upi(frame, SUCCESS_VPA)
    success = wait_for_event(page, "success")
    assert PAYMENT_ID.match(success["data"]["paymentId"])


def test_commonjs_export_is_the_class_itself(page, stack, merchant_site):
    """What a bundler sees: `module.exports` is the constructor, not `{default: Class}`.
    (Evaluated on the merchant's page: the checkout's own pages forbid eval by their CSP.)"""
    page.goto(merchant_site + "/shop.html")
    exported = page.evaluate(
        """async (checkout) => {
        const source = await (await fetch(checkout + '/checkout.js')).text();
        const module = {exports: {}};
        new Function('module', 'exports', source)(module, module.exports);
        const Class = module.exports;
        const instance = new Class({key: 'k', orderId: 'order_1',
                                    checkoutUrl: 'https://pay.example.com'});
        return {kind: typeof Class, name: Class.name, hasDefault: 'default' in Class,
                isInstance: instance instanceof Class, src: instance.checkoutSrc};
    }""",
        stack.checkout,
    )
    assert exported == {
        "kind": "function",
        "name": "PaymentGateway",
        "hasDefault": False,
        "isInstance": True,
        "src": "https://pay.example.com/checkout?order_id=order_1&embedded=true",
    }


def test_its_own_iframe_on_another_origin_is_not_trusted(page, stack, merchant_site):
    """Right source, wrong origin: the iframe was navigated away from the checkout."""
    order = stack.create_order(50000)
    open_checkout(page, merchant_site, order["id"])
    iframe = page.locator(IFRAME).element_handle()
    iframe.content_frame().evaluate("url => { location.href = url; }", merchant_site + "/shop.html")
    page.wait_for_function(
        "origin => { try { return document.querySelector('iframe').contentWindow.location.origin"
        " === origin; } catch (e) { return false; } }",
        arg=merchant_site,
    )
    moved = iframe.content_frame()
    listen_for_messages(page)
    for kind in ("payment_success", "close_modal"):
        moved.evaluate(
            "kind => window.parent.postMessage({type: kind, data: {paymentId: 'pay_x'}}, '*')", kind
        )
    wait_until_handled(page, moved)
    expect(page.locator(MODAL)).to_be_visible()
    assert events(page) == []


def test_screenshots_leave_the_checkout_frame_clickable(new_page, stack, merchant_site, screenshot):
    """Every picture is followed by a tap in the cross-site checkout frame on a 2x phone, which
    must reach it. With device-scale screenshots about one tap in three was lost here (the
    360 px flake of issue 14); twelve rounds make that failure all but certain."""
    page = phone(new_page)
    order = stack.create_order(50000)
    frame = open_checkout(page, merchant_site, order["id"])
    # A tap the browser fails to route into the checkout lands on the <iframe> element here.
    page.evaluate(
        "window.tapsOnTheFrame = 0; document.addEventListener('pointerdown', e => {"
        " if (e.target.tagName === 'IFRAME') window.tapsOnTheFrame++; }, true)"
    )
    for round_ in range(12):
        method = ("card", "upi")[round_ % 2]
        screenshot(page, "modal-mobile-switching-360x640")
        frame.locator(tid(f"method-{method}")).click()
        expect(frame.locator(tid(f"method-{method}"))).to_have_attribute("aria-selected", "true")
        expect(frame.locator(tid(f"{method}-form"))).to_be_visible()
    assert page.evaluate("window.tapsOnTheFrame") == 0
