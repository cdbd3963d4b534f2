/* /dashboard/webhooks: the webhook URL (the default endpoint), its signing secret, test delivery,
 * the delivery log (each delivery's endpoint) with retry and a detail view. The log refreshes
 * itself while any delivery on the page is pending. The Endpoints card
 * (webhook-endpoints.js) and this one tell each other of changes through DOM events. */
(function () {
  "use strict";

  var P = window.Paygate;
  var POLL_MS = 2000;
  var state = P.pageState(10);
  var timer = null;
  var listing = P.latest();
  var rows = {}; // id -> log on the current page
  var openId = null; // the log shown in the detail view
  var highlight = null; // a log to flash when it appears
  var highlightTries = 0;
  var endpointsById = {}; // from the Endpoints card, to name each delivery's endpoint
  var shown = []; // the logs of the current page

  // ---------------------------------------------------------------- endpoint and secret
  /** Show (or clear) the form's error; `invalid` marks the URL field as the cause. */
  function showConfigError(message, invalid) {
    var node = P.byTestId("webhook-config-error");
    node.textContent = message || "";
    node.hidden = !message;
    P.byTestId("webhook-url-input").setAttribute("aria-invalid", message && invalid ? "true" : "false");
  }

  /** While a regenerated secret's predecessor still signs deliveries, say until when. */
  function showPreviousExpiry(expiresAt) {
    var node = P.byTestId("previous-secret-expiry");
    var when = expiresAt ? P.parseTime(expiresAt) : null;
    if (!when || when.getTime() <= Date.now()) {
      node.hidden = true;
      node.textContent = "";
      return;
    }
    node.hidden = false;
    node.title = expiresAt;
    node.textContent = "The previous secret also signs deliveries until " + P.formatDate(expiresAt) +
      " (" + P.relative(expiresAt) + ").";
  }

  function showConfig(config) {
    P.byTestId("webhook-url-input").value = config.webhook_url || "";
    if (config.webhook_secret) P.byTestId("webhook-secret").textContent = config.webhook_secret;
    showPreviousExpiry(config.previous_secret_expires_at);
  }

  function loadConfig() {
    return P.get("/api/v1/webhooks/config").then(showConfig, function (error) {
      P.byTestId("webhook-secret").textContent = "Unavailable";
      showConfigError("Could not load webhook settings: " + error.description);
    });
  }

  function save(event) {
    event.preventDefault();
    showConfigError("");
    var url = P.byTestId("webhook-url-input").value.trim();
    P.busy(P.byTestId("save-webhook-button"), function () {
      return P.put("/api/v1/webhooks/config", { webhook_url: url }).then(function (config) {
        showConfig(config);
        document.dispatchEvent(new CustomEvent("paygate:endpoints-changed"));
        P.toast(config.webhook_url ? "Webhook URL saved" : "Webhook URL removed: deliveries stopped", "success");
      }, function (error) {
        showConfigError(error.description, error.status === 400);
      });
    });
  }

  function regenerate() {
    P.busy(P.byTestId("regenerate-secret-button"), function () {
      return P.post("/api/v1/webhooks/secret/regenerate", {}).then(function (body) {
        P.byTestId("webhook-secret").textContent = body.webhook_secret;
        showPreviousExpiry(body.previous_secret_expires_at);
        P.toast("New signing secret generated. The previous one keeps working until " +
          P.formatDate(body.previous_secret_expires_at) + ": update your server before then.", "success");
      }, function (error) {
        P.toast("Could not regenerate the secret: " + error.description, "error");
      });
    });
  }

  function sendTest() {
    P.busy(P.byTestId("test-webhook-button"), function () {
      return P.post("/api/v1/webhooks/test", {}).then(function (body) {
        P.toast("Test webhook queued (" + body.id + ")", "success");
        highlight = body.id;
        highlightTries = 0;
        state.page = 1;
        load();
      }, function (error) {
        P.toast("Could not send a test webhook: " + error.description, "error");
      });
    });
  }

  // ---------------------------------------------------------------- log
  function retry(id, button) {
    P.busy(button, function () {
      return P.post("/api/v1/webhooks/" + encodeURIComponent(id) + "/retry", {}).then(function (body) {
        P.toast(body.message || "Webhook retry scheduled", "success");
        highlight = id;
        highlightTries = 0;
        load();
      }, function (error) {
        P.toast("Retry failed: " + error.description, "error");
      });
    });
  }

  function responseCode(code) {
    if (code === null || code === undefined || code === "") return "—";
    return String(code);
  }

  function nextRetry(log) {
    if (log.status !== "pending" || !log.next_retry_at) return "—";
    var when = P.parseTime(log.next_retry_at);
    if (when && when.getTime() <= Date.now()) return "due now";
    return P.relative(log.next_retry_at);
  }

  /** The delivery's endpoint: its URL when the Endpoints card knows it. */
  function endpointName(log) {
    var endpoint = endpointsById[log.endpoint_id];
    if (endpoint) return endpoint.description || endpoint.url;
    return log.endpoint_id ? "Deleted endpoint" : "—";
  }

  function endpointTitle(log) {
    var endpoint = endpointsById[log.endpoint_id];
    return endpoint ? endpoint.url : log.endpoint_id || "";
  }

  function row(log) {
    var code = log.response_code;
    var ok = code !== null && code !== undefined && code >= 200 && code < 300;
    var tr = P.el("tr", { class: "clickable", dataset: { testId: "webhook-log-item", webhookId: log.id, status: log.status } },
      P.el("td", { "data-label": "Event", class: "wide" },
        P.el("span", { class: "mono", dataset: { testId: "webhook-event" }, text: log.event }),
        P.el("span", { class: "sub", text: P.formatDate(log.created_at) })),
      P.el("td", { class: "endpoint-cell", "data-label": "Endpoint", title: endpointTitle(log),
        dataset: { testId: "webhook-endpoint", endpointId: log.endpoint_id || "" }, text: endpointName(log) }),
      P.el("td", { "data-label": "Status", dataset: { testId: "webhook-status" } }, P.badge(log.status)),
      P.el("td", { class: "num", "data-label": "Attempts", dataset: { testId: "webhook-attempts" },
        text: String(log.attempts || 0) }),
      P.el("td", { "data-label": "Last attempt", dataset: { testId: "webhook-last-attempt" }, title: log.last_attempt_at || "",
        text: log.last_attempt_at ? P.formatDate(log.last_attempt_at) : "—" }),
      P.el("td", { class: code === null || code === undefined ? "" : ok ? "code-2xx" : "code-err", "data-label": "Response",
        dataset: { testId: "webhook-response-code" }, text: responseCode(code) }),
      P.el("td", { "data-label": "Next retry", title: log.next_retry_at ? P.formatDate(log.next_retry_at) : "",
        text: nextRetry(log) }),
      P.el("td", { class: "actions" },
        P.el("button", { type: "button", class: "btn btn-sm", dataset: { testId: "view-webhook-button", webhookId: log.id },
          text: "Details", onclick: function (e) { e.stopPropagation(); openDetail(log.id); } }),
        P.el("button", { type: "button", class: "btn btn-sm", dataset: { testId: "retry-webhook-button", webhookId: log.id },
          text: "Retry", onclick: function (e) { e.stopPropagation(); retry(log.id, e.currentTarget); } })));
    tr.addEventListener("click", function () { openDetail(log.id); });
    if (highlight === log.id) {
      tr.classList.add("flash");
      highlight = null;
    }
    return tr;
  }

  function load() {
    clearTimeout(timer);
    var body = P.byTestId("webhook-logs-body");
    var status = P.byTestId("webhook-logs-status");
    var params = { limit: state.limit, offset: (state.page - 1) * state.limit };
    return listing(P.get("/api/v1/webhooks", params), function (page) {
      var data = page.data || [];
      var total = page.total || 0;
      if (!data.length && total > 0 && state.page > 1) {
        state.page = Math.max(1, Math.ceil(total / state.limit));
        return load();
      }
      state.save();
      rows = {};
      shown = data;
      data.forEach(function (log) { rows[log.id] = log; });
      if (!data.length) {
        body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 8, class: "empty" },
          P.el("strong", { text: "No deliveries yet" }),
          "Save a URL and send a test webhook, or make a payment, to see deliveries here.")));
      } else {
        body.replaceChildren.apply(body, data.map(row));
      }
      P.renderPager(P.byTestId("pagination"), state, total, load);
      if (openId && rows[openId]) renderDetail(rows[openId]);
      var pending = data.some(function (log) { return log.status === "pending"; });
      status.textContent = pending ? "Auto-refreshing while deliveries are pending…" : "";
      if (highlight && !rows[highlight] && ++highlightTries > 5) highlight = null;
      if (pending || highlight) timer = setTimeout(load, POLL_MS);
    }, function (error) {
      body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 8, class: "empty" },
        P.el("strong", { text: "Could not load the delivery log" }), error.description)));
      status.textContent = "";
    });
  }

  // ---------------------------------------------------------------- detail view
  function pretty(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "string") {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
    }
    return JSON.stringify(value, null, 2);
  }

  function renderDetail(log) {
    function set(id, value) { P.byTestId(id).textContent = value; }
    set("webhook-detail-event", log.event);
    set("webhook-detail-id", log.id);
    P.byTestId("webhook-detail-status").replaceChildren(P.badge(log.status));
    set("webhook-detail-attempts", String(log.attempts || 0) + " of 5");
    set("webhook-detail-created", P.formatDate(log.created_at));
    set("webhook-detail-last-attempt", log.last_attempt_at
      ? P.formatDate(log.last_attempt_at) + " (" + P.relative(log.last_attempt_at) + ")" : "Not attempted yet");
    set("webhook-detail-next-retry", log.status === "pending" && log.next_retry_at
      ? P.formatDate(log.next_retry_at) + " (" + P.relative(log.next_retry_at) + ")" : "—");
    set("webhook-detail-response-code", responseCode(log.response_code));
    set("webhook-detail-payload", pretty(log.payload));
    set("webhook-detail-response", pretty(log.response_body));
    P.byTestId("webhook-detail-retry-button").dataset.webhookId = log.id;
  }

  function openDetail(id) {
    var log = rows[id];
    if (!log) return;
    openId = id;
    renderDetail(log);
    var dialog = P.byTestId("webhook-detail");
    if (!dialog.open) dialog.showModal();
  }

  P.page(function () {
    P.byTestId("webhook-config-form").addEventListener("submit", save);
    P.byTestId("regenerate-secret-button").addEventListener("click", regenerate);
    P.byTestId("test-webhook-button").addEventListener("click", sendTest);
    P.byTestId("refresh-webhooks-button").addEventListener("click", load);
    P.byTestId("copy-webhook-secret-button").addEventListener("click", function () {
      P.copy(P.byTestId("webhook-secret").textContent);
    });
    var dialog = P.byTestId("webhook-detail");
    dialog.querySelectorAll("[data-close]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.close(); });
    });
    dialog.addEventListener("close", function () { openId = null; });
    P.byTestId("webhook-detail-retry-button").addEventListener("click", function (event) {
      retry(event.currentTarget.dataset.webhookId, event.currentTarget);
    });
    document.addEventListener("paygate:endpoints", function (event) {
      endpointsById = {};
      event.detail.forEach(function (endpoint) { endpointsById[endpoint.id] = endpoint; });
      var body = P.byTestId("webhook-logs-body");
      if (shown.length) body.replaceChildren.apply(body, shown.map(row));
    });
    document.addEventListener("paygate:webhook-config-changed", loadConfig);
    document.addEventListener("paygate:deliveries-changed", function () { state.page = 1; load(); });
    loadConfig();
    load();
    document.addEventListener("visibilitychange", function () { if (!document.hidden) load(); });
  });
})();
