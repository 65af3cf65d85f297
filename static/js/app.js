// Behaviour of our own, loaded as a file so a strict Content-Security-Policy can forbid inline code.
(function () {
  "use strict";
  var live = document.getElementById("live-region");

  // Say it to screen readers: the live region's text changes, so it is read out once.
  function announce(text) {
    if (!live || !text) { return; }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  // After htmx swaps a roster row, keep keyboard focus where the person was working, and say
  // what changed ("Ana Ruiz: Present"), since the new status is only shown.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    // With an outerHTML swap the event's target is the old row; find its replacement by id.
    var old = event.detail.target;
    var row = old && old.id ? document.getElementById(old.id) : null;
    if (row && row.classList.contains("roster-row")) {
      // htmx binds the new row's hx-post only when it settles; bind it now, so Enter pressed
      // in the focused field at once goes through htmx, not a full-page submit.
      if (window.htmx) { window.htmx.process(row); }
      // A refused marking (late or left early without minutes) asks for the minutes next.
      var focus = row.querySelector("input[aria-invalid='true']")
        || row.querySelector("[aria-pressed='true']") || row.querySelector("button");
      if (focus) { focus.focus(); }
      var name = row.querySelector("[id^='name-']");
      var status = row.querySelector("[data-status]");
      var error = row.querySelector(".invalid-feedback");
      if (name && status) {
        announce(name.textContent.trim() + ": " + (error ? error.textContent.trim() : status.textContent.trim()));
      }
    }
  });
  // Other swaps that carry a message ("Marked 2 present.") are read out as well.
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    var message = target && target.querySelector ? target.querySelector(".alert") : null;
    if (message) { announce(message.textContent.trim()); }
  });

  // A region swapped in by htmx may say what it now shows (data-announce): the week calendar's
  // filters apply at once, and this tells screen-reader users what changed.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var region = event.target;
    var summary = region && region.querySelector ? region.querySelector("[data-announce]") : null;
    if (summary) { announce(summary.textContent.trim()); }
  });

  // Elements marked data-autosubmit submit their form when changed (filters).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit();
    }
  });

  // A table wider than the screen scrolls sideways: make that box reachable from the keyboard
  // (and named, as a region) only while it actually scrolls.
  function scrollableTables() {
    var boxes = document.querySelectorAll(".table-responsive");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "region");
          var caption = box.querySelector("caption");
          var section = box.closest("section[aria-labelledby]");
          var heading = section ? document.getElementById(section.getAttribute("aria-labelledby")) : null;
          var label = (caption || heading || {}).textContent || "Table";
          box.setAttribute("aria-label", label.trim() + " (scrolls sideways)");
        }
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }
  scrollableTables();
  window.addEventListener("resize", scrollableTables);
  document.body.addEventListener("htmx:afterSettle", scrollableTables);
})();
