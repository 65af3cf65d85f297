// Portal behaviour, loaded as a file so the Content-Security-Policy can forbid inline code.
(function () {
  "use strict";
  // A button with data-copy="<input id>" copies that input's value to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!input) { return; }
    function done(text) { if (status) { status.textContent = text; } }
    function fallback() {
      input.select();
      try {
        done(document.execCommand("copy") ? "Copied." : "Select the link and copy it.");
      } catch (e) {
        done("Select the link and copy it.");
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done("Copied."); }, fallback);
    } else {
      fallback();
    }
  });
})();
