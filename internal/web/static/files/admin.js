// Admin panel helpers: check every box of a site's access list, copy a
// new API token's secret, and offer only the roles of the chosen account
// kind. Pages work without it (the server refuses a role of the wrong kind).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var el = ev.target;
    if (!el || !el.getAttribute) {
      return;
    }
    var group = el.getAttribute("data-check-all");
    if (group) {
      var boxes = document.querySelectorAll('input[type=checkbox][name="' + group + '"]:not([disabled])');
      var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
      Array.prototype.forEach.call(boxes, function (b) { b.checked = !all; });
      return;
    }
    var copy = el.getAttribute("data-copy");
    if (copy && navigator.clipboard) {
      var src = document.getElementById(copy);
      if (src) {
        navigator.clipboard.writeText(src.textContent.trim());
      }
    }
  });
  // A role select marked data-kind-from="ID" offers only the options whose
  // data-kind matches the select ID, falling back to the kind's default.
  document.addEventListener("change", function (ev) {
    var kind = ev.target;
    if (!kind || !kind.id) {
      return;
    }
    var roles = document.querySelector('select[data-kind-from="' + kind.id + '"]');
    if (!roles) {
      return;
    }
    var fallback = null;
    Array.prototype.forEach.call(roles.options, function (o) {
      var other = o.getAttribute("data-kind") !== kind.value;
      o.disabled = other;
      o.hidden = other;
      if (!other && o.hasAttribute("data-default")) {
        fallback = o;
      }
    });
    if (roles.selectedOptions.length === 0 || roles.selectedOptions[0].disabled) {
      if (fallback) {
        fallback.selected = true;
      }
    }
  });
})();
