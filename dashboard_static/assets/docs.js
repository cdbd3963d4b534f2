/* /dashboard/docs: fill the snippets with this deployment's URLs and the merchant's credentials,
 * so they run as they are; copy buttons. The HTML carries the local defaults. */
(function () {
  "use strict";

  var P = window.Paygate;
  var DEFAULTS = {
    api: "http://localhost:8000",
    checkout: "http://localhost:3001",
    key: "key_test_abc123",
    secret: "secret_test_xyz789",
  };

  function substitute(pairs) {
    document.querySelectorAll("[data-substitute]").forEach(function (node) {
      var text = node.textContent;
      pairs.forEach(function (pair) {
        if (pair[1] && pair[0] !== pair[1]) text = text.split(pair[0]).join(pair[1]);
      });
      node.textContent = text;
    });
  }

  P.page(function () {
    substitute([[DEFAULTS.api, P.config.apiBaseUrl], [DEFAULTS.checkout, P.config.checkoutUrl]]);
    document.querySelectorAll("[data-api-base]").forEach(function (node) {
      node.textContent = P.config.apiBaseUrl;
    });
    P.get("/api/v1/merchant").then(function (merchant) {
      substitute([[DEFAULTS.key, merchant.api_key], [DEFAULTS.secret, merchant.api_secret]]);
      document.querySelectorAll("[data-api-key]").forEach(function (node) {
        node.textContent = merchant.api_key;
      });
      document.documentElement.dataset.credentials = "filled";
    }, function () { /* the defaults stay: the test merchant's credentials */ });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        P.copy(P.byTestId(button.getAttribute("data-copy")).textContent);
      });
    });
  });
})();
