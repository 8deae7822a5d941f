// Admin panel helpers: check every box of a site's access list, and copy
// a new API token's secret. Pages work without it.
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
})();
