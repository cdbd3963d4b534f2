/* /dashboard: credentials, live stats (every 5 s), the 7-day chart and the latest payments. */
(function () {
  "use strict";

  var P = window.Paygate;
  var STATS_EVERY_MS = 5000;
  var CHART_EVERY_MS = 30000;
  var DAYS = 7;
  var MAX_PAGES = 20; // at most 2,000 payments are read for the chart
  var secret = null;
  var lastSignature = null;
  var chartLoading = null;

  // ---------------------------------------------------------------- credentials
  function loadCredentials() {
    return P.get("/api/v1/merchant").then(function (merchant) {
      P.byTestId("api-key").textContent = merchant.api_key;
      secret = merchant.api_secret;
      // Keep what the person chose: Reveal may have been clicked while this was on its way.
      showSecret(P.byTestId("api-secret").dataset.masked === "false");
      P.session.update({
        id: merchant.id, name: merchant.name, email: merchant.email, api_key: merchant.api_key,
      });
    }, function (error) {
      P.byTestId("api-key").textContent = "Unavailable";
      P.toast("Could not load credentials: " + error.description, "error");
    });
  }

  function showSecret(visible) {
    var node = P.byTestId("api-secret");
    var button = P.byTestId("reveal-secret-button");
    node.textContent = visible && secret ? secret : "•".repeat(Math.max(16, Math.min(secret ? secret.length : 16, 24)));
    node.dataset.masked = visible ? "false" : "true";
    button.textContent = visible ? "Hide" : "Reveal";
    button.setAttribute("aria-pressed", visible ? "true" : "false");
  }

  // ---------------------------------------------------------------- stats
  function loadStats() {
    return P.get("/api/v1/stats").then(function (stats) {
      P.byTestId("total-transactions").textContent = new Intl.NumberFormat("en-IN").format(stats.total_transactions || 0);
      P.byTestId("total-amount").textContent = P.money(stats.total_amount || 0, "INR");
      showOtherCurrencies(stats.by_currency || {});
      P.byTestId("success-rate").textContent = P.percent(stats.success_rate || 0);
      P.byTestId("stats-updated").textContent = "Updated " + new Date().toLocaleTimeString("en-IN");
      document.querySelector("[data-live]").classList.remove("stale");
      // A new or newly settled payment changes the stats: redraw the chart and the list too.
      var signature = [stats.total_transactions, stats.total_amount, stats.success_rate,
        JSON.stringify(stats.by_currency || {})].join("/");
      if (lastSignature !== null && signature !== lastSignature) loadPayments();
      lastSignature = signature;
    }, function (error) {
      document.querySelector("[data-live]").classList.add("stale");
      P.byTestId("stats-updated").textContent = "Not updated: " + error.description;
    });
  }

  /** Volumes are never added across currencies: the INR total is the headline, the others are
   *  listed under it, each in its own currency. */
  function showOtherCurrencies(byCurrency) {
    var others = Object.keys(byCurrency).filter(function (c) {
      return c !== "INR" && byCurrency[c].total_amount > 0;
    }).sort();
    var note = P.byTestId("volume-by-currency");
    note.textContent = others.length
      ? "INR only; also " + others.map(function (c) { return P.money(byCurrency[c].total_amount, c); }).join(" · ")
      : "Sum of successful payments";
  }

  // ---------------------------------------------------------------- payments: chart + recent
  function dayKey(date) {
    return date.getFullYear() + "-" + String(date.getMonth() + 1).padStart(2, "0") + "-" +
      String(date.getDate()).padStart(2, "0");
  }

  function windowStart() {
    var start = new Date();
    start.setHours(0, 0, 0, 0);
    start.setDate(start.getDate() - (DAYS - 1));
    return start;
  }

  /** Newest-first pages of 100 until the payments are older than the window. */
  function fetchWindow() {
    var start = windowStart();
    var collected = [];
    function next(offset, pages) {
      return P.get("/api/v1/payments", { limit: 100, offset: offset }).then(function (page) {
        var data = page.data || [];
        collected = collected.concat(data);
        var oldest = data.length ? P.parseTime(data[data.length - 1].created_at) : null;
        var more = data.length === 100 && offset + data.length < (page.total || 0);
        if (more && pages + 1 < MAX_PAGES && oldest && oldest >= start) {
          return next(offset + data.length, pages + 1);
        }
        return collected;
      });
    }
    return next(0, 0);
  }

  /** The currency the chart's volume is drawn in: INR when the window has INR payments (or
   *  none at all), else the currency with the most successful payments. */
  function chartCurrency(payments) {
    var counts = {};
    payments.forEach(function (p) {
      if (p.status === "success") counts[p.currency || "INR"] = (counts[p.currency || "INR"] || 0) + 1;
    });
    if (counts.INR || !Object.keys(counts).length) return "INR";
    return Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); })[0];
  }

  function bucket(payments) {
    var start = windowStart();
    var currency = chartCurrency(payments);
    var days = [];
    var index = {};
    for (var i = 0; i < DAYS; i++) {
      var date = new Date(start);
      date.setDate(start.getDate() + i);
      var day = { date: date, volume: 0, count: 0, success: 0, failed: 0 };
      index[dayKey(date)] = day;
      days.push(day);
    }
    days.currency = currency;
    payments.forEach(function (p) {
      var when = P.parseTime(p.created_at);
      var day = when && index[dayKey(when)];
      if (!day) return;
      day.count += 1;
      if (p.status === "success") {
        day.success += 1;
        // Amounts of other currencies are not added in: their units differ.
        if ((p.currency || "INR") === currency) day.volume += Number(p.amount) || 0;
      }
      if (p.status === "failed") day.failed += 1;
    });
    return days;
  }

  /** A round axis maximum for four gridlines: each step 1, 2, 2.5 or 5 × 10^n minor units. */
  function niceMax(value, ticks, currency) {
    if (value <= 0) return 1000 * Math.pow(10, P.exponentOf(currency)) * ticks / 4; // ₹1,000 when there is nothing yet
    var step = value / ticks;
    var power = Math.pow(10, Math.floor(Math.log10(step)));
    var factors = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < factors.length; i++) if (step <= factors[i] * power) return factors[i] * power * ticks;
    return 10 * power * ticks;
  }

  var lastDays = null;

  /** Bars of daily volume (left axis) and a line of daily success rate (right axis), drawn at
   *  the holder's width so labels keep their size on any screen. */
  function drawChart(days) {
    lastDays = days;
    var holder = P.byTestId("volume-chart");
    var W = Math.max(300, Math.round(holder.clientWidth || 640));
    var H = W < 480 ? 210 : 240, left = 50, right = 40, top = 14, bottom = 30;
    var plotW = W - left - right, plotH = H - top - bottom;
    var ticks = 4;
    var currency = days.currency || "INR";
    var maxVolume = niceMax(Math.max.apply(null, days.map(function (d) { return d.volume; })), ticks, currency);
    var svg = P.el("svg:svg", { class: "chart", viewBox: "0 0 " + W + " " + H, "aria-hidden": "true" });
    for (var t = 0; t <= ticks; t++) {
      var y = top + plotH - (plotH * t) / ticks;
      svg.appendChild(P.el("svg:line", { class: "grid", x1: left, x2: W - right, y1: y, y2: y }));
      svg.appendChild(P.el("svg:text", { class: "axis", x: left - 8, y: y + 4, "text-anchor": "end" },
        P.moneyCompact((maxVolume * t) / ticks, currency)));
      svg.appendChild(P.el("svg:text", { class: "axis", x: W - right + 8, y: y + 4 }, (100 * t) / ticks + "%"));
    }
    var slot = plotW / days.length;
    var barW = Math.min(44, slot * 0.56);
    var points = [];
    var dayName = new Intl.DateTimeFormat("en-IN", { weekday: "short" });
    var dayDate = new Intl.DateTimeFormat("en-IN", { day: "numeric", month: "short" });
    days.forEach(function (d, i) {
      var cx = left + slot * i + slot / 2;
      var h = (d.volume / maxVolume) * plotH;
      var settled = d.success + d.failed;
      var rate = settled ? (100 * d.success) / settled : null;
      var bar = P.el("svg:rect", { class: "bar", x: cx - barW / 2, y: top + plotH - h, width: barW,
        height: Math.max(h, d.volume ? 2 : 0), rx: 4 });
      bar.appendChild(P.el("svg:title", {}, dayDate.format(d.date) + ": " + P.money(d.volume, currency) + " from " +
        d.success + " successful of " + d.count + " payment" + (d.count === 1 ? "" : "s") +
        (rate === null ? "" : ", " + P.percent(rate) + " success")));
      svg.appendChild(bar);
      var label = i === days.length - 1 ? "Today"
        : W < 480 ? dayName.format(d.date) : dayName.format(d.date) + " " + d.date.getDate();
      svg.appendChild(P.el("svg:text", { class: "axis", x: cx, y: H - 10, "text-anchor": "middle" }, label));
      if (rate !== null) points.push([cx, top + plotH - (rate / 100) * plotH, rate, d]);
    });
    if (points.length > 1) {
      svg.appendChild(P.el("svg:polyline", { class: "rate-line",
        points: points.map(function (p) { return p[0] + "," + p[1]; }).join(" ") }));
    }
    points.forEach(function (p) {
      var dot = P.el("svg:circle", { class: "rate-dot", cx: p[0], cy: p[1], r: 3.5 });
      dot.appendChild(P.el("svg:title", {}, dayDate.format(p[3].date) + ": " + P.percent(p[2]) + " success"));
      svg.appendChild(dot);
    });
    holder.replaceChildren(svg);

    var volume = 0, count = 0, success = 0, settledAll = 0;
    days.forEach(function (d) { volume += d.volume; count += d.count; success += d.success; settledAll += d.success + d.failed; });
    P.byTestId("week-volume").textContent = P.money(volume, currency);
    P.byTestId("week-volume-label").textContent = currency === "INR" ? "Volume, 7 days" : "Volume in " + currency + ", 7 days";
    P.byTestId("week-count").textContent = new Intl.NumberFormat("en-IN").format(count);
    P.byTestId("week-rate").textContent = settledAll ? P.percent((100 * success) / settledAll) : "—";
  }

  function drawRecent(payments) {
    var body = document.querySelector('[data-test-id="recent-payments"] tbody');
    if (!payments.length) {
      body.replaceChildren(P.el("tr", {}, P.el("td", { colspan: 5, class: "empty" },
        P.el("strong", { text: "No payments yet" }),
        "Create an order and pay it with the test VPA success@okbank to see it here.")));
      return;
    }
    body.replaceChildren.apply(body, payments.slice(0, 5).map(function (p) {
      return P.el("tr", {},
        P.el("td", { "data-label": "Payment", class: "wide" }, P.el("span", { class: "id", text: p.id }),
          P.el("span", { class: "sub", text: p.order_id })),
        P.el("td", { class: "num", "data-label": "Amount", text: P.money(p.amount, p.currency, true) }),
        P.el("td", { "data-label": "Method" }, P.method(p)),
        P.el("td", { "data-label": "Status" }, P.badge(p.status)),
        P.el("td", { "data-label": "Created", title: p.created_at, text: P.formatDate(p.created_at) }));
    }));
  }

  function loadPayments() {
    if (chartLoading) return chartLoading;
    chartLoading = fetchWindow().then(function (payments) {
      drawChart(bucket(payments));
      drawRecent(payments);
    }, function (error) {
      P.byTestId("volume-chart").replaceChildren(P.el("p", { class: "hint", text: "Chart unavailable: " + error.description }));
    }).finally(function () { chartLoading = null; });
    return chartLoading;
  }

  // ---------------------------------------------------------------- wiring
  P.page(function () {
    P.byTestId("reveal-secret-button").addEventListener("click", function () {
      showSecret(P.byTestId("api-secret").dataset.masked === "true");
    });
    P.byTestId("copy-api-key-button").addEventListener("click", function () {
      P.copy(P.byTestId("api-key").textContent);
    });
    P.byTestId("copy-api-secret-button").addEventListener("click", function () {
      if (secret) P.copy(secret);
    });
    drawChart(bucket([]));
    loadCredentials();
    loadStats();
    loadPayments();
    setInterval(function () { if (!document.hidden) loadStats(); }, STATS_EVERY_MS);
    setInterval(function () { if (!document.hidden) loadPayments(); }, CHART_EVERY_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) loadStats(); });
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () { if (lastDays) drawChart(lastDays); }, 150);
    });
  });
})();
