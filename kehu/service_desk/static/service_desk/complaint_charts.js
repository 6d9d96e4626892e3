/* Complaint report charts (ECharts), fed by the same JSON API and scoped selectors as the tables
   beside them; the tables stay the accessible, printable source of the figures. */
(function () {
  "use strict";
  function draw(el, build) {
    if (!window.echarts || !el) return;
    fetch(el.dataset.src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        var option = build(data, el.dataset);
        if (!option) { el.hidden = true; return; }
        var chart = window.echarts.init(el, null, {renderer: "svg"});
        chart.setOption(option);
        window.addEventListener("resize", function () { chart.resize(); });
        el.dataset.ready = "1";
      })
      .catch(function () { el.hidden = true; });
  }
  var palette = ["#2fb344", "#d63939", "#f76707", "#adb5bd"];
  function sla(data, ds) {
    if (!data.rows.length) return null;
    var labels = data.rows.map(function (r) { return r.label; });
    var keys = ["answered_in_time", "answered_late", "open_overdue", "pending"];
    var names = [ds.inTime, ds.late, ds.overdue, ds.pending];
    return {
      color: palette, tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 40, right: 40, top: 36, bottom: 40, containLabel: true},
      xAxis: {type: "category", data: labels, axisLabel: {interval: 0, rotate: labels.length > 6 ? 30 : 0}},
      yAxis: [{type: "value", minInterval: 1}, {type: "value", max: 100, axisLabel: {formatter: "{value}%"}}],
      series: keys.map(function (k, i) {
        return {name: names[i], type: "bar", stack: "n", data: data.rows.map(function (r) { return r[k]; })};
      }).concat([{name: ds.compliance, type: "line", yAxisIndex: 1, color: "#206bc4",
                  data: data.rows.map(function (r) { return r.compliance_pct; })}])
    };
  }
  function pareto(data, ds) {
    if (!data.rows.length) return null;
    return {
      tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 40, right: 40, top: 36, bottom: 40, containLabel: true},
      xAxis: {type: "category", data: data.rows.map(function (r) { return r.label; }), axisLabel: {interval: 0, rotate: 30}},
      yAxis: [{type: "value", minInterval: 1}, {type: "value", max: 100, axisLabel: {formatter: "{value}%"}}],
      series: [
        {name: ds.count, type: "bar", color: "#206bc4", data: data.rows.map(function (r) { return r.count; })},
        {name: ds.cumulative, type: "line", yAxisIndex: 1, color: "#f76707",
         data: data.rows.map(function (r) { return r.cumulative_pct; })}
      ]
    };
  }
  function init() {
    draw(document.getElementById("sla-chart"), sla);
    draw(document.getElementById("causes-chart"), pareto);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
