/* /dashboard/transactions: the paginated payments table and the refund dialog. */
(function () {
  "use strict";

  var P = window.Paygate;
  var POLL_MS = 2000;
  var state = P.pageState(10);
  var timer = null;
  var listing = P.latest();
  var current = null; // the payment being refunded
  // One Idempotency-Key per refund the merchant means: sending the same amount again from the
  // same dialog (after a timeout or a lost answer) replays the first refund instead of making a
  // second one; a changed amount or reason is a new request with a new key.
  var refundKey = null;
  var refundSignature = null;

  function cell(testId, content, extra) {
    return P.el("td", Object.assign({ dataset: { testId: testId } }, extra || {}), content);
  }

  function row(p) {
    var actions = P.el("td", { class: "actions" });
    if (p.status === "success") {
      actions.appendChild(P.el("button", {
        type: "button", class: "btn btn-sm", dataset: { testId: "refund-button", paymentId: p.id },
        text: "Refund", onclick: function () { openRefund(p); },
      }));
    }
    var status = P.el("td", { "data-label": "Status" }, P.badge(p.status, "status"));
    if (p.status === "failed" && p.error_description) {
      status.appendChild(P.el("span", { class: "sub", text: p.error_description }));
    }
    return P.el("tr", { dataset: { testId: "transaction-row", paymentId: p.id, status: p.status } },
      cell("payment-id", p.id, { class: "id", "data-label": "Payment ID" }),
      cell("order-id", p.order_id, { class: "id", "data-label": "Order ID" }),
      cell("amount", P.money(p.amount, p.currency, true), { class: "num", "data-label": "Amount" }),
      P.el("td", { "data-label": "Method" }, P.method(p, "method")),
      status,
      cell("created-at", P.formatDate(p.created_at), { title: p.created_at || "", "data-label": "Created" }),
      actions);
  }

  function load() {
    clearTimeout(timer);
    var body = P.byTestId("transactions-body");
    var offset = (state.page - 1) * state.limit;
    return listing(P.get("/api/v1/payments", { limit: state.limit, offset: offset }), function (page) {
      var data = page.data || [];
      var total = page.total || 0;
      if (!data.length && total > 0 && state.page > 1) {
        state.page = Math.max(1, Math.ceil(total / state.limit));
        return load();
      }
      state.save();
      if (!data.length) {
        body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 7, class: "empty" },
          P.el("strong", { text: "No payments yet" }),
          "Payments appear here as soon as a customer pays one of your orders.")));
      } else {
        body.replaceChildren.apply(body, data.map(row));
      }
      P.renderPager(P.byTestId("pagination"), state, total, load);
      // Pending payments settle within seconds: follow them until they do.
      if (data.some(function (p) { return p.status === "pending"; })) timer = setTimeout(load, POLL_MS);
    }, function (error) {
      body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 7, class: "empty" },
        P.el("strong", { text: "Could not load payments" }), error.description)));
    });
  }

  // ---------------------------------------------------------------- refunds
  function dialog() { return P.byTestId("refund-dialog"); }

  function showRefundError(message) {
    var node = P.byTestId("refund-error");
    node.textContent = message;
    node.hidden = !message;
    P.byTestId("refund-amount-input").setAttribute("aria-invalid", message ? "true" : "false");
  }

  function openRefund(payment) {
    current = payment;
    refundKey = refundSignature = null;
    showRefundError("");
    P.byTestId("refund-payment-id").textContent = payment.id;
    P.byTestId("refund-payment-amount").textContent = P.money(payment.amount, payment.currency, true);
    P.byTestId("refund-amount-input").value = P.moneyInput(payment.amount, payment.currency);
    P.byTestId("refund-currency").textContent = payment.currency || "INR";
    P.byTestId("refund-reason-input").value = "";
    dialog().showModal();
    P.byTestId("refund-amount-input").select();
    // Offer what is left after earlier refunds, when the API can tell.
    P.get("/api/v1/payments/" + encodeURIComponent(payment.id) + "/refunds", { limit: 100 }).then(function (page) {
      var taken = (page.data || []).reduce(function (sum, r) { return sum + (Number(r.amount) || 0); }, 0);
      if (current === payment && taken) {
        var left = Math.max(0, payment.amount - taken);
        P.byTestId("refund-payment-amount").textContent = P.money(payment.amount, payment.currency, true) +
          " (" + P.money(taken, payment.currency, true) + " already refunded)";
        P.byTestId("refund-amount-input").value = P.moneyInput(left, payment.currency);
      }
    }, function () { /* the list is a convenience only */ });
  }

  function submitRefund(event) {
    event.preventDefault();
    if (!current) return;
    var amount = P.parseMoney(P.byTestId("refund-amount-input").value, current.currency);
    if (!amount) {
      var example = P.moneyInput(25050, current.currency).replace(/\.0+$/, "");
      return showRefundError("Enter an amount in " + (current.currency || "INR") + ", for example " +
        example + ".");
    }
    var body = { amount: amount };
    var reason = P.byTestId("refund-reason-input").value.trim();
    if (reason) body.reason = reason;
    var payment = current;
    P.busy(P.byTestId("refund-submit-button"), function () {
      var signature = payment.id + " " + JSON.stringify(body);
      if (signature !== refundSignature) {
        refundKey = P.uuid();
        refundSignature = signature;
      }
      return P.post("/api/v1/payments/" + encodeURIComponent(payment.id) + "/refunds", body,
        { idempotencyKey: refundKey })
        .then(function (refund) {
          dialog().close();
          P.toast("Refund " + refund.id + " of " + P.money(refund.amount, payment.currency, true) +
            " created (" + refund.status + ")", "success");
          load();
        }, function (error) {
          showRefundError(error.description);
        });
    });
  }

  P.page(function () {
    P.byTestId("refresh-transactions-button").addEventListener("click", load);
    P.byTestId("refund-form").addEventListener("submit", submitRefund);
    dialog().querySelectorAll("[data-close]").forEach(function (button) {
      button.addEventListener("click", function () { dialog().close(); });
    });
    dialog().addEventListener("close", function () { current = null; });
    load();
    document.addEventListener("visibilitychange", function () { if (!document.hidden) load(); });
  });
})();
