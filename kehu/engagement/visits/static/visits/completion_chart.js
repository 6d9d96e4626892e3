/* Visit completion per account manager (ECharts), from the same rows as the table below it. */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("completion-chart");
    var src = document.getElementById("completion-data");
    if (!window.echarts || !el || !src) return;
    var data = JSON.parse(src.textContent);
    var chart = window.echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      color: ["#206bc4"], tooltip: {trigger: "axis"},
      grid: {left: 8, right: 24, top: 8, bottom: 8, containLabel: true},
      yAxis: {type: "category", data: data.labels, inverse: true, axisLabel: {width: 90, overflow: "truncate"}},
      xAxis: {type: "value", max: 100},
      series: [{name: el.dataset.label, type: "bar", data: data.rates, label: {show: true, position: "right"}}]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
