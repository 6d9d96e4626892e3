/* Kehu on a phone: registers the service worker (installable, the quick entry opens without signal) and keeps
   follow-ups written offline in IndexedDB, sending each once when the connection returns. The server refuses a
   replay: the same client_key answers 200 with the row it already has, never a second row. */
(function () {
  "use strict";
  var DB = "kehu-offline", STORE = "followups";

  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }

  function open() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "client_key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), out = fn(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }
  function status(html, kind) {
    var box = document.getElementById("offline-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "offline-status";
      box.setAttribute("role", "status");
      box.setAttribute("data-testid", "offline-status");
      box.style.cssText = "position:fixed;left:.5rem;right:.5rem;bottom:.5rem;z-index:2000";
      document.body.appendChild(box);
    }
    box.className = "alert alert-" + (kind || "info");
    box.innerHTML = html;
  }
  function esc(s) { var d = document.createElement("div"); d.textContent = String(s); return d.innerHTML; }
  function msg(name, fallback) {
    var form = document.querySelector("[data-offline-queue]");
    return (form && form.getAttribute("data-msg-" + name)) || document.documentElement.getAttribute("data-msg-" + name) || fallback;
  }

  var sending = false;
  function flush() {
    if (sending || !navigator.onLine) return Promise.resolve();
    sending = true;
    return tx("readonly", function (s) { return s.getAll(); }).then(function (items) {
      items = items || [];
      var sent = [], failed = [];
      var chain = Promise.resolve();
      items.forEach(function (item) {
        chain = chain.then(function () { return send(item); }).then(function (res) {
          if (res.ok) sent.push({ item: item, row: res.row });
          else if (res.refused) failed.push({ item: item, error: res.error });
        });
      });
      return chain.then(function () {
        if (!sent.length && !failed.length) return;
        var html = "";
        if (sent.length) {
          html += "<strong>" + esc(msg("sent", "Sent from this phone:")) + "</strong><ul class='mb-0'>" + sent.map(function (s) {
            return "<li data-testid='offline-sent'><a href='/followups/" + s.row.id + "/'>" + esc(s.row.customer_name) + "</a> · " +
              esc(s.item.data.summary.slice(0, 40)) + "</li>";
          }).join("") + "</ul>";
        }
        if (failed.length) {
          html += "<strong>" + esc(msg("failed", "Could not be sent:")) + "</strong><ul class='mb-0'>" + failed.map(function (f) {
            return "<li data-testid='offline-failed'>" + esc(f.item.label || "") + " · " + esc(f.item.data.summary.slice(0, 40)) + ": " + esc(f.error) + "</li>";
          }).join("") + "</ul>";
        }
        status(html, failed.length ? "warning" : "success");
      });
    }).catch(function () {}).then(function () { sending = false; });
  }

  function send(item) {
    var headers = { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json" };
    return fetch("/api/v1/engagement/interactions", { method: "POST", credentials: "same-origin", headers: headers,
                                                      body: JSON.stringify(item.data) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (r.status === 200 || r.status === 201) {
            return attach(item, body).then(function () {
              return tx("readwrite", function (s) { return s.delete(item.client_key); });
            }).then(function () { return { ok: true, row: body }; });
          }
          if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 408 && r.status !== 429) {
            // Refused for good (invalid, out of scope): drop it and say so, never retry forever.
            return tx("readwrite", function (s) { return s.delete(item.client_key); }).then(function () {
              return { refused: true, error: (body.error && body.error.message) || r.status };
            });
          }
          return { ok: false };  // logged out or a server hiccup: keep it for the next try
        });
      }, function () { return { ok: false }; });
  }
  function attach(item, row) {
    if (!item.photo) return Promise.resolve();
    var fd = new FormData();
    fd.append("file", item.photo, item.photo_name || "photo.jpg");
    return fetch("/api/v1/engagement/interactions/" + row.id + "/attachments", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() }, body: fd
    }).then(function () {}, function () {});
  }

  window.kehuOffline = {
    uuid: uuid,
    queue: function (item) {
      return tx("readwrite", function (s) { return s.put(item); }).then(function () {
        status(esc(msg("queued", "No connection: kept on this phone, sent when you are back online.")), "warning");
      });
    },
    flush: flush,
    pending: function () { return tx("readonly", function (s) { return s.count(); }); }
  };
  window.addEventListener("online", function () { flush(); });
  document.addEventListener("DOMContentLoaded", function () { flush(); });
})();
