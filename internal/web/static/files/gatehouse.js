// Shared helpers for Gatehouse pages: the CSRF token of the page, and
// confirmation of destructive actions (forms with data-confirm).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.gatehouseCSRF = meta ? meta.getAttribute("content") : "";
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  }, true);
  // An account without a time zone takes the browser's: the field shows
  // it, and it is saved once (the server keeps a zone already chosen). The
  // page is not reloaded: its times say UTC, and the next pages follow the zone.
  var zoneField = document.querySelector("input[data-browser-zone]");
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (zoneField && zone && !zoneField.value) {
    zoneField.value = zone;
    var body = new URLSearchParams();
    body.set("csrf_token", window.gatehouseCSRF);
    body.set("time_zone", zone);
    fetch(zoneField.getAttribute("data-browser-zone"), {method: "POST", body: body, credentials: "same-origin"});
  }
})();
