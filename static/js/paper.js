// Print and copy buttons, loaded as a file so a strict Content-Security-Policy can forbid inline
// code. Used by pages meant to be kept on paper: recovery codes, sign-in sheets, the record.
(function () {
  "use strict";

  function say(status, text) {
    if (!status) { return; }
    // Emptied first, so the same words said twice are announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  // The element's text, one line per list item when it is a list (codes, rows).
  function textOf(element) {
    var items = element.querySelectorAll("li");
    if (!items.length) { return element.textContent.trim(); }
    var lines = [];
    for (var i = 0; i < items.length; i++) { lines.push(items[i].textContent.trim()); }
    return lines.join("\n");
  }

  // When the clipboard is out of reach (no secure context, permission refused), select the
  // text so one key press copies it, and say so.
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print], [data-copy-text]") : null;
    if (!button) { return; }
    if (button.hasAttribute("data-print")) {
      window.print();
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy-text"));
    var status = document.getElementById(button.getAttribute("aria-controls") || "copy-status");
    if (!source) { return; }
    var copied = button.getAttribute("data-copied") || "Copied.";
    var manual = button.getAttribute("data-copy-manual") ||
      "The text is selected: press Ctrl+C (or \u2318C on a Mac) to copy it.";
    function fallback() {
      selectText(source);
      say(status, manual);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(textOf(source)).then(function () { say(status, copied); }, fallback);
    } else {
      fallback();
    }
  });
})();
