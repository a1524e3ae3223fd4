// Draws each chart of a dashboard page with ECharts from the rows the server embedded as JSON
// (no inline script: the page's Content-Security-Policy forbids it). Spec: {type, x, y, series, label};
// the server sends each column's heading in the page's language as data.labels.
(function () {
  "use strict";
  var palette = ["#005a8c", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d"];
  var geojsonPromise = null;

  function columnIndex(columns, name) { return columns.indexOf(name); }

  function heading(data, name) { return (data.labels && data.labels[name]) || name; }

  function seriesOf(data) {
    var spec = data.spec, cols = data.columns, rows = data.rows;
    var xi = columnIndex(cols, spec.x), kind = spec.type === "bar" ? "bar" : "line";
    var categories = [], seen = {};
    rows.forEach(function (r) { var k = String(r[xi]); if (!seen[k]) { seen[k] = true; categories.push(k); } });
    var out = [];
    if (spec.series) {
      var si = columnIndex(cols, spec.series), yi = columnIndex(cols, spec.y[0]), groups = {}, order = [];
      rows.forEach(function (r) {
        var g = String(r[si]);
        if (!groups[g]) { groups[g] = {}; order.push(g); }
        groups[g][String(r[xi])] = r[yi];
      });
      order.forEach(function (g) {
        out.push({ name: g, type: kind, smooth: kind === "line", stack: kind === "bar" ? "total" : undefined,
          data: categories.map(function (c) { return groups[g][c] === undefined ? null : groups[g][c]; }) });
      });
    } else {
      spec.y.forEach(function (name) {
        var yi = columnIndex(cols, name);
        out.push({ name: heading(data, name), type: kind, smooth: kind === "line", data: rows.map(function (r) { return r[yi]; }) });
      });
    }
    return { categories: categories, series: out };
  }

  function cartesian(data) {
    var built = seriesOf(data);
    return {
      color: palette, animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 48, containLabel: true },
      xAxis: { type: "category", data: built.categories, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value" },
      dataZoom: built.categories.length > 40 ? [{ type: "inside" }, { type: "slider", height: 18 }] : [],
      series: built.series
    };
  }

  function map(data) {
    var spec = data.spec, cols = data.columns, xi = columnIndex(cols, spec.x), yi = columnIndex(cols, spec.y[0]);
    var values = data.rows.map(function (r) { return { name: String(r[xi]), value: r[yi] }; });
    var max = Math.max.apply(null, values.map(function (v) { return v.value || 0; }).concat([1]));
    return {
      animation: false,
      tooltip: { trigger: "item", formatter: function (p) { return (p.data && p.data.label || p.name) + " · " + heading(data, spec.y[0]) + ": " + (p.value === undefined || isNaN(p.value) ? "—" : p.value); } },
      visualMap: { min: 0, max: max, calculable: true, left: 0, bottom: 0, inRange: { color: ["#e6f0f6", "#005a8c"] } },
      series: [{ type: "map", map: "taoyuan", nameProperty: "code", roam: false,
        label: { show: true, fontSize: 10, formatter: function (p) { return p.data && p.data.label || ""; } },
        data: values.map(function (v, i) { v.label = spec.label ? data.rows[i][columnIndex(cols, spec.label)] : v.name; return v; }) }]
    };
  }

  function draw(element) {
    var holder = document.getElementById(element.getAttribute("data-chart"));
    if (!holder || !window.echarts) { return; }
    var data = JSON.parse(holder.textContent);
    var chart = echarts.init(element, null, { renderer: "canvas" });
    element.__chart = chart;
    if (data.spec.type === "map") {
      if (!geojsonPromise) {
        geojsonPromise = fetch(element.getAttribute("data-geojson")).then(function (r) { return r.json(); })
          .then(function (geo) { echarts.registerMap("taoyuan", geo); });
      }
      geojsonPromise.then(function () { chart.setOption(map(data)); element.setAttribute("data-drawn", "1"); });
    } else {
      chart.setOption(cartesian(data));
      element.setAttribute("data-drawn", "1");
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function exportPng(event) {
    var button = event.currentTarget, element = document.getElementById(button.getAttribute("data-target"));
    if (!element || !element.__chart) { return; }
    var link = document.createElement("a");
    link.href = element.__chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
    link.download = button.getAttribute("data-filename");
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
  document.querySelectorAll(".png-export").forEach(function (b) { b.addEventListener("click", exportPng); });
})();
