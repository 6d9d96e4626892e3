/* Walk-ins and calls per day (ECharts), from the same rows as the table below it. */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("reception-chart");
    var src = document.getElementById("reception-data");
    if (!window.echarts || !el || !src) return;
    var data = JSON.parse(src.textContent);
    var chart = window.echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      color: ["#206bc4", "#f59f00"], tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 8, right: 16, top: 32, bottom: 8, containLabel: true},
      xAxis: {type: "category", data: data.labels}, yAxis: {type: "value", minInterval: 1},
      series: [{name: el.dataset.walkIns, type: "bar", stack: "n", data: data.walk_ins},
               {name: el.dataset.calls, type: "bar", stack: "n", data: data.calls}]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
