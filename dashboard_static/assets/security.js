/* /dashboard/security: roll the API secret, change the password, sign out everywhere.
 * Rolling and changing the password revoke every dashboard token; the API hands this session
 * the next one, which is saved so the page stays signed in. */
(function () {
  "use strict";

  var P = window.Paygate;

  function show(testId, message) {
    var node = P.byTestId(testId);
    node.textContent = message || "";
    node.hidden = !message;
  }

  // ---------------------------------------------------------------- API secret
  function roll() {
    var overlap = parseInt(P.byTestId("overlap-select").value, 10) || 0;
    var when = overlap ? "keeps working for API calls for " +
      P.byTestId("overlap-select").selectedOptions[0].textContent : "stops working at once";
    P.confirm(
      "Roll the API secret?",
      "Your servers need the new secret. The current one " + when + ".",
      "Roll secret"
    ).then(function (confirmed) {
      if (!confirmed) return;
      show("roll-secret-error", "");
      P.busy(P.byTestId("roll-secret-button"), function () {
        return P.post("/api/v1/merchant/api-secret/roll", { expire_previous_in: overlap })
          .then(function (body) {
            if (body.token) P.session.save(body.token, P.session.merchant());
            P.byTestId("new-api-secret").textContent = body.api_secret;
            P.byTestId("previous-secret-expiry").textContent = body.previous_secret_expires_at
              ? "The old secret works for API calls until " + P.formatDate(body.previous_secret_expires_at) + "."
              : "The old secret no longer works.";
            P.byTestId("new-secret-panel").hidden = false;
            P.toast("API secret rolled: copy the new one now", "success");
          }, function (error) {
            show("roll-secret-error", error.description);
          });
      });
    });
  }

  // ---------------------------------------------------------------- password
  function changePassword(event) {
    event.preventDefault();
    var current = P.byTestId("current-password-input");
    var next = P.byTestId("new-password-input");
    var again = P.byTestId("confirm-password-input");
    show("password-error", "");
    if (!current.value) return fail("Enter your current password.", current);
    if (next.value.length < 8) return fail("The new password needs at least 8 characters.", next);
    if (next.value !== again.value) return fail("The new passwords do not match.", again);
    P.busy(P.byTestId("change-password-button"), function () {
      return P.post("/api/v1/auth/password", {
        current_password: current.value, new_password: next.value,
      }).then(function (body) {
        P.session.save(body.token, body.merchant);
        [current, next, again].forEach(function (input) { input.value = ""; });
        P.toast("Password changed; other sessions were signed out", "success");
      }, function (error) {
        fail(error.description, error.status === 400 ? current : null);
      });
    });

    function fail(message, field) {
      show("password-error", message);
      if (field) field.focus();
    }
  }

  // ---------------------------------------------------------------- sessions
  function logoutAll() {
    P.confirm(
      "Sign out everywhere?",
      "Every dashboard session ends, this one too. API keys keep working.",
      "Sign out everywhere"
    ).then(function (confirmed) {
      if (!confirmed) return;
      show("logout-all-error", "");
      P.busy(P.byTestId("logout-all-button"), function () {
        return P.post("/api/v1/auth/logout-all", {}).then(function () {
          P.signOut("signed_out");
        }, function (error) {
          show("logout-all-error", error.description);
        });
      });
    });
  }

  P.page(function () {
    P.byTestId("roll-secret-button").addEventListener("click", roll);
    P.byTestId("copy-new-secret-button").addEventListener("click", function () {
      P.copy(P.byTestId("new-api-secret").textContent);
    });
    P.byTestId("password-form").addEventListener("submit", changePassword);
    P.byTestId("logout-all-button").addEventListener("click", logoutAll);
  });
})();
