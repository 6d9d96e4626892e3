/* Plan vs allocation per participant (ECharts), fed by the same scoped selector as the shares table
   beside it (GET /api/v1/allocation/rounds/{id}/chart); the table stays the accessible source. */
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("allocation-chart");
    if (!window.echarts || !el) return;
    fetch(el.dataset.src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (!data.categories.length) { el.hidden = true; return; }
        var narrow = el.clientWidth < 576;
        var chart = window.echarts.init(el, null, {renderer: "svg"});
        var num = function (v) { return Number(v); };
        chart.setOption({
          color: ["#adb5bd", "#206bc4"], tooltip: {trigger: "axis"}, legend: {top: 0},
          grid: {left: 8, right: 16, top: 32, bottom: 8, containLabel: true},
          // Horizontal bars: long Chinese company names stay readable on a phone.
          yAxis: {type: "category", data: data.categories, inverse: true,
                  axisLabel: {width: narrow ? 90 : 200, overflow: "truncate"}},
          xAxis: {type: "value", name: "t"},
          series: [
            {name: el.dataset.plan, type: "bar", data: data.plan_t.map(num)},
            {name: el.dataset.allocated, type: "bar", data: data.allocated_t.map(num)}
          ]
        });
        window.addEventListener("resize", function () { chart.resize(); });
        el.dataset.ready = "1";
      })
      .catch(function () { el.hidden = true; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
