/* /dashboard/webhooks, the Events card: the merchant's events (the events API, newest first,
 * by type, a page at a time), and for one event its payload and its delivery to each endpoint,
 * with a retry per delivery. The deliveries refresh themselves while one is pending. */
(function () {
  "use strict";

  var P = window.Paygate;
  var PAGE = 10;
  var POLL_MS = 2000;
  var cursor = null; // the last event shown, to continue after
  var listedType = ""; // the filter of the list shown: "Load more" continues that list
  var shown = 0;
  var openEvent = null;
  var timer = null;
  var endpointsById = {};
  var listing = P.latest(); // a filter changed (or a refresh) since a request: its answer is dropped

  // ---------------------------------------------------------------- the list
  function row(event) {
    var tr = P.el("tr", { class: "clickable", dataset: { testId: "event-row", eventId: event.id, type: event.event } },
      P.el("td", { "data-label": "Event", class: "wide" },
        P.el("span", { class: "mono", dataset: { testId: "event-type" }, text: event.event })),
      P.el("td", { "data-label": "Created", title: event.created_at, dataset: { testId: "event-created" },
        text: P.formatDate(event.created_at) }),
      P.el("td", { "data-label": "Id" }, P.el("span", { class: "id", dataset: { testId: "event-id" }, text: event.id })));
    tr.addEventListener("click", function () { open(event); });
    return tr;
  }

  function load(more) {
    var body = P.byTestId("events-body");
    var button = P.byTestId("load-more-events-button");
    if (more && !cursor) return Promise.resolve();
    if (!more) {
      // A new list is on its way: the one shown has nothing more to load (its cursor and
      // filter would append another filter's events to it), and under another filter its rows
      // are not what the filter names: they go while the new ones load.
      var chosen = P.byTestId("event-type-filter").value;
      if (chosen !== listedType) {
        body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 3, class: "empty",
          dataset: { testId: "events-loading" }, text: "Loading…" })));
        P.byTestId("events-info").textContent = "";
      }
      listedType = chosen;
      cursor = null;
      button.hidden = true;
    }
    var type = listedType;
    var params = { limit: PAGE, type: type || null, starting_after: more ? cursor : null };
    return listing(P.get("/api/v1/events", params), function (page) {
      var data = page.data || [];
      if (!more) {
        shown = 0;
        body.replaceChildren();
      }
      if (!more && !data.length) {
        body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 3, class: "empty" },
          P.el("strong", { text: "No events yet" }),
          type ? "No " + type + " event in the last 30 days." : "Make a payment or send a test webhook.")));
      }
      data.forEach(function (event) { body.appendChild(row(event)); });
      shown += data.length;
      if (data.length) cursor = data[data.length - 1].id;
      button.hidden = !page.has_more;
      P.byTestId("events-info").textContent = shown
        ? "Showing " + shown + (page.has_more ? " (more older ones)" : "") : "";
    }, function (error) {
      body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 3, class: "empty" },
        P.el("strong", { text: "Could not load the events" }), error.description)));
    });
  }

  // ---------------------------------------------------------------- one event
  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  function endpointLabel(id) {
    var endpoint = endpointsById[id];
    if (!endpoint) return "Deleted endpoint (" + id + ")";
    return endpoint.url + (endpoint.description ? " · " + endpoint.description : "");
  }

  function deliveryRow(log) {
    var code = log.response_code;
    return P.el("tr", { dataset: { testId: "event-delivery-row", endpointId: log.endpoint_id, webhookId: log.id } },
      P.el("td", { class: "url-cell", dataset: { testId: "event-delivery-endpoint" }, text: endpointLabel(log.endpoint_id) }),
      P.el("td", { dataset: { testId: "event-delivery-status" } }, P.badge(log.status)),
      P.el("td", { class: "num", dataset: { testId: "event-delivery-attempts" }, text: String(log.attempts || 0) }),
      P.el("td", { title: log.response_body || "", text: code === null || code === undefined
        ? (log.response_body || "—").slice(0, 60) : String(code) }),
      P.el("td", { class: "actions" },
        P.el("button", { type: "button", class: "btn btn-sm", text: "Retry",
          dataset: { testId: "retry-delivery-button", webhookId: log.id },
          onclick: function (e) { retry(log.id, e.currentTarget); } })));
  }

  function loadDeliveries() {
    clearTimeout(timer);
    var event = openEvent;
    if (!event) return Promise.resolve();
    var body = P.byTestId("event-deliveries-body");
    return P.get("/api/v1/webhooks", { event_id: event.id, limit: 100 }).then(function (page) {
      if (openEvent !== event) return;
      var data = page.data || [];
      if (!data.length) {
        body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 5, class: "empty", dataset: { testId: "event-no-deliveries" } },
          event.event === "webhook_endpoint.disabled"
            ? "A notice for you: it is not sent to endpoints."
            : "Not sent: no endpoint took this event when it happened.")));
      } else {
        body.replaceChildren.apply(body, data.map(deliveryRow));
      }
      if (data.some(function (log) { return log.status === "pending"; })) {
        timer = setTimeout(loadDeliveries, POLL_MS);
      }
    }, function (error) {
      body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 5, class: "empty" }, error.description)));
    });
  }

  function retry(id, button) {
    P.busy(button, function () {
      return P.post("/api/v1/webhooks/" + encodeURIComponent(id) + "/retry", {}).then(function () {
        P.toast("Webhook retry scheduled", "success");
        document.dispatchEvent(new CustomEvent("paygate:deliveries-changed"));
        return loadDeliveries();
      }, function (error) {
        P.toast("Retry failed: " + error.description, "error");
      });
    });
  }

  function open(event) {
    openEvent = event;
    P.byTestId("event-detail-type").textContent = event.event;
    P.byTestId("event-detail-id").textContent = event.id + " · " + P.formatDate(event.created_at);
    P.byTestId("event-detail-payload").textContent = pretty(event.payload);
    P.byTestId("event-deliveries-body").replaceChildren(
      P.el("tr", {}, P.el("td", { colspan: 5, class: "empty", text: "Loading…" })));
    var dialog = P.byTestId("event-detail");
    if (!dialog.open) dialog.showModal();
    loadDeliveries();
  }

  P.page(function () {
    P.byTestId("event-type-filter").addEventListener("change", function () { load(false); });
    P.byTestId("refresh-events-button").addEventListener("click", function () { load(false); });
    P.byTestId("load-more-events-button").addEventListener("click", function (e) {
      P.busy(e.currentTarget, function () { return load(true); });
    });
    var dialog = P.byTestId("event-detail");
    dialog.querySelectorAll("[data-close]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.close(); });
    });
    dialog.addEventListener("close", function () {
      openEvent = null;
      clearTimeout(timer);
    });
    document.addEventListener("paygate:endpoints", function (event) {
      endpointsById = {};
      event.detail.forEach(function (endpoint) { endpointsById[endpoint.id] = endpoint; });
    });
    document.addEventListener("paygate:deliveries-changed", function () { load(false); });
    load(false);
  });
})();
