/* /login: POST /api/v1/auth/login, keep the token for this tab, go to /dashboard. */
(function () {
  "use strict";

  var P = window.Paygate;

  if (P.session.token()) {
    window.location.replace("/dashboard");
    return;
  }

  function start() {
    var form = P.byTestId("login-form");
    var email = P.byTestId("email-input");
    var password = P.byTestId("password-input");
    var button = P.byTestId("login-button");
    var error = P.byTestId("login-error");

    function fail(message, field) {
      error.textContent = message;
      error.hidden = false;
      [email, password].forEach(function (input) {
        input.setAttribute("aria-invalid", input === field || !field ? "true" : "false");
      });
      (field || password).focus();
    }

    var params = new URLSearchParams(window.location.search);
    if (params.get("expired")) {
      error.textContent = "Your session has ended. Sign in again to continue.";
      error.hidden = false;
    } else if (params.get("signed_out")) {
      error.textContent = "You signed out of every session.";
      error.hidden = false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      var address = email.value.trim();
      if (!address) return fail("Enter your email address.", email);
      if (!password.value) return fail("Enter your password.", password);
      P.busy(button, function () {
        return P.request("POST", "/api/v1/auth/login", {
          auth: false, body: { email: address, password: password.value },
        }).then(function (body) {
          P.session.save(body.token, body.merchant);
          window.location.assign("/dashboard");
        }, function (err) {
          fail(err.description || "Sign-in failed.");
        });
      });
    });
    email.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
