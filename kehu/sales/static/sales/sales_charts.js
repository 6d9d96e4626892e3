/* Pipeline charts (ECharts), each from the JSON beside it — the same numbers as the table under it.
   <div data-sales-chart="bars|lines" data-source="id-of-json-script" data-series='["key:label", …]'> */
(function () {
  "use strict";
  function draw(el) {
    var src = document.getElementById(el.dataset.source);
    if (!window.echarts || !src) return;
    var data = JSON.parse(src.textContent);
    var kind = el.dataset.salesChart;
    var series = JSON.parse(el.dataset.series || "[]").map(function (spec, i) {
      var key = spec.split(":")[0], label = spec.slice(key.length + 1);
      var s = {name: label, type: kind === "lines" && i > 0 ? "line" : "bar", data: data[key]};
      if (kind === "lines" && i > 0) { s.yAxisIndex = 1; }
      return s;
    });
    var chart = window.echarts.init(el, null, {renderer: "svg"});
    var yAxis = kind === "lines" ? [{type: "value"}, {type: "value"}] : {type: "value"};
    chart.setOption({
      color: ["#206bc4", "#f59f00", "#2fb344"], tooltip: {trigger: "axis"}, legend: {bottom: 0},
      grid: {left: 8, right: 8, top: 16, bottom: 32, containLabel: true},
      xAxis: {type: "category", data: data[el.dataset.labels || "labels"], axisLabel: {interval: 0, rotate: 30}},
      yAxis: yAxis, series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function init() { document.querySelectorAll("[data-sales-chart]").forEach(draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
