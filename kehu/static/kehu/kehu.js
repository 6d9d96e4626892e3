// Kehu's few lines of script: everything else is server-rendered with htmx.
(function () {
  "use strict";
  // The customer form shows the USCC for organisations and the mobile / ID number for persons.
  function syncKind(form) {
    var kind = form.querySelector("[name=kind]");
    if (!kind) return;
    form.querySelectorAll("[data-kind]").forEach(function (el) {
      el.hidden = el.getAttribute("data-kind") !== kind.value;
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "kind" && e.target.form) syncKind(e.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-customer-form]").forEach(syncKind);
  });

  // A button with data-copy="#input" copies that input's value; the input selects itself on focus.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.focus();
    input.select();
    var done = function () {
      var label = button.getAttribute("data-copied-label");
      if (label) button.textContent = label;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy") && done(); });
    } else if (document.execCommand("copy")) {
      done();
    }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target && e.target.hasAttribute && e.target.hasAttribute("data-select-on-focus")) e.target.select();
  });
  // A form with data-question asks it before submitting (no inline onsubmit: the CSP forbids them).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form && form.hasAttribute && form.hasAttribute("data-question") &&
        !window.confirm(form.getAttribute("data-question"))) e.preventDefault();
  });
  // A submit button with data-confirm asks first.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) e.preventDefault();
  });
})();
