// Small enhancements; every page works without this script.
(function () {
  "use strict";
  // "/" focuses the search box (as on many search sites), unless typing in a field already.
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (event.key === "/" && tag !== "INPUT" && tag !== "TEXTAREA" && !event.ctrlKey && !event.metaKey) {
      var box = document.getElementById("q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    }
  });
  // On a narrow screen the filter list starts folded so the hits come first into view.
  if (window.matchMedia && window.matchMedia("(max-width: 52rem)").matches) {
    var box = document.querySelector(".facet-box");
    if (box) { box.removeAttribute("open"); }
  }
})();
