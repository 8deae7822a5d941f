// Shared helpers for Gatehouse pages: the CSRF token of the page,
// confirmation of destructive actions (forms with data-confirm), and the
// error summary of a refused form, which takes the focus (so a screen
// reader reads it and a keyboard user starts from it) and marks the fields
// it names as invalid, described by it.
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

  var summary = document.querySelector("[data-error-summary]");
  if (!summary) {
    return;
  }
  // The refused form is the one that posts to this page's address.
  var form = null;
  Array.prototype.forEach.call(document.forms, function (f) {
    if (!form && f.method === "post" && new URL(f.action, location.href).pathname === location.pathname) {
      form = f;
    }
  });
  var fields = (summary.getAttribute("data-fields") || "").split(" ");
  if (form && summary.id) {
    fields.forEach(function (name) {
      if (!name) {
        return;
      }
      var el = form.elements.namedItem(name) || form.elements.namedItem("p." + name);
      var els = el && el.length !== undefined && !el.tagName ? el : (el ? [el] : []);
      Array.prototype.forEach.call(els, function (e) {
        e.setAttribute("aria-invalid", "true");
        var ids = (e.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (ids.indexOf(summary.id) < 0) {
          ids.push(summary.id);
        }
        e.setAttribute("aria-describedby", ids.join(" "));
      });
    });
  }
  summary.focus();
})();
