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
})();
