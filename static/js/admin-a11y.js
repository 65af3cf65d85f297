// Names for controls Django's admin leaves without one, found by axe-core (tests/a11y):
// the date and time halves of a split date-time field, the select2 autocomplete boxes, and the
// filter icons of the two-box multi-select. Runs after the admin's own scripts have built them.
(function () {
  "use strict";
  function name() {
    // Split date-time: "<legend>Starts at</legend> Date: <input> Time: <input>".
    document.querySelectorAll("p.datetime").forEach(function (p) {
      var legend = p.closest("fieldset") ? p.closest("fieldset").querySelector("legend") : null;
      var prefix = legend ? legend.textContent.replace(/[:*]/g, "").trim() + ", " : "";
      var inputs = p.querySelectorAll("input.vDateField, input.vTimeField");
      inputs.forEach(function (input) {
        if (!input.hasAttribute("aria-label")) {
          var part = input.classList.contains("vDateField") ? "date" : "time";
          input.setAttribute("aria-label", prefix + part);
        }
      });
    });
    // select2 boxes: name them by the field's label as well as by the chosen value.
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = select.id ? document.querySelector("label[for='" + select.id + "']") : null;
      var box = select.nextElementSibling ? select.nextElementSibling.querySelector(".select2-selection[role='combobox']") : null;
      if (!box) { return; }
      var shown = box.querySelector(".select2-selection__rendered");
      if (label) {
        if (!label.id) { label.id = select.id + "-label"; }
        box.setAttribute("aria-labelledby", label.id + (shown && shown.id ? " " + shown.id : ""));
        // select2 marks the chosen value as a read-only textbox: it is named by the label too.
        if (shown) { shown.setAttribute("aria-labelledby", label.id); }
      } else {
        var header = select.closest("td") ? columnHeader(select.closest("td")) : "";
        if (header) { box.setAttribute("aria-label", header); }
      }
    });
    // A multiple select2 box (e.g. a site's staff): its typing field is named by the field's
    // label, and its mouse-only "clear all" cross, a bare span inside the list of choices,
    // is hidden from assistive technology (each choice keeps its own remove control).
    document.querySelectorAll("select.admin-autocomplete[multiple]").forEach(function (select) {
      var label = select.id ? document.querySelector("label[for='" + select.id + "']") : null;
      var container = select.nextElementSibling;
      if (!container) { return; }
      container.querySelectorAll(".select2-search__field").forEach(function (field) {
        if (label) { field.setAttribute("aria-label", label.textContent.replace(/[:*]/g, "").trim()); }
      });
      container.querySelectorAll(".select2-selection__rendered > :not(li)").forEach(function (extra) {
        extra.setAttribute("aria-hidden", "true");
      });
    });
    // The filter icons carry an aria-label on a bare span: make them images with that name.
    document.querySelectorAll(".help-tooltip[aria-label]").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }
  function columnHeader(cell) {
    var table = cell.closest("table");
    var th = table ? table.querySelectorAll("thead th")[cell.cellIndex] : null;
    return th ? th.textContent.trim() : "";
  }
  // After the admin's own ready handlers (select2 starts in one), and again once all has loaded.
  if (window.django && window.django.jQuery) { window.django.jQuery(name); }
  window.addEventListener("load", name);
  document.addEventListener("formset:added", function () { window.setTimeout(name, 0); });
  // select2 redraws a multiple box's choices on every change.
  if (window.django && window.django.jQuery) {
    window.django.jQuery(document).on("select2:select select2:unselect", function () {
      window.setTimeout(name, 0);
    });
  }
})();
