"""Kehu on a phone's home screen: the web app manifest and the service worker, served from the site root so
the worker's scope is the whole site (Service-Worker-Allowed: /). The worker caches the shell (styles, scripts,
icons) and the quick entry page, so a rep can open it and write a follow-up where there is no signal; the
follow-up waits in the phone's IndexedDB (kehu/static/kehu/offline.js) until the connection returns."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

CACHE_VERSION = "kehu-v1"


@require_GET
@cache_control(max_age=3600, public=True)
def manifest(request):
    data = {
        "name": _("Kehu CRM"), "short_name": _("Kehu"), "lang": "zh-CN", "start_url": "/", "scope": "/",
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#206bc4",
        "description": _("Customers, follow-ups and service on the road."),
        "icons": [
            {"src": static("kehu/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("kehu/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
            {"src": static("kehu/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
        "shortcuts": [{"name": _("Record a follow-up"), "url": reverse("engagement:create")}],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


SW = """/* Kehu service worker: the shell and the quick entry page from the cache when offline; everything else from
   the network (the data is never cached here: it is scoped per user and must stay fresh). */
const CACHE = %(version)s;
const SHELL = %(shell)s;
const OFFLINE_PAGES = %(pages)s;
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL).catch(() => {})).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(req).then((hit) => hit || fetch(req).then((res) => {
      if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
      return res;
    })));
    return;
  }
  if (req.mode === "navigate" && OFFLINE_PAGES.includes(url.pathname)) {
    // Network first (fresh page, fresh CSRF token); the last copy when there is no signal.
    event.respondWith(fetch(req).then((res) => {
      if (res.ok && !res.redirected) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(url.pathname, copy)); }
      return res;
    }).catch(() => caches.match(url.pathname).then((hit) => hit || Response.error())));
  }
});
"""


@require_GET
def service_worker(request):
    shell = [static(p) for p in ("kehu/kehu.css", "kehu/kehu.js", "kehu/offline.js", "engagement/followups.js",
                                 "kehu/favicon.svg", "kehu/icon-192.png", "vendor/htmx/htmx.min.js",
                                 "vendor/tabler/js/tabler.min.js", "vendor/tabler/css/tabler.min.css")]
    body = SW % {"version": json.dumps(CACHE_VERSION), "shell": json.dumps(shell),
                 "pages": json.dumps([reverse("engagement:create")])}
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response
