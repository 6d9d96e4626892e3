// The workbench's charts: one JSON request (/api/v1/workbench/charts, the same scoped selector as
// the tables printed beside the charts), drawn with ECharts. Without script the tables remain.
(function () {
  "use strict";
  var COLOURS = ["#206bc4", "#2fb344", "#f76707", "#d63939", "#ae3ec9"];

  function draw(el, chart) {
    var instance = window.echarts.init(el, null, { renderer: "svg" });
    instance.setOption({
      color: COLOURS,
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { show: chart.series.length > 1, bottom: 0 },
      grid: { left: 8, right: 8, top: 16, bottom: chart.series.length > 1 ? 32 : 8, containLabel: true },
      xAxis: { type: "category", data: chart.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: chart.series.map(function (s) {
        return { name: s.name, type: chart.kind === "line" ? "line" : "bar", data: s.data, smooth: false };
      })
    });
    window.addEventListener("resize", function () { instance.resize(); });
  }

  function load(boxes, attempt) {
    fetch("/api/v1/workbench/charts", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status >= 500 && attempt < 2) { setTimeout(function () { load(boxes, attempt + 1); }, 300); return null; }
        return r.ok ? r.json() : { charts: [] };
      })
      .then(function (body) {
        if (!body) return;
        var byKey = {};
        body.charts.forEach(function (c) { byKey[c.key] = c; });
        boxes.forEach(function (el) {
          var chart = byKey[el.getAttribute("data-chart")];
          if (chart) { draw(el, chart); el.setAttribute("data-drawn", "true"); }
        });
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-chart]");
    if (!boxes.length || !window.echarts) return;
    // After the header's badge request (one request at a time: both touch the session), or at the
    // latest after a second.
    var started = false;
    var start = function () { if (!started) { started = true; load(boxes, 0); } };
    document.body.addEventListener("htmx:afterRequest", start, { once: true });
    setTimeout(start, 1000);
  });
})();
