/*
 * Paygate dashboard: runtime config, the signed-in session, the API client, formatting and the
 * small UI helpers every page shares. Loaded synchronously in <head> right after /config.js so a
 * signed-out visitor is sent to /login before anything renders.
 */
(function (global) {
  "use strict";

  var config = global.PAYGATE_CONFIG || {};
  var API_BASE = String(config.apiBaseUrl || "http://localhost:8000").replace(/\/+$/, "");
  var CHECKOUT_URL = String(config.checkoutUrl || "http://localhost:3001").replace(/\/+$/, "");
  var TOKEN_KEY = "paygate.dashboard.token";
  var MERCHANT_KEY = "paygate.dashboard.merchant";

  // ---------------------------------------------------------------- session
  function storage() {
    try { return global.sessionStorage; } catch (e) { return null; }
  }

  var session = {
    token: function () {
      var s = storage();
      return s ? s.getItem(TOKEN_KEY) : null;
    },
    merchant: function () {
      var s = storage();
      try { return JSON.parse((s && s.getItem(MERCHANT_KEY)) || "null"); } catch (e) { return null; }
    },
    save: function (token, merchant) {
      var s = storage();
      if (!s || !token) return;
      s.setItem(TOKEN_KEY, token);
      s.setItem(MERCHANT_KEY, JSON.stringify(merchant || null));
    },
    /** Refresh the stored profile, only while signed in (a late response after sign-out must
     *  not bring the session back). */
    update: function (fields) {
      var s = storage();
      if (!s || !s.getItem(TOKEN_KEY)) return;
      s.setItem(MERCHANT_KEY, JSON.stringify(Object.assign(session.merchant() || {}, fields)));
    },
    clear: function () {
      var s = storage();
      if (!s) return;
      s.removeItem(TOKEN_KEY);
      s.removeItem(MERCHANT_KEY);
    },
  };

  function signOut(reason) {
    session.clear();
    global.location.replace("/login" + (reason ? "?" + reason + "=1" : ""));
  }

  // ---------------------------------------------------------------- API client
  function ApiError(status, code, description) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.description = description;
    this.message = description;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function uuid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); });
    return [hex.slice(0, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10), hex.slice(10)]
      .map(function (part) { return part.join(""); }).join("-");
  }

  /**
   * Call the API. Resolves with the parsed JSON body; rejects with an ApiError carrying the
   * envelope's code and description. With `auth` (the default) the bearer token is sent and a
   * 401 ends the session and returns to /login.
   */
  function request(method, path, options) {
    options = options || {};
    var auth = options.auth !== false;
    var headers = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    else if (options.idempotent) headers["Idempotency-Key"] = uuid();
    if (auth) {
      var token = session.token();
      if (!token) {
        signOut();
        return Promise.reject(new ApiError(401, "AUTHENTICATION_ERROR", "Not signed in"));
      }
      headers.Authorization = "Bearer " + token;
    }
    var init = { method: method, headers: headers, cache: "no-store", credentials: "omit" };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);

    return fetch(API_BASE + path, init).then(
      function (response) {
        return response.text().then(function (text) {
          var body = null;
          if (text) {
            try { body = JSON.parse(text); } catch (e) { body = null; }
          }
          if (response.ok) return body;
          var error = (body && body.error) || {};
          var description = error.description || (body && body.message) ||
            "Request failed (HTTP " + response.status + ")";
          if (response.status === 401 && auth) signOut("expired");
          throw new ApiError(response.status, error.code || "HTTP_" + response.status, description);
        });
      },
      function () {
        throw new ApiError(0, "NETWORK_ERROR", "Cannot reach the Paygate API at " + API_BASE + ".");
      }
    );
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      if (params[key] !== undefined && params[key] !== null) {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(params[key]));
      }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // ---------------------------------------------------------------- formatting
  // ISO 4217 exponents of the currencies Paygate accepts (the same table as paygate/money.py
  // and the checkout; a unit test keeps the three equal). Amounts are integers in the minor unit.
  var CURRENCY_EXPONENTS = {
    INR: 2, USD: 2, EUR: 2, GBP: 2, SGD: 2, AED: 2, AUD: 2, CAD: 2, CHF: 2, CNY: 2, HKD: 2,
    NZD: 2, SEK: 2, NOK: 2, DKK: 2, ZAR: 2, MYR: 2, THB: 2, SAR: 2, QAR: 2, LKR: 2, NPR: 2,
    BDT: 2, MXN: 2, BRL: 2,
    JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0,
    KWD: 3, BHD: 3, OMR: 3, JOD: 3, TND: 3,
  };
  var formats = {};

  function exponentOf(currency) {
    return Object.prototype.hasOwnProperty.call(CURRENCY_EXPONENTS, currency) ? CURRENCY_EXPONENTS[currency] : 2;
  }

  /** INR keeps Indian grouping (₹5,00,000); other currencies the international one (¥5,000,000). */
  function formatter(currency, digits, compact) {
    var key = currency + "/" + digits + "/" + (compact ? "c" : "");
    if (!formats[key]) {
      var options = { style: "currency", currency: currency,
        minimumFractionDigits: digits, maximumFractionDigits: digits };
      if (compact) {
        options = { style: "currency", currency: currency, notation: "compact", maximumFractionDigits: 1 };
      }
      try {
        formats[key] = new Intl.NumberFormat(currency === "INR" ? "en-IN" : "en-US", options);
      } catch (e) { // a code this browser's Intl does not know
        formats[key] = { format: function (n) { return currency + " " + n.toFixed(digits); } };
      }
    }
    return formats[key];
  }

  /** An amount in the minor unit of `currency` (INR by default), with that currency's exponent:
   *  (50000000, INR) -> "₹5,00,000"; (49950, INR) -> "₹499.50"; (50000, JPY) -> "¥50,000";
   *  (1500, KWD) -> "KWD 1.500". With `fixed`, always every decimal ("₹500.00"), as the
   *  checkout shows amounts. */
  function money(minor, currency, fixed) {
    currency = currency || "INR";
    var digits = exponentOf(currency);
    var value = Math.round(Number(minor) || 0);
    var scale = Math.pow(10, digits);
    var shown = fixed || value % scale !== 0 ? digits : 0;
    return formatter(currency, shown).format(value / scale);
  }

  /** Short axis labels: ₹950, ₹12K, ₹3.4L, ₹1.2Cr; ¥12K, $3.4M for other currencies. */
  function moneyCompact(minor, currency) {
    currency = currency || "INR";
    var major = (Number(minor) || 0) / Math.pow(10, exponentOf(currency));
    if (currency !== "INR") return formatter(currency, 0, true).format(major);
    function trim(n) { return String(Math.round(n * 10) / 10); }
    if (major >= 1e7) return "₹" + trim(major / 1e7) + "Cr";
    if (major >= 1e5) return "₹" + trim(major / 1e5) + "L";
    if (major >= 1e3) return "₹" + trim(major / 1e3) + "K";
    return "₹" + Math.round(major);
  }

  /** Text typed as an amount in major units ("250", "250.50", "1,000") -> minor units, or null
   *  when it has more decimals than the currency has. */
  function parseMoney(text, currency) {
    currency = currency || "INR";
    var digits = exponentOf(currency);
    // Grouping, spaces and a leading symbol or code ("₹", "KWD") are what people type around it.
    var clean = String(text || "").replace(/[\s,]/g, "");
    if (clean.toUpperCase().indexOf(currency) === 0) clean = clean.slice(currency.length);
    clean = clean.replace(/^[^\w.]/, "");
    var pattern = digits ? new RegExp("^\\d+(\\.\\d{1," + digits + "})?$") : /^\d+$/;
    if (!pattern.test(clean)) return null;
    var parts = clean.split(".");
    var fraction = ((parts[1] || "") + "000").slice(0, digits);
    return parseInt(parts[0], 10) * Math.pow(10, digits) + (digits ? parseInt(fraction, 10) : 0);
  }

  /** Minor units as a plain major-unit number for an input field: (25050, INR) -> "250.50". */
  function moneyInput(minor, currency) {
    var digits = exponentOf(currency || "INR");
    return ((Number(minor) || 0) / Math.pow(10, digits)).toFixed(digits);
  }

  function percent(rate) {
    var value = Number(rate) || 0;
    var rounded = Math.round(value);
    // Never claim 100% (or 0%) when it is not exactly so.
    if ((rounded === 100 && value < 100) || (rounded === 0 && value > 0)) {
      return (Math.floor(value * 10) / 10 || 0.1) + "%";
    }
    return rounded + "%";
  }

  var dateTime = new Intl.DateTimeFormat("en-IN", {
    day: "2-digit", month: "short", year: "numeric", hour: "numeric", minute: "2-digit",
    hour12: true,
  });

  function parseTime(value) {
    if (value === null || value === undefined || value === "") return null;
    var date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return isNaN(date.getTime()) ? null : date;
  }

  function formatDate(value) {
    var date = parseTime(value);
    return date ? dateTime.format(date) : "—";
  }

  function relative(value) {
    var date = parseTime(value);
    if (!date) return "";
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    var abs = Math.abs(seconds);
    var unit = abs < 60 ? [seconds, "second"] : abs < 3600 ? [Math.round(seconds / 60), "minute"]
      : abs < 86400 ? [Math.round(seconds / 3600), "hour"] : [Math.round(seconds / 86400), "day"];
    return new Intl.RelativeTimeFormat("en", { numeric: "auto" }).format(unit[0], unit[1]);
  }

  // ---------------------------------------------------------------- DOM helpers
  /** el("td", {class: "x", dataset: {testId: "amount"}}, "text", child, ...) */
  function el(tag, attrs) {
    var node = tag.indexOf("svg:") === 0
      ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
      : document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "dataset") {
        Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      } else if (key === "text") {
        node.textContent = value;
      } else if (key.indexOf("on") === 0 && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else {
        node.setAttribute(key === "className" ? "class" : key, value === true ? "" : value);
      }
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function byTestId(id, root) {
    return (root || document).querySelector('[data-test-id="' + id + '"]');
  }

  /** A status pill whose text is the status exactly (`success`, `pending`, ...). */
  function badge(status, testId) {
    var s = String(status || "unknown").toLowerCase();
    return el("span", { class: "badge badge-" + s.replace(/[^a-z]/g, ""), text: s,
      dataset: testId ? { testId: testId } : {} });
  }

  /** The payment method (text exactly `upi` or `card`, shown upper-cased by CSS) and, below it,
   *  the VPA or the card network with the last four digits. Returns nodes for a table cell. */
  function method(payment, testId) {
    var kind = String(payment.method || "").toLowerCase();
    var detail = "";
    if (kind === "upi") detail = payment.vpa || "";
    if (kind === "card") {
      var network = payment.card_network && payment.card_network !== "unknown"
        ? payment.card_network.charAt(0).toUpperCase() + payment.card_network.slice(1) : "Card";
      detail = network + (payment.card_last4 ? " •••• " + payment.card_last4 : "");
    }
    return [
      el("span", { class: "method-name", dataset: testId ? { testId: testId } : {}, text: kind || "—" }),
      detail ? el("span", { class: "sub", text: detail }) : null,
    ];
  }

  var toastBox = null;
  function toast(message, kind) {
    if (!toastBox) {
      toastBox = el("div", { class: "toasts", role: "status", "aria-live": "polite" });
      document.body.appendChild(toastBox);
    }
    var item = el("div", { class: "toast " + (kind || ""), dataset: { testId: "toast" } }, message);
    toastBox.appendChild(item);
    setTimeout(function () { item.remove(); }, kind === "error" ? 7000 : 4000);
  }

  function copy(text) {
    function fallback() {
      var area = el("textarea", { "aria-hidden": "true", readonly: true });
      area.value = text;
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
    }
    var attempt = navigator.clipboard && global.isSecureContext
      ? navigator.clipboard.writeText(text).catch(fallback) : fallback();
    return attempt.then(
      function () { toast("Copied to clipboard", "success"); },
      function () { toast("Could not copy: select the text and copy it manually", "error"); }
    );
  }

  /** Ask in the page's `confirm-dialog` (title, text, the action's button label); resolves
   *  true when confirmed, false when cancelled (Cancel, Escape). */
  function confirmAction(title, text, action) {
    var dialog = byTestId("confirm-dialog");
    byTestId("confirm-title").textContent = title;
    byTestId("confirm-text").textContent = text;
    byTestId("confirm-button").textContent = action;
    return new Promise(function (resolve) {
      function done(answer) {
        byTestId("confirm-button").removeEventListener("click", yes);
        byTestId("confirm-cancel-button").removeEventListener("click", no);
        dialog.removeEventListener("cancel", no);
        if (dialog.open) dialog.close();
        resolve(answer);
      }
      function yes() { done(true); }
      function no() { done(false); }
      byTestId("confirm-button").addEventListener("click", yes);
      byTestId("confirm-cancel-button").addEventListener("click", no);
      dialog.addEventListener("cancel", no);
      dialog.showModal();
    });
  }

  /** Run `work` (returning a promise) with `button` disabled and spinning. */
  function busy(button, work) {
    button.disabled = true;
    button.classList.add("busy");
    button.setAttribute("aria-busy", "true");
    return Promise.resolve().then(work).finally(function () {
      button.disabled = false;
      button.classList.remove("busy");
      button.removeAttribute("aria-busy");
    });
  }

  /**
   * A list whose requests may overlap (a pager click while a refresh is on its way): only the
   * latest request's answer is shown. `var listing = latest();` then
   * `listing(P.get(...), onAnswer, onError)`: the handlers run only if no later request was made
   * meanwhile; the returned promise settles either way.
   */
  function latest() {
    var made = 0;
    return function (request, onAnswer, onError) {
      var mine = ++made;
      return request.then(function (answer) {
        if (mine === made) return onAnswer(answer);
      }, function (error) {
        if (mine === made) return onError(error);
      });
    };
  }

  var MAX_OFFSET = 10000; // the API's deepest offset (400 past it)

  /** Pagination state kept in the page's query string so a reload stays on the same page; a
   *  page past the API's deepest offset (an edited address) is the deepest one. */
  function pageState(defaultLimit) {
    var params = new URLSearchParams(global.location.search);
    var limit = parseInt(params.get("limit"), 10);
    var page = parseInt(params.get("page"), 10);
    limit = [10, 25, 50, 100].indexOf(limit) >= 0 ? limit : defaultLimit || 10;
    return {
      limit: limit,
      page: page > 0 ? Math.min(page, Math.floor(MAX_OFFSET / limit) + 1) : 1,
      save: function () {
        var next = new URLSearchParams(global.location.search);
        next.set("page", this.page);
        next.set("limit", this.limit);
        global.history.replaceState(null, "", global.location.pathname + "?" + next.toString());
      },
    };
  }

  /** Fill a `.table-foot` pager: "Showing 1–10 of 42", prev/next, page size. */
  function renderPager(foot, state, total, onChange) {
    var info = byTestId("page-info", foot);
    var prev = byTestId("prev-page-button", foot);
    var next = byTestId("next-page-button", foot);
    var size = foot.querySelector("select");
    var first = total ? (state.page - 1) * state.limit + 1 : 0;
    var last = Math.min(total, state.page * state.limit);
    info.textContent = total ? "Showing " + first + "–" + last + " of " + total : "No results";
    prev.disabled = state.page <= 1;
    next.disabled = last >= total || state.page * state.limit > MAX_OFFSET;
    if (size) size.value = String(state.limit);
    if (!foot.dataset.bound) {
      foot.dataset.bound = "1";
      prev.addEventListener("click", function () { state.page = Math.max(1, state.page - 1); onChange(); });
      next.addEventListener("click", function () { state.page += 1; onChange(); });
      if (size) {
        size.addEventListener("change", function () {
          state.limit = parseInt(size.value, 10);
          state.page = 1;
          onChange();
        });
      }
    }
  }

  // ---------------------------------------------------------------- page shell
  function isTestKey(merchant) {
    return merchant && /^key_test_/.test(merchant.api_key || "");
  }

  var shellReady = false;

  function initShell() {
    if (shellReady) return; // several page scripts may share one page
    shellReady = true;
    var merchant = session.merchant() || {};
    var name = document.querySelector("[data-account-name]");
    var email = document.querySelector("[data-account-email]");
    var avatar = document.querySelector("[data-account-avatar]");
    if (name) name.textContent = merchant.name || "Merchant";
    if (email) email.textContent = merchant.email || "";
    if (avatar) avatar.textContent = (merchant.name || merchant.email || "M").trim().charAt(0).toUpperCase();
    document.querySelectorAll("[data-test-mode]").forEach(function (node) {
      node.hidden = !isTestKey(merchant);
    });
    var here = global.location.pathname.replace(/\/+$/, "") || "/";
    document.querySelectorAll(".nav a").forEach(function (link) {
      var target = link.getAttribute("href").replace(/\/+$/, "");
      if (target === here) link.setAttribute("aria-current", "page");
    });
    var logout = byTestId("logout-button");
    if (logout) logout.addEventListener("click", function () { signOut(); });
  }

  /** For signed-in pages: run `init` once the DOM is ready, or go to /login. */
  function page(init) {
    if (!session.token()) return;
    function start() {
      initShell();
      init();
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }

  // Signed-in pages carry <html data-auth="required">: leave at once when there is no session.
  if (document.documentElement.getAttribute("data-auth") === "required" && !session.token()) {
    global.location.replace("/login");
  }

  global.Paygate = {
    config: { apiBaseUrl: API_BASE, checkoutUrl: CHECKOUT_URL },
    session: session,
    signOut: signOut,
    ApiError: ApiError,
    request: request,
    get: function (path, params) { return request("GET", path + query(params || {})); },
    post: function (path, body, options) {
      return request("POST", path, Object.assign({ body: body }, options || {}));
    },
    put: function (path, body) { return request("PUT", path, { body: body }); },
    patch: function (path, body) { return request("PATCH", path, { body: body }); },
    del: function (path) { return request("DELETE", path); },
    confirm: confirmAction,
    uuid: uuid,
    money: money,
    moneyCompact: moneyCompact,
    parseMoney: parseMoney,
    moneyInput: moneyInput,
    exponentOf: exponentOf,
    percent: percent,
    formatDate: formatDate,
    parseTime: parseTime,
    relative: relative,
    el: el,
    byTestId: byTestId,
    badge: badge,
    method: method,
    toast: toast,
    copy: copy,
    busy: busy,
    latest: latest,
    pageState: pageState,
    renderPager: renderPager,
    page: page,
  };
})(window);
