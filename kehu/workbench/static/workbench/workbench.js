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

  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-chart]");
    if (!boxes.length || !window.echarts) return;
    fetch("/api/v1/workbench/charts", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { charts: [] }; })
      .then(function (body) {
        var byKey = {};
        body.charts.forEach(function (c) { byKey[c.key] = c; });
        boxes.forEach(function (el) {
          var chart = byKey[el.getAttribute("data-chart")];
          if (chart) { draw(el, chart); el.setAttribute("data-drawn", "true"); }
        });
      });
  });
})();
