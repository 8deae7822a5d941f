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
})();
