/*
 * Paygate hosted checkout: /checkout?order_id=<id>[&embedded=true]
 *
 * Loads the order (GET /api/v1/orders/{id}/public), pays it (POST /api/v1/payments/public),
 * then polls GET /api/v1/payments/{id}/public every 2 s until the payment settles. Embedded in
 * the SDK's iframe it reports the outcome to the parent page with postMessage, addressed to the
 * parent's origin (never '*').
 *
 * Card numbers and CVVs are sent to the API once and nowhere else: they are never logged,
 * stored, put in a URL or posted to the parent page.
 */
(function () {
  'use strict';

  var POLL_INTERVAL_MS = 2000;
  var POLL_GIVE_UP_MS = 5 * 60 * 1000;
  var SUCCESS_NOTIFY_DELAY_MS = 1000; // let the customer see the tick before the modal closes
  var VPA_PATTERN = /^[a-zA-Z0-9._-]+@[a-zA-Z0-9]+$/;
  var VPA_MAX_LENGTH = 255; // the API's limit (INVALID_VPA past it)
  // The API's refusals of a second payment on one order (CONTRACT §5).
  var ORDER_PAID = 'Order is already paid';
  var ORDER_IN_PROGRESS = 'Order has a payment in progress';

  var config = window.PAYGATE_CONFIG || {};
  var apiBase = String(config.apiBaseUrl || '').replace(/\/+$/, '');
  var params = new URLSearchParams(window.location.search);
  var orderId = (params.get('order_id') || '').trim();
  var embedded = params.get('embedded') === 'true' && window.parent !== window;
  var parentOrigin = embedded ? deriveParentOrigin() : null;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    merchantName: $('merchant-name'),
    merchantLogo: $('merchant-logo'),
    amount: $('order-amount'),
    orderId: $('order-id'),
    loading: $('loading-state'),
    paySection: $('payment-section'),
    methodForm: $('method-form'),
    upiForm: $('upi-form'),
    cardForm: $('card-form'),
    vpa: $('vpa-input'),
    cardNumber: $('card-number-input'),
    cardNetwork: $('card-network'),
    expiry: $('expiry-input'),
    cvv: $('cvv-input'),
    holder: $('cardholder-name-input'),
    processing: $('processing-state'),
    success: $('success-state'),
    successAmount: $('success-amount'),
    paymentId: $('payment-id'),
    error: $('error-state'),
    errorTitle: $('error-title'),
    errorMessage: $('error-message'),
    retry: $('retry-button'),
    cancel: $('cancel-button')
  };
  var forms = { upi: el.upiForm, card: el.cardForm };

  var state = {
    order: null,
    method: 'upi',
    busy: false,
    pollTimer: null,
    retryAction: null // what "Try Again" does: back to the form, or load the order again
  };

  // ---------------------------------------------------------------- helpers
  function deriveParentOrigin() {
    var origin = null;
    try {
      if (document.referrer) {
        origin = new URL(document.referrer).origin;
      }
    } catch (e) {
      origin = null;
    }
    if ((!origin || origin === 'null') && window.location.ancestorOrigins &&
        window.location.ancestorOrigins.length) {
      origin = window.location.ancestorOrigins[0];
    }
    return origin && origin !== 'null' ? origin : null;
  }

  function notifyParent(type, data) {
    if (!embedded || !parentOrigin) {
      return;
    }
    window.parent.postMessage({ type: type, data: data }, parentOrigin);
  }

  // ISO 4217 exponents of the currencies Paygate accepts (the same table as paygate/money.py
  // and the dashboard; a unit test keeps the three equal). Amounts are in the minor unit.
  var CURRENCY_EXPONENTS = {
    INR: 2, USD: 2, EUR: 2, GBP: 2, SGD: 2, AED: 2, AUD: 2, CAD: 2, CHF: 2, CNY: 2, HKD: 2,
    NZD: 2, SEK: 2, NOK: 2, DKK: 2, ZAR: 2, MYR: 2, THB: 2, SAR: 2, QAR: 2, LKR: 2, NPR: 2,
    BDT: 2, MXN: 2, BRL: 2,
    JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0,
    KWD: 3, BHD: 3, OMR: 3, JOD: 3, TND: 3
  };

  /** (50000, INR) -> "₹500.00"; (50000, JPY) -> "¥50,000"; (1500, KWD) -> "KWD 1.500". */
  function formatAmount(amount, currency) {
    currency = String(currency || 'INR').toUpperCase();
    var digits = Object.prototype.hasOwnProperty.call(CURRENCY_EXPONENTS, currency) ?
      CURRENCY_EXPONENTS[currency] : 2;
    var major = Math.round(Number(amount) || 0) / Math.pow(10, digits);
    try {
      // INR keeps Indian grouping (₹5,00,000.00); others the international one.
      return new Intl.NumberFormat(currency === 'INR' ? 'en-IN' : 'en-US', {
        style: 'currency', currency: currency,
        minimumFractionDigits: digits, maximumFractionDigits: digits
      }).format(major);
    } catch (e) {
      return currency + ' ' + major.toFixed(digits);
    }
  }

  function show(view) {
    el.loading.hidden = view !== 'loading';
    el.paySection.hidden = view !== 'form';
    el.processing.hidden = view !== 'processing';
    el.success.hidden = view !== 'success';
    el.error.hidden = view !== 'error';
    el.cancel.hidden = !(embedded && (view === 'form' || view === 'error'));
  }

  function showError(title, message, retryAction) {
    stopPolling();
    el.errorTitle.textContent = title;
    el.errorMessage.textContent = message;
    state.retryAction = retryAction;
    el.retry.hidden = !retryAction;
    show('error');
  }

  function setBusy(busy) {
    state.busy = busy;
    var buttons = document.querySelectorAll('[data-test-id="pay-button"]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = busy;
    }
  }

  function ApiError(code, description, status) {
    this.code = code;
    this.description = description;
    this.status = status;
  }

  /** fetch JSON from the API; rejects with ApiError carrying the envelope's description. */
  function api(method, path, body) {
    var init = { method: method, headers: { Accept: 'application/json' }, credentials: 'omit',
      cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(apiBase + path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = null;
        }
        if (response.ok && data) {
          return data;
        }
        var error = data && data.error;
        throw new ApiError(
          (error && error.code) || 'HTTP_' + response.status,
          (error && error.description) || 'The payment service answered with an error (' +
            response.status + '). Please try again.',
          response.status);
      });
    }, function () {
      throw new ApiError('NETWORK_ERROR',
        'Could not reach the payment service. Check your connection and try again.', 0);
    });
  }

  // ---------------------------------------------------------------- validation (mirrors the API)
  function digitsOnly(value) {
    return String(value || '').replace(/\D/g, '');
  }

  function luhnValid(number) {
    var sum = 0;
    var double = false;
    for (var i = number.length - 1; i >= 0; i--) {
      var d = number.charCodeAt(i) - 48;
      if (double) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
      double = !double;
    }
    return sum % 10 === 0;
  }

  function cardNetwork(number) {
    if (/^4/.test(number)) { return 'visa'; }
    if (/^5[1-5]/.test(number)) { return 'mastercard'; }
    if (/^3[47]/.test(number)) { return 'amex'; }
    if (/^(60|65|8[1-9])/.test(number)) { return 'rupay'; }
    return '';
  }

  function parseExpiry(value) {
    var match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(String(value || ''));
    if (!match) {
      return null;
    }
    var month = parseInt(match[1], 10);
    var year = parseInt(match[2], 10);
    if (match[2].length === 2) {
      year += 2000;
    }
    return { month: month, year: year, yearText: match[2] };
  }

  function validateVpa(vpa) {
    if (!vpa) { return 'Enter your UPI ID'; }
    // The field shows whitespace inside (checkout-fields.js): never paid as another ID.
    if (/\s/.test(vpa)) { return 'A UPI ID has no spaces: remove the space'; }
    if (!VPA_PATTERN.test(vpa)) { return 'Enter a valid UPI ID, like name@bank'; }
    if (vpa.length > VPA_MAX_LENGTH) { return 'A UPI ID has at most ' + VPA_MAX_LENGTH + ' characters'; }
    return null;
  }

  function validateCardNumber(raw) {
    var number = String(raw || '').replace(/[\s-]/g, '');
    if (!number) { return 'Enter your card number'; }
    if (!/^\d{13,19}$/.test(number) || !luhnValid(number)) { return 'Enter a valid card number'; }
    return null;
  }

  function validateExpiry(raw) {
    if (!String(raw || '').trim()) { return 'Enter the expiry date'; }
    var expiry = parseExpiry(raw);
    if (!expiry || expiry.month < 1 || expiry.month > 12) { return 'Enter a valid expiry date (MM/YY)'; }
    var now = new Date();
    var year = now.getFullYear();
    var month = now.getMonth() + 1;
    if (expiry.year < year || (expiry.year === year && expiry.month < month)) {
      return 'This card has expired';
    }
    return null;
  }

  function validateCvv(raw) {
    if (!raw) { return 'Enter the CVV'; }
    if (!/^\d{3,4}$/.test(raw)) { return 'Enter a valid CVV (3 or 4 digits)'; }
    return null;
  }

  function validateHolder(raw) {
    return String(raw || '').trim() ? null : 'Enter the name on the card';
  }

  function setFieldError(input, message) {
    var error = $(input.id.replace(/-input$/, '') + '-error');
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (error) {
      error.textContent = message || '';
      error.hidden = !message;
    }
    return !message;
  }

  function clearFieldErrors() {
    [el.vpa, el.cardNumber, el.expiry, el.cvv, el.holder].forEach(function (input) {
      setFieldError(input, null);
    });
  }

  // ---------------------------------------------------------------- input formatting
  // What each key does to a field lives in checkout-fields.js (pure, unit-tested); it is wired
  // first, so the listeners below see the formatted value.
  window.PaygateCheckoutFields.attach({
    cardNumber: el.cardNumber,
    expiry: el.expiry,
    expiryMonth: $('expiry-month-autofill'),
    expiryYear: $('expiry-year-autofill'),
    cvv: el.cvv,
    vpa: el.vpa
  });

  el.cardNumber.addEventListener('input', function () {
    el.cardNetwork.textContent = cardNetwork(digitsOnly(el.cardNumber.value));
  });
  [el.vpa, el.cardNumber, el.expiry, el.cvv, el.holder].forEach(function (input) {
    input.addEventListener('input', function () {
      if (input.getAttribute('aria-invalid') === 'true') {
        setFieldError(input, null);
      }
    });
  });

  // ---------------------------------------------------------------- method switching
  function selectMethod(method) {
    if (!forms[method]) {
      return;
    }
    state.method = method;
    var buttons = document.querySelectorAll('[data-method]');
    for (var i = 0; i < buttons.length; i++) {
      var selected = buttons[i].getAttribute('data-method') === method;
      buttons[i].setAttribute('aria-selected', selected ? 'true' : 'false');
      buttons[i].classList.toggle('active', selected);
    }
    // Only the chosen form is in the document, so there is one pay-button at a time.
    Object.keys(forms).forEach(function (name) {
      var form = forms[name];
      if (name === method && !form.parentNode) {
        el.methodForm.appendChild(form);
      } else if (name !== method && form.parentNode) {
        form.parentNode.removeChild(form);
      }
    });
  }

  document.querySelector('[data-test-id="payment-methods"]').addEventListener('click', function (event) {
    var button = event.target.closest('[data-method]');
    if (button && !state.busy) {
      selectMethod(button.getAttribute('data-method'));
      var first = forms[state.method].querySelector('input');
      if (first) {
        first.focus();
      }
    }
  });

  // ---------------------------------------------------------------- paying
  function paymentBody() {
    if (state.method === 'upi') {
      var vpa = el.vpa.value.trim(); // a trailing space typed last is kept until now
      if (vpa !== el.vpa.value) {
        el.vpa.value = vpa; // show what is paid
      }
      if (!setFieldError(el.vpa, validateVpa(vpa))) {
        el.vpa.focus();
        return null;
      }
      return { order_id: orderId, method: 'upi', vpa: vpa };
    }
    var checks = [
      [el.cardNumber, validateCardNumber(el.cardNumber.value)],
      [el.expiry, validateExpiry(el.expiry.value)],
      [el.cvv, validateCvv(el.cvv.value)],
      [el.holder, validateHolder(el.holder.value)]
    ];
    var firstInvalid = null;
    checks.forEach(function (check) {
      if (!setFieldError(check[0], check[1]) && !firstInvalid) {
        firstInvalid = check[0];
      }
    });
    if (firstInvalid) {
      firstInvalid.focus();
      return null;
    }
    var expiry = parseExpiry(el.expiry.value);
    return {
      order_id: orderId,
      method: 'card',
      card: {
        number: el.cardNumber.value.replace(/[\s-]/g, ''),
        expiry_month: String(expiry.month).padStart(2, '0'),
        expiry_year: expiry.yearText,
        cvv: el.cvv.value,
        holder_name: el.holder.value.trim()
      }
    };
  }

  function submit(event) {
    event.preventDefault();
    if (state.busy || !state.order) {
      return;
    }
    var body = paymentBody();
    if (!body) {
      return;
    }
    setBusy(true);
    show('processing');
    api('POST', '/api/v1/payments/public', body).then(function (payment) {
      setBusy(false);
      track(payment.id, Date.now());
    }, function (error) {
      setBusy(false);
      refused(error);
    });
  }

  el.upiForm.addEventListener('submit', submit);
  el.cardForm.addEventListener('submit', submit);

  function stopPolling() {
    if (state.pollTimer) {
      clearTimeout(state.pollTimer);
      state.pollTimer = null;
    }
  }

  /** Poll the payment every 2 s until it settles. */
  function track(paymentId, startedAt) {
    stopPolling();
    state.pollTimer = setTimeout(function poll() {
      state.pollTimer = null;
      api('GET', '/api/v1/payments/' + encodeURIComponent(paymentId) + '/public').then(function (payment) {
        if (payment.status === 'success') {
          succeeded(payment);
        } else if (payment.status === 'failed') {
          failed(payment);
        } else {
          again();
        }
      }, function (error) {
        if (error.status === 404) {
          showError('Payment failed', error.description, backToForm);
        } else {
          again(); // a network blip or a 5xx: keep asking
        }
      });

      function again() {
        if (Date.now() - startedAt > POLL_GIVE_UP_MS) {
          showError('Still processing',
            'We could not confirm this payment yet. Do not pay again: payment ' + paymentId +
            ' will be settled by your bank shortly.', null);
          return;
        }
        state.pollTimer = setTimeout(poll, POLL_INTERVAL_MS);
      }
    }, POLL_INTERVAL_MS);
  }

  /** A payment the API did not accept. An order takes one payment at a time and none once paid
   *  (another tab, a double click): say so instead of inviting a second charge. */
  function refused(error) {
    if (error.description === ORDER_PAID) {
      showAlreadyPaid();
    } else if (error.description === ORDER_IN_PROGRESS) {
      showError('Payment in progress',
        'A payment for this order is still being processed, perhaps in another window. ' +
        'Wait for it to finish before paying again.', loadOrder);
    } else {
      showError('Payment not accepted', error.description, backToForm);
    }
  }

  function showAlreadyPaid() {
    var amount = state.order ? formatAmount(state.order.amount, state.order.currency) : '';
    showError('Already paid', 'This order has already been paid' + (amount ? ' (' + amount + ')' : '') +
      '. Nothing more is due.', null);
  }

  function succeeded(payment) {
    el.paymentId.textContent = payment.id;
    el.successAmount.textContent = formatAmount(payment.amount, payment.currency) + ' paid to ' +
      (state.order.merchant_name || 'the merchant');
    show('success');
    var data = { paymentId: payment.id, orderId: payment.order_id || orderId, status: payment.status };
    setTimeout(function () { notifyParent('payment_success', data); }, SUCCESS_NOTIFY_DELAY_MS);
  }

  function failed(payment) {
    var error = {
      code: payment.error_code || 'PAYMENT_FAILED',
      description: payment.error_description || 'Payment processing failed'
    };
    showError('Payment failed',
      error.description + '. Please try again or use another payment method.', backToForm);
    notifyParent('payment_failed', { paymentId: payment.id, error: error });
  }

  function backToForm(focus) {
    clearFieldErrors();
    show('form');
    selectMethod(state.method);
    var first = forms[state.method].querySelector('input');
    if (first && focus !== false) {
      first.focus();
    }
  }

  el.retry.addEventListener('click', function () {
    if (state.retryAction) {
      state.retryAction();
    }
  });

  el.cancel.addEventListener('click', function () {
    stopPolling();
    notifyParent('close_modal', {});
  });

  // In the SDK's modal the focus is in this frame, so Escape arrives here: ask to be closed,
  // unless a payment is under way.
  document.addEventListener('keydown', function (event) {
    if ((event.key === 'Escape' || event.key === 'Esc') && embedded &&
        el.processing.hidden && el.success.hidden) {
      notifyParent('close_modal', {});
    }
  });

  // ---------------------------------------------------------------- loading the order
  function renderOrder(order) {
    state.order = order;
    var amount = formatAmount(order.amount, order.currency);
    el.amount.textContent = amount;
    el.orderId.textContent = order.id;
    var name = order.merchant_name || 'Paygate merchant';
    el.merchantName.textContent = name;
    el.merchantLogo.textContent = name.trim().charAt(0).toUpperCase() || 'P';
    document.title = 'Pay ' + amount + ' to ' + name + ' \u00B7 Paygate';
    var buttons = [el.upiForm, el.cardForm].map(function (form) {
      return form.querySelector('[data-test-id="pay-button"]');
    });
    buttons.forEach(function (button) { button.textContent = 'Pay ' + amount; });
  }

  function loadOrder() {
    show('loading');
    if (!orderId) {
      showError('Nothing to pay', 'This checkout link has no order id (order_id).', null);
      return;
    }
    el.orderId.textContent = orderId;
    if (!apiBase) {
      showError('Checkout unavailable', 'The checkout is not configured (no API URL).', null);
      return;
    }
    api('GET', '/api/v1/orders/' + encodeURIComponent(orderId) + '/public').then(function (order) {
      renderOrder(order);
      if (order.status === 'paid') {
        showAlreadyPaid();
        return;
      }
      // Focus the first field for mouse and keyboard users; on phones that would pop up the
      // keyboard over the order summary.
      backToForm(!window.matchMedia || window.matchMedia('(pointer: fine)').matches);
    }, function (error) {
      showError('Could not load this order', error.description, loadOrder);
    });
  }

  if (embedded) {
    document.body.classList.add('embedded');
  }
  selectMethod('upi');
  loadOrder();
})();
