/* Quick entry of a follow-up: pick the customer (search or a recent one), check in with the browser's location
   only when asked, and write offline into the phone's queue (kehu/offline.js). */
(function () {
  "use strict";
  function init() {
    var form = document.querySelector("[data-testid=followup-form]");
    if (!form) return;
    var key = form.querySelector("input[name=client_key]");
    if (key && !key.value && window.kehuOffline) key.value = window.kehuOffline.uuid();
    var hidden = form.querySelector("#id_customer");
    var chosen = document.getElementById("customer-chosen"), picker = document.getElementById("customer-picker");
    var chosenName = document.getElementById("customer-chosen-name");
    form.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-customer-id]");
      if (b && hidden) {
        hidden.value = b.getAttribute("data-customer-id");
        chosenName.textContent = b.getAttribute("data-customer-name");
        chosen.classList.remove("d-none");
        picker.classList.add("d-none");
      }
      if (ev.target.id === "customer-change") {
        hidden.value = "";
        chosen.classList.add("d-none");
        picker.classList.remove("d-none");
        var s = document.getElementById("customer-search");
        if (s) s.focus();
      }
    });
    var checkIn = document.getElementById("check-in");
    if (checkIn) {
      checkIn.addEventListener("click", function () {
        var out = document.getElementById("check-in-status");
        if (!navigator.geolocation) { out.textContent = form.getAttribute("data-msg-no-location"); return; }
        navigator.geolocation.getCurrentPosition(function (pos) {
          form.querySelector("[name=latitude]").value = pos.coords.latitude.toFixed(6);
          form.querySelector("[name=longitude]").value = pos.coords.longitude.toFixed(6);
          form.querySelector("[name=location_accuracy_m]").value = Math.round(pos.coords.accuracy || 0);
          out.textContent = form.getAttribute("data-msg-located").replace("%(m)s", Math.round(pos.coords.accuracy || 0));
          checkIn.classList.add("btn-success");
        }, function () { out.textContent = form.getAttribute("data-msg-no-location"); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }
    if (!form.getAttribute("data-offline-queue")) return;
    form.addEventListener("submit", function (ev) {
      if (navigator.onLine || !window.kehuOffline) return;  // online: the ordinary form post
      ev.preventDefault();
      var get = function (n) { var el = form.querySelector("[name=" + n + "]"); return el ? el.value : ""; };
      var channel = form.querySelector("[name=channel]:checked");
      if (!hidden.value) { alert(form.getAttribute("data-msg-choose-customer")); return; }
      var data = { client_key: get("client_key") || window.kehuOffline.uuid(), customer: parseInt(hidden.value, 10),
                   channel: channel ? channel.value : "", summary: get("summary"), next_step: get("next_step"),
                   next_step_due: get("next_step_due") || null, direction: get("direction") || "outbound",
                   outcome: get("outcome"), occurred_at: new Date().toISOString(),
                   contacts: Array.prototype.map.call(form.querySelectorAll("[name=contacts]:checked"), function (c) { return parseInt(c.value, 10); }) };
      if (get("occurred_at")) data.occurred_at = new Date(get("occurred_at")).toISOString();
      if (get("latitude")) { data.latitude = get("latitude"); data.longitude = get("longitude"); data.location_accuracy_m = parseFloat(get("location_accuracy_m")) || null; }
      var photo = form.querySelector("[name=photo]");
      var file = photo && photo.files && photo.files[0];
      window.kehuOffline.queue({ client_key: data.client_key, data: data, label: chosenName.textContent,
                                 photo: file || null, photo_name: file ? file.name : "" }).then(function () {
        form.reset();
        key.value = window.kehuOffline.uuid();
        hidden.value = "";
        chosen.classList.add("d-none");
        picker.classList.remove("d-none");
        var list = document.getElementById("customer-choices");
        if (list) list.innerHTML = "";
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
