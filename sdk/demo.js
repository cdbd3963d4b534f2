/* The local demo store's page logic (demo.html); a file, not inline, so the checkout site's
 * CSP (script-src 'self') holds for it too. Not published to the CDN. */
(function () {
  'use strict';
  // ---- LOCAL DEMO ONLY: the seeded test merchant's credentials. ----
  // A real merchant makes this call from its server and never ships a secret to a browser.
  var DEMO_KEY = 'key_test_abc123';
  var DEMO_SECRET = 'secret_test_xyz789';
  var config = window.PAYGATE_CONFIG || {};
  var api = String(config.apiBaseUrl || '').replace(/\/+$/, '');

  var result = document.getElementById('result');
  var log = document.getElementById('log');
  var buyButton = document.getElementById('buy-button');
  document.getElementById('snippet-origin').textContent = window.location.origin;

  function note(text) {
    var item = document.createElement('li');
    item.textContent = new Date().toLocaleTimeString() + '  ' + text;
    log.appendChild(item);
  }

  function showResult(text, kind) {
    result.textContent = text;
    result.className = 'result' + (kind ? ' ' + kind : '');
  }

  function openCheckout(orderId) {
    note('open checkout for ' + orderId);
    var checkout = new PaymentGateway({
      key: DEMO_KEY,
      orderId: orderId,
      onSuccess: function (data) {
        note('onSuccess ' + JSON.stringify(data));
        showResult('Payment successful: ' + data.paymentId, 'ok');
      },
      onFailure: function (data) {
        note('onFailure ' + JSON.stringify(data));
        showResult('Payment failed' + (data && data.paymentId ? ': ' + data.paymentId : ''), 'bad');
      },
      onClose: function () {
        note('onClose');
      }
    });
    checkout.open();
  }

  // Stands in for the merchant's server.
  function createOrder(amount) {
    return fetch(api + '/api/v1/orders', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': DEMO_KEY, 'X-Api-Secret': DEMO_SECRET },
      body: JSON.stringify({ amount: amount, currency: 'INR', receipt: 'demo_' + Date.now() })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error((body && body.error && body.error.description) || 'HTTP ' + response.status);
        }
        return body;
      });
    });
  }

  document.getElementById('buy-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var rupees = parseFloat(document.getElementById('amount-input').value);
    var amount = Math.round(rupees * 100);
    if (!(amount >= 100)) {
      showResult('The amount must be at least ₹1.00', 'bad');
      return;
    }
    buyButton.disabled = true;
    showResult('Creating the order…');
    createOrder(amount).then(function (order) {
      note('order created ' + order.id);
      document.getElementById('order-id-input').value = order.id;
      showResult('Order ' + order.id + ' created; complete the payment in the checkout.');
      openCheckout(order.id);
    }, function (error) {
      showResult('Could not create the order: ' + error.message, 'bad');
    }).then(function () {
      buyButton.disabled = false;
    });
  });

  document.getElementById('open-button').addEventListener('click', function () {
    var orderId = document.getElementById('order-id-input').value.trim();
    if (!orderId) {
      showResult('Enter an order id first.', 'bad');
      return;
    }
    openCheckout(orderId);
  });

  document.getElementById('amount-input').addEventListener('input', function (event) {
    var rupees = parseFloat(event.target.value);
    document.getElementById('price-label').textContent =
      isFinite(rupees) ? '₹' + rupees.toFixed(2) : '—';
  });
})();
