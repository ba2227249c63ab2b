// warexempt: the little the page does in the browser. Everything works without it; this adds rows and copies.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function addRow(containerId) {
    var box = document.getElementById(containerId);
    if (!box || !box.lastElementChild) return;
    var last = box.lastElementChild;
    var copy = last.cloneNode(true);
    var n = box.children.length + 1;
    copy.querySelectorAll("input, select, label, p.field-error").forEach(function (el) {
      if (el.matches("p.field-error")) { el.remove(); return; }
      ["id", "for"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.replace(/-\d+$/, "-" + n));
      });
      if (el.tagName === "LABEL") el.textContent = el.textContent.replace(/\d+(?!.*\d)/, String(n));
      if (el.tagName === "INPUT") el.value = "";
      if (el.tagName === "SELECT") el.selectedIndex = 0;
      el.removeAttribute("aria-invalid");
    });
    box.appendChild(copy);
    if (window.htmx) window.htmx.process(copy);
    var first = copy.querySelector("input, select");
    if (first) first.focus();
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-add-row], [data-copy]");
    if (!t) return;
    if (t.dataset.addRow) addRow(t.dataset.addRow);
    if (t.dataset.copy) {
      var field = document.getElementById(t.dataset.copy);
      field.select();
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(function () {});
      t.setAttribute("aria-live", "polite");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var errors = document.getElementById("errors");
    if (errors) errors.focus();
  });
})();
