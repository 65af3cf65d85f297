// After a form comes back with errors, focus moves to a summary at its top that names each
// problem and links to its field (WCAG 3.3.1, GOV.UK's error summary pattern).
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main) { return; }
  var fields = main.querySelectorAll("form .is-invalid, form [aria-invalid='true']");
  var nonField = main.querySelectorAll("form .alert-danger");
  if (!fields.length && !nonField.length) { return; }

  function labelOf(field) {
    var label = field.id ? document.querySelector("label[for='" + field.id + "']") : null;
    if (!label) {
      var group = field.closest("fieldset");
      label = group ? group.querySelector("legend") : null;
    }
    var text = label ? label.textContent : (field.getAttribute("aria-label") || field.name || "");
    return text.replace(/\*/g, "").trim();
  }

  function messageOf(field) {
    var described = (field.getAttribute("aria-describedby") || "").split(/\s+/);
    for (var i = 0; i < described.length; i++) {
      var el = described[i] ? document.getElementById(described[i]) : null;
      if (el && el.classList.contains("invalid-feedback")) { return el.textContent.trim(); }
    }
    var box = field.closest(".mb-3, .form-group, [class*='col'], fieldset") || field.parentElement;
    var feedback = box ? box.querySelector(".invalid-feedback, .invalid-tooltip") : null;
    return feedback ? feedback.textContent.trim() : "";
  }

  var items = [];
  var seen = {};
  for (var n = 0; n < nonField.length; n++) {
    items.push({text: nonField[n].textContent.trim()});
  }
  for (var i = 0; i < fields.length; i++) {
    var field = fields[i];
    if (!/^(INPUT|SELECT|TEXTAREA)$/.test(field.tagName)) {
      field = field.querySelector("input, select, textarea") || field;
    }
    var key = field.name || field.id;
    if (!key || seen[key]) { continue; }
    seen[key] = true;
    if (!field.id) { continue; }
    var message = messageOf(field);
    var label = labelOf(field);
    items.push({id: field.id, text: label ? label + ": " + message : message});
  }
  if (!items.length) { return; }

  var form = (fields[0] || nonField[0]).closest("form");
  var summary = document.createElement("div");
  summary.className = "error-summary";
  summary.setAttribute("tabindex", "-1");
  summary.setAttribute("aria-labelledby", "error-summary-title");
  var title = document.createElement("h2");
  title.id = "error-summary-title";
  title.textContent = items.length === 1 ? "There is a problem" : "There are " + items.length + " problems";
  summary.appendChild(title);
  var list = document.createElement("ul");
  items.forEach(function (item) {
    var li = document.createElement("li");
    if (item.id) {
      var link = document.createElement("a");
      link.href = "#" + item.id;
      link.textContent = item.text;
      link.addEventListener("click", function (event) {
        var target = document.getElementById(item.id);
        if (!target) { return; }
        event.preventDefault();
        target.focus();
        target.scrollIntoView({block: "center"});
      });
      li.appendChild(link);
    } else {
      li.textContent = item.text;
    }
    list.appendChild(li);
  });
  summary.appendChild(list);
  form.parentNode.insertBefore(summary, form);
  summary.focus();
})();
