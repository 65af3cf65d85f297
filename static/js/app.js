// Behaviour of our own, loaded as a file so a strict Content-Security-Policy can forbid inline code.
(function () {
  "use strict";
  // After htmx swaps a roster row, keep keyboard focus where the person was working.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    // With an outerHTML swap the event's target is the old row; find its replacement by id.
    var old = event.detail.target;
    var row = old && old.id ? document.getElementById(old.id) : null;
    if (row && row.classList.contains("roster-row")) {
      // A refused marking (late or left early without minutes) asks for the minutes next.
      var focus = row.querySelector("input[aria-invalid='true']")
        || row.querySelector("[aria-pressed='true']") || row.querySelector("button");
      if (focus) { focus.focus(); }
    }
  });
  // Elements marked data-autosubmit submit their form when changed (filters).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit();
    }
  });
})();
