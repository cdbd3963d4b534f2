/* /dashboard/webhooks, the Endpoints card: list the merchant's webhook endpoints (the webhook URL
 * is the default one), add and edit them (URL, description, events), disable and enable them
 * (enabling offers to replay what they missed), roll a secret with an overlap, delete them.
 * A new or rolled secret is shown once. Other cards hear of changes through DOM events:
 * `paygate:endpoints` (detail: the endpoints) when the list is loaded, and
 * `paygate:webhook-config-changed` when the default endpoint changed here. */
(function () {
  "use strict";

  var P = window.Paygate;
  var endpoints = [];
  var editing = null; // the endpoint the dialog edits; null while adding one

  function byId(id) {
    for (var i = 0; i < endpoints.length; i++) if (endpoints[i].id === id) return endpoints[i];
    return null;
  }

  function path(endpoint, tail) {
    return "/api/v1/webhook_endpoints/" + encodeURIComponent(endpoint.id) + (tail || "");
  }

  // ---------------------------------------------------------------- list
  function eventTags(endpoint) {
    var names = endpoint.enabled_events || [];
    if (names.length === 1 && names[0] === "*") return [P.el("span", { class: "tag", text: "All events" })];
    return names.map(function (name) { return P.el("span", { class: "tag", text: name }); });
  }

  function statusNodes(endpoint) {
    var nodes = [P.badge(endpoint.status, "endpoint-status")];
    if (endpoint.status === "disabled") {
      var why = endpoint.disabled_reason === "failing"
        ? "Every delivery failed since " + P.formatDate(endpoint.failing_since || endpoint.disabled_at)
        : "Disabled by you";
      nodes.push(P.el("span", { class: "sub", dataset: { testId: "endpoint-status-reason" },
        text: why + " · " + P.formatDate(endpoint.disabled_at) }));
    } else if (endpoint.failing_since) {
      nodes.push(P.el("span", { class: "sub", text: "Failing since " + P.formatDate(endpoint.failing_since) }));
    }
    return nodes;
  }

  function action(testId, label, endpoint, handler, extra) {
    return P.el("button", {
      type: "button", class: "btn btn-sm" + (extra || ""), text: label,
      dataset: { testId: testId, endpointId: endpoint.id },
      onclick: function (event) { handler(endpoint, event.currentTarget); },
    });
  }

  function row(endpoint) {
    var enabled = endpoint.status === "enabled";
    return P.el("tr", { dataset: { testId: "endpoint-row", endpointId: endpoint.id, status: endpoint.status } },
      P.el("td", { class: "url-cell wide", "data-label": "Endpoint" },
        P.el("span", { class: "mono", dataset: { testId: "endpoint-url" }, text: endpoint.url }),
        endpoint.is_default ? P.el("span", { class: "tag default", text: "Webhook URL" }) : null,
        endpoint.description
          ? P.el("span", { class: "sub", dataset: { testId: "endpoint-description" }, text: endpoint.description })
          : null),
      P.el("td", { class: "events-cell", "data-label": "Events", dataset: { testId: "endpoint-events" } },
        eventTags(endpoint)),
      P.el("td", { "data-label": "Status" }, statusNodes(endpoint)),
      P.el("td", { class: "actions" },
        action("edit-endpoint-button", "Edit", endpoint, openForm),
        action("toggle-endpoint-button", enabled ? "Disable" : "Enable", endpoint, toggle),
        action("test-endpoint-button", "Send test", endpoint, sendTest),
        action("roll-endpoint-secret-button", "Roll secret", endpoint, openRoll),
        action("delete-endpoint-button", "Delete", endpoint, remove, " btn-danger")));
  }

  /** The `webhook_endpoint.disabled` notice: every endpoint Paygate disabled for failing. */
  function renderNotice() {
    var notice = P.byTestId("endpoint-disabled-notice");
    var failing = endpoints.filter(function (e) {
      return e.status === "disabled" && e.disabled_reason === "failing";
    });
    notice.replaceChildren.apply(notice, failing.map(function (endpoint) {
      return P.el("div", { class: "notice-item", dataset: { testId: "endpoint-disabled-item", endpointId: endpoint.id } },
        P.el("span", {},
          P.el("strong", { text: "webhook_endpoint.disabled: " }),
          endpoint.url + " was disabled " + P.formatDate(endpoint.disabled_at) +
          " because every delivery failed since " + P.formatDate(endpoint.failing_since || endpoint.disabled_at) +
          ". Enable it to resume deliveries and replay what it missed."),
        action("enable-failing-endpoint-button", "Enable and replay", endpoint, toggle));
    }));
    notice.hidden = !failing.length;
  }

  function render() {
    var body = P.byTestId("endpoints-body");
    if (!endpoints.length) {
      body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 4, class: "empty" },
        P.el("strong", { text: "No endpoints yet" }),
        "Add one to send events to more places, each with the events it needs.")));
    } else {
      body.replaceChildren.apply(body, endpoints.map(row));
    }
    renderNotice();
    document.dispatchEvent(new CustomEvent("paygate:endpoints", { detail: endpoints }));
  }

  function load() {
    return P.get("/api/v1/webhook_endpoints").then(function (page) {
      endpoints = page.data || [];
      render();
    }, function (error) {
      P.byTestId("endpoints-body").replaceChildren(P.el("tr", {}, P.el("td", { colspan: 4, class: "empty" },
        P.el("strong", { text: "Could not load the endpoints" }), error.description)));
    });
  }

  /** After a change: reload, and tell the webhook URL form when the default endpoint moved. */
  function changed(endpoint) {
    if (endpoint && endpoint.is_default) {
      document.dispatchEvent(new CustomEvent("paygate:webhook-config-changed"));
    }
    return load();
  }

  function showSecret(endpoint, secret, hint) {
    P.byTestId("endpoint-secret-label").textContent = "Signing secret of " + endpoint.url;
    P.byTestId("endpoint-new-secret").textContent = secret;
    P.byTestId("endpoint-secret-hint").textContent = hint;
    P.byTestId("endpoint-secret-panel").hidden = false;
  }

  // ---------------------------------------------------------------- add and edit
  function formError(message) {
    var node = P.byTestId("endpoint-form-error");
    node.textContent = message || "";
    node.hidden = !message;
  }

  function syncEventChoices() {
    var all = P.byTestId("endpoint-event-all").checked;
    var grid = P.byTestId("endpoint-event-options");
    grid.classList.toggle("off", all);
    grid.querySelectorAll("input").forEach(function (box) { box.disabled = all; });
  }

  function openForm(endpoint) {
    editing = endpoint && endpoint.id ? endpoint : null;
    var events = editing ? editing.enabled_events : ["*"];
    P.byTestId("endpoint-dialog-title").textContent = editing ? "Edit endpoint" : "Add endpoint";
    P.byTestId("save-endpoint-button").textContent = editing ? "Save changes" : "Add endpoint";
    P.byTestId("endpoint-url-input").value = editing ? editing.url : "";
    P.byTestId("endpoint-description-input").value = editing ? editing.description || "" : "";
    P.byTestId("endpoint-event-all").checked = events.indexOf("*") >= 0;
    P.byTestId("endpoint-event-options").querySelectorAll("input").forEach(function (box) {
      box.checked = events.indexOf(box.value) >= 0;
    });
    syncEventChoices();
    formError("");
    P.byTestId("endpoint-url-input").setAttribute("aria-invalid", "false");
    P.byTestId("endpoint-dialog").showModal();
    P.byTestId("endpoint-url-input").focus();
  }

  function chosenEvents() {
    if (P.byTestId("endpoint-event-all").checked) return ["*"];
    var names = [];
    P.byTestId("endpoint-event-options").querySelectorAll("input:checked").forEach(function (box) {
      names.push(box.value);
    });
    return names;
  }

  function submitForm(event) {
    event.preventDefault();
    var url = P.byTestId("endpoint-url-input").value.trim();
    var description = P.byTestId("endpoint-description-input").value.trim();
    var events = chosenEvents();
    formError("");
    if (!url) {
      P.byTestId("endpoint-url-input").setAttribute("aria-invalid", "true");
      return formError("Enter the URL Paygate should send events to.");
    }
    if (!events.length) return formError("Choose at least one event, or all events.");
    var body = { url: url, enabled_events: events, description: description || null };
    var target = editing;
    P.busy(P.byTestId("save-endpoint-button"), function () {
      var call = target ? P.patch(path(target), body) : P.post("/api/v1/webhook_endpoints", body);
      return call.then(function (saved) {
        P.byTestId("endpoint-dialog").close();
        if (saved.secret) {
          showSecret(saved, saved.secret, "Copy it now: it is not shown again. Verify each delivery to this endpoint with it.");
        }
        P.toast(target ? "Endpoint saved" : "Endpoint added", "success");
        return changed(saved);
      }, function (error) {
        P.byTestId("endpoint-url-input").setAttribute("aria-invalid", error.status === 400 && /url|URL|host|address/.test(error.description) ? "true" : "false");
        formError(error.description);
      });
    });
  }

  // ---------------------------------------------------------------- status, replay
  function toggle(endpoint, button) {
    var enabling = endpoint.status !== "enabled";
    P.busy(button, function () {
      return P.patch(path(endpoint), { status: enabling ? "enabled" : "disabled" }).then(function (saved) {
        P.toast(enabling ? "Endpoint enabled" : "Endpoint disabled: nothing is sent to it", "success");
        return changed(saved).then(function () {
          if (saved.replay) offerReplay(saved);
        });
      }, function (error) {
        P.toast("Could not change the endpoint: " + error.description, "error");
      });
    });
  }

  function offerReplay(endpoint) {
    var replay = endpoint.replay;
    P.confirm(
      "Replay what it missed?",
      "Send again every failed delivery to " + endpoint.url + " since " +
        P.formatDate(replay.body.created_gte) + ", including the events raised while it was disabled.",
      "Replay deliveries"
    ).then(function (yes) {
      if (!yes) return;
      P.post(replay.path, replay.body).then(function (answer) {
        var text = answer.replayed === 1 ? "1 delivery replayed" : answer.replayed + " deliveries replayed";
        P.byTestId("replay-result").textContent = text + " to " + endpoint.url + ".";
        P.toast(text, "success");
        document.dispatchEvent(new CustomEvent("paygate:deliveries-changed"));
      }, function (error) {
        P.toast("Could not replay: " + error.description, "error");
      });
    });
  }

  // ---------------------------------------------------------------- test delivery
  function sendTest(endpoint, button) {
    P.busy(button, function () {
      return P.post("/api/v1/webhooks/test", { endpoint_id: endpoint.id }).then(function (body) {
        P.toast("Test webhook queued for " + endpoint.url + " (" + body.id + ")", "success");
        document.dispatchEvent(new CustomEvent("paygate:deliveries-changed"));
      }, function (error) {
        P.toast("Could not send a test webhook: " + error.description, "error");
      });
    });
  }

  // ---------------------------------------------------------------- secrets
  var rolling = null;

  function openRoll(endpoint) {
    rolling = endpoint;
    P.byTestId("roll-endpoint-text").textContent = "A new secret for " + endpoint.url + ".";
    P.byTestId("roll-overlap-select").value = "86400";
    P.byTestId("roll-endpoint-dialog").showModal();
  }

  function roll() {
    var endpoint = rolling;
    var overlap = parseInt(P.byTestId("roll-overlap-select").value, 10) || 0;
    P.busy(P.byTestId("confirm-roll-button"), function () {
      return P.post(path(endpoint, "/secret/roll"), { expire_previous_in: overlap }).then(function (saved) {
        P.byTestId("roll-endpoint-dialog").close();
        var hint = saved.previous_secret_expires_at
          ? "The previous secret also signs deliveries until " + P.formatDate(saved.previous_secret_expires_at) + ": update your server before then."
          : "The previous secret no longer signs anything.";
        showSecret(saved, saved.secret, hint);
        P.toast("Secret rolled: copy the new one now", "success");
        return changed(saved);
      }, function (error) {
        P.toast("Could not roll the secret: " + error.description, "error");
      });
    });
  }

  // ---------------------------------------------------------------- delete
  function remove(endpoint, button) {
    P.confirm(
      "Delete this endpoint?",
      "Nothing more is sent to " + endpoint.url + ", and its pending deliveries stop." +
        (endpoint.is_default ? " This clears your webhook URL." : ""),
      "Delete endpoint"
    ).then(function (yes) {
      if (!yes) return;
      P.busy(button, function () {
        return P.del(path(endpoint)).then(function () {
          P.toast("Endpoint deleted", "success");
          return changed(endpoint);
        }, function (error) {
          P.toast("Could not delete the endpoint: " + error.description, "error");
        });
      });
    });
  }

  P.page(function () {
    P.byTestId("add-endpoint-button").addEventListener("click", function () { openForm(null); });
    P.byTestId("endpoint-form").addEventListener("submit", submitForm);
    P.byTestId("endpoint-event-all").addEventListener("change", syncEventChoices);
    P.byTestId("confirm-roll-button").addEventListener("click", roll);
    P.byTestId("copy-endpoint-secret-button").addEventListener("click", function () {
      P.copy(P.byTestId("endpoint-new-secret").textContent);
    });
    P.byTestId("dismiss-endpoint-secret-button").addEventListener("click", function () {
      P.byTestId("endpoint-secret-panel").hidden = true;
      P.byTestId("endpoint-new-secret").textContent = "";
    });
    ["endpoint-dialog", "roll-endpoint-dialog"].forEach(function (id) {
      var dialog = P.byTestId(id);
      dialog.querySelectorAll("[data-close]").forEach(function (button) {
        button.addEventListener("click", function () { dialog.close(); });
      });
    });
    document.addEventListener("paygate:endpoints-changed", load);
    window.PaygateEndpoints = { byId: byId };
    load();
  });
})();
