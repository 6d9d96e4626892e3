/* Survey report charts (ECharts): dimension bars, the NPS breakdown, the comparison with the previous survey
   and one distribution per question, fed by the report's chart endpoint — the same figures as the tables
   beside them, which stay the accessible and printable source. */
(function () {
  "use strict";
  var charts = [];
  function make(el, option) {
    if (!window.echarts || !el || !option) { if (el) el.hidden = true; return; }
    var chart = window.echarts.init(el, null, {renderer: "svg"});
    option.animation = false;  // a report is read and printed, not watched: draw the final figures at once
    chart.setOption(option);
    charts.push(chart);
    el.dataset.ready = "1";
  }
  function bars(labels, series, ds, max) {
    return {
      tooltip: {trigger: "axis"}, legend: series.length > 1 ? {top: 0} : undefined,
      grid: {left: 8, right: 40, top: series.length > 1 ? 32 : 12, bottom: 8, containLabel: true},
      xAxis: {type: "value", max: max, axisLabel: {formatter: max === 100 ? "{value}%" : "{value}"}},
      yAxis: {type: "category", data: labels, inverse: true, axisLabel: {width: 90, overflow: "truncate"}},
      series: series
    };
  }
  function draw(data, root) {
    var ds = root.dataset;
    var d = data.dimensions;
    if (d.labels.length) {
      make(document.getElementById("dim-chart"), bars(d.labels, [
        {name: ds.topBox, type: "bar", color: "#206bc4", data: d.top_box, label: {show: true, position: "right", formatter: "{c}%"}},
        {name: ds.index, type: "bar", color: "#a5c8ef", data: d.mean_100}
      ], ds, 100));
    }
    var n = data.nps;
    if (n.values.some(function (v) { return v > 0; })) {
      make(document.getElementById("nps-chart"), {
        tooltip: {trigger: "item", formatter: "{b}: {c} ({d}%)"},
        legend: {bottom: 0},
        color: ["#2fb344", "#adb5bd", "#d63939"],
        series: [{type: "pie", radius: ["45%", "70%"], center: ["50%", "45%"], avoidLabelOverlap: true,
                  label: {show: true, position: "center", formatter: function () { return "NPS\n" + (n.nps === null ? "—" : n.nps); },
                          fontSize: 18, fontWeight: "bold", lineHeight: 24},
                  data: n.labels.map(function (l, i) { return {name: l, value: n.values[i]}; })}]
      });
    }
    var p = data.previous;
    if (p && p.labels.length) {
      make(document.getElementById("prev-chart"), bars(p.labels, [
        {name: ds.thisSurvey, type: "bar", color: "#206bc4", data: p.now},
        {name: p.name || ds.previousSurvey, type: "bar", color: "#adb5bd", data: p.before}
      ], ds, 100));
    }
    data.distributions.forEach(function (q) {
      var el = document.getElementById("dist-chart-" + q.id);
      if (!el || !q.values.some(function (v) { return v > 0; })) { if (el) el.hidden = true; return; }
      make(el, {
        tooltip: {trigger: "axis"}, grid: {left: 8, right: 8, top: 10, bottom: 4, containLabel: true},
        xAxis: {type: "category", data: q.labels, axisLabel: {interval: 0, width: 70, overflow: "truncate"}},
        yAxis: {type: "value", minInterval: 1}, series: [{type: "bar", color: "#206bc4", data: q.values, name: ds.answers}]
      });
    });
  }
  function init() {
    var root = document.getElementById("report-charts");
    if (!root || !window.echarts) return;
    fetch(root.dataset.src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) { draw(data, root); root.dataset.ready = "1"; })
      .catch(function () { root.dataset.ready = "error"; });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
