/* `/`: straight to the dashboard when signed in, else to the sign-in page. */
window.location.replace(window.Paygate && window.Paygate.session.token() ? "/dashboard" : "/login");
