/* global document, fetch, setTimeout */
// The dashboard page's own script: polls /dashboard/state and draws SVG. No library, no network
// beyond this origin. Data only ever goes in through textContent/attributes, never as markup.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var POLL_MS = 2000;
  var COLORS = { allocated: '#4cc2ff', predicted: '#b28dff', measured: '#3ddc97', hit: '#3ddc97', p50: '#4cc2ff', p99: '#ffb547' };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function s(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function put(id, node) { var p = $(id); p.replaceChildren(node); }
  function pct(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%'; }
  function num(x) { return x === null || x === undefined ? '–' : x >= 1000 ? (x / 1000).toFixed(1) + 'k' : String(Math.round(x * 10) / 10); }
  function ms(x) { return x === null || x === undefined ? '–' : x < 10 ? x.toFixed(1) + ' ms' : Math.round(x) + ' ms'; }
  function hhmm(t) { var d = new Date(t); return d.toISOString().slice(11, 16); }
  function stamp(t) { var d = new Date(t); return d.toISOString().slice(5, 10) + ' ' + d.toISOString().slice(11, 19) + 'Z'; }
  // Through the CSSOM: the content security policy forbids style attributes in markup.
  function swatch(color) { var i = el('i'); i.style.background = color; return i; }
  function empty(text) { return el('div', { class: 'empty' }, text); }

  // Risk colour: dark blue (0) through amber to red (1).
  function heatColor(v) {
    var stops = [[0, [38, 56, 92]], [0.4, [60, 150, 200]], [0.7, [255, 181, 71]], [1, [255, 77, 94]]];
    for (var i = 1; i < stops.length; i++) {
      if (v <= stops[i][0]) {
        var a = stops[i - 1], b = stops[i], f = (v - a[0]) / (b[0] - a[0]);
        var c = a[1].map(function (x, j) { return Math.round(x + (b[1][j] - x) * f); });
        return 'rgb(' + c.join(',') + ')';
      }
    }
    return 'rgb(255,77,94)';
  }
  // A round axis maximum with four even steps (1, 2, 2.5 or 5 times a power of ten).
  function niceMax(v) {
    if (!(v > 0)) return 1;
    var raw = (v * 1.05) / 4, p = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (k) { return k * p; }).filter(function (x) { return x >= raw; })[0];
    return step * 4;
  }
  function trunc(t, n) { return t.length > n ? t.slice(0, n - 1) + '…' : t; }

  function drawHeat(h) {
    $('heat-hint').textContent = 'latest risk score per pair; hottest users and VMs first — ' + h.trackedPairs + ' pairs tracked, ' + h.records + ' risk records seen';
    if (!h.cells.length) return put('heat', empty('no risk.access records yet'));
    var left = 110, top = 84, cell = Math.max(26, Math.min(44, Math.floor(560 / Math.max(h.vms.length, 1))));
    var w = left + h.vms.length * cell + 10, hgt = top + h.users.length * cell + 34;
    var svg = s('svg', { viewBox: '0 0 ' + w + ' ' + hgt, id: 'heat-svg', role: 'img', 'aria-label': 'risk heat map' });
    h.vms.forEach(function (vm, i) {
      var x = left + i * cell + cell / 2;
      svg.appendChild(s('text', { x: x, y: top - 8, transform: 'rotate(-40 ' + x + ' ' + (top - 8) + ')' }, trunc(vm, 14)));
    });
    h.users.forEach(function (u, j) {
      svg.appendChild(s('text', { x: left - 8, y: top + j * cell + cell / 2 + 4, 'text-anchor': 'end' }, trunc(u, 15)));
      for (var i = 0; i < h.vms.length; i++) svg.appendChild(s('rect', { x: left + i * cell + 1, y: top + j * cell + 1, width: cell - 2, height: cell - 2, rx: 3, fill: '#141b2a' }));
    });
    h.cells.forEach(function (c) {
      var g = s('g', { class: 'cell', 'data-user': h.users[c.u], 'data-vm': h.vms[c.v], 'data-score': String(c.score) });
      g.appendChild(s('rect', { x: left + c.v * cell + 1, y: top + c.u * cell + 1, width: cell - 2, height: cell - 2, rx: 3, fill: heatColor(c.score) }));
      if (cell >= 30) g.appendChild(s('text', { class: 'cell-label', x: left + c.v * cell + cell / 2, y: top + c.u * cell + cell / 2 + 4, 'text-anchor': 'middle' }, c.score.toFixed(2).replace(/^0/, '')));
      var when = c.predictedAccessTime ? ', access expected ' + stamp(c.predictedAccessTime) : '';
      g.appendChild(s('title', {}, h.users[c.u] + ' → ' + h.vms[c.v] + ': risk ' + c.score.toFixed(3) + ' within ' + c.horizon + when + ' (model ' + c.modelVersion + ')'));
      svg.appendChild(g);
    });
    // Legend: the colour scale.
    var ly = hgt - 16, lw = 180;
    for (var k = 0; k < 30; k++) svg.appendChild(s('rect', { x: left + (k * lw) / 30, y: ly, width: lw / 30 + 0.5, height: 8, fill: heatColor(k / 29) }));
    svg.appendChild(s('text', { x: left - 8, y: ly + 8, 'text-anchor': 'end' }, 'risk 0'));
    svg.appendChild(s('text', { x: left + lw + 6, y: ly + 8 }, '1'));
    put('heat', svg);
  }

  function drawAlerts(alerts) {
    if (!alerts.length) return put('alerts', empty('no alerts'));
    var t = el('table', { id: 'alerts-table' });
    var head = el('tr');
    ['time', 'severity', 'alert'].forEach(function (x) { head.appendChild(el('th', {}, x)); });
    t.appendChild(head);
    alerts.forEach(function (a) {
      var tr = el('tr', { 'data-event-id': a.eventId });
      tr.appendChild(el('td', { class: 'time' }, stamp(a.timestamp)));
      var sev = el('td');
      sev.appendChild(el('span', { class: 'sev ' + a.severity }, a.severity));
      tr.appendChild(sev);
      var msg = el('td');
      msg.appendChild(el('div', {}, a.message));
      msg.appendChild(el('div', { class: 'subject' }, a.kind.toLowerCase().replace(/_/g, ' ') + ' · ' + a.subject));
      tr.appendChild(msg);
      t.appendChild(tr);
    });
    put('alerts', t);
  }

  // A line chart over time. series: [{name, color, points: [{t, y}] }]; y may be null (gap).
  function lineChart(id, title, series, o) {
    var all = [];
    series.forEach(function (x) { x.points.forEach(function (p) { if (p.y !== null) all.push(p); }); });
    var box = el('div');
    var legend = el('div', { class: 'legend' });
    legend.appendChild(el('span', {}, title));
    series.forEach(function (x) {
      var item = el('span');
      item.appendChild(swatch(x.color));
      item.appendChild(document.createTextNode(x.name));
      legend.appendChild(item);
    });
    box.appendChild(legend);
    if (!all.length) { box.appendChild(empty(o.emptyText)); return put(id, box); }
    var W = 320, H = 150, L = 44, R = 8, T = 6, B = 20;
    var t0 = Math.min.apply(null, all.map(function (p) { return p.t; }));
    var t1 = Math.max.apply(null, all.map(function (p) { return p.t; }));
    if (t1 === t0) { t0 -= o.bucketMs; t1 += o.bucketMs; }
    var yMax = o.yMax || niceMax(Math.max.apply(null, all.map(function (p) { return p.y; })));
    function X(t) { return L + ((t - t0) / (t1 - t0)) * (W - L - R); }
    function Y(y) { return T + (1 - y / yMax) * (H - T - B); }
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, id: id + '-svg' });
    for (var g = 0; g <= 4; g++) {
      var yv = (yMax * g) / 4;
      svg.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: Y(yv), y2: Y(yv), 'stroke-dasharray': g ? '2 3' : '' }));
      svg.appendChild(s('text', { x: L - 5, y: Y(yv) + 4, 'text-anchor': 'end' }, o.yFormat(yv)));
    }
    svg.appendChild(s('text', { x: L, y: H - 4 }, hhmm(t0)));
    svg.appendChild(s('text', { x: W - R, y: H - 4, 'text-anchor': 'end' }, hhmm(t1)));
    series.forEach(function (x) {
      var d = '', pen = false;
      x.points.forEach(function (p) {
        if (p.y === null) { pen = false; return; }
        d += (pen ? 'L' : 'M') + X(p.t).toFixed(1) + ' ' + Y(p.y).toFixed(1) + ' ';
        pen = true;
      });
      if (d) svg.appendChild(s('path', { d: d, fill: 'none', stroke: x.color, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
      x.points.forEach(function (p) { if (p.y !== null) svg.appendChild(s('circle', { cx: X(p.t), cy: Y(p.y), r: 2.5, fill: x.color })); });
    });
    box.appendChild(svg);
    put(id, box);
  }

  function drawDelivery(d, bucketMs) {
    var served = d.requests['pre-provisioned'] + d.requests.refreshed + d.requests['on-demand'];
    $('kpi-hit').textContent = served ? pct(d.hitRate) : '–';
    $('kpi-lat').textContent = d.p50Ms === null ? '–' : ms(d.p50Ms).replace(' ms', '') + ' / ' + ms(d.p99Ms);
    var r = d.requests, total = r['pre-provisioned'] + r.refreshed + r['on-demand'];
    $('kpi-req').textContent = num(total);
    $('kpi-req-note').textContent = r['pre-provisioned'] + ' pre · ' + r.refreshed + ' refreshed · ' + r['on-demand'] + ' on demand';
    $('kpi-pre').textContent = num(d.preProvisioned);
    $('kpi-pre-note').textContent = 'waste rate ' + pct(d.wasteRate) + ' · ' + d.failures + ' failures';
    var pts = function (f) { return d.series.map(function (p) { return { t: p.t, y: f(p) }; }); };
    lineChart('hit-chart', 'hit rate', [{ name: 'hit rate', color: COLORS.hit, points: pts(function (p) { return p.hitRate; }) }],
      { yMax: 1, yFormat: function (v) { return Math.round(v * 100) + '%'; }, bucketMs: bucketMs, emptyText: 'no access requests yet' });
    lineChart('lat-chart', 'latency', [
      { name: 'p50', color: COLORS.p50, points: pts(function (p) { return p.p50Ms; }) },
      { name: 'p99', color: COLORS.p99, points: pts(function (p) { return p.p99Ms; }) },
    ], { yFormat: function (v) { return v < 10 ? v.toFixed(1) : String(Math.round(v)); }, bucketMs: bucketMs, emptyText: 'no latency samples yet' });
  }

  function poolBars(p) {
    var box = el('div');
    var legend = el('div', { class: 'legend' });
    [['allocated', COLORS.allocated], ['predicted peak', COLORS.predicted], ['measured', COLORS.measured]].forEach(function (x) {
      var item = el('span');
      item.appendChild(swatch(x[1]));
      item.appendChild(document.createTextNode(x[0]));
      legend.appendChild(item);
    });
    box.appendChild(legend);
    if (!p.networks.length) { box.appendChild(empty('no client network forecasts or allocations yet')); return box; }
    var W = 320, L = 104, row = 26, H = p.networks.length * row + 18;
    var max = 1;
    p.networks.forEach(function (n) { max = Math.max(max, n.allocatedOpsPerSec, n.predictedPeakOpsPerSec, n.measuredOpsPerSec); });
    max = niceMax(max);
    function X(v) { return L + (v / max) * (W - L - 10); }
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, id: 'pool-bars-svg' });
    p.networks.forEach(function (n, i) {
      var y = i * row + 4;
      var g = s('g', { 'data-network': n.clientNetworkId });
      g.appendChild(s('text', { x: L - 6, y: y + 13, 'text-anchor': 'end' }, trunc(n.clientNetworkId, 16)));
      g.appendChild(s('rect', { x: L, y: y + 2, width: Math.max(0, X(n.allocatedOpsPerSec) - L), height: 16, rx: 2, fill: COLORS.allocated, opacity: 0.85 }));
      g.appendChild(s('rect', { x: L, y: y + 8, width: Math.max(0, X(n.measuredOpsPerSec) - L), height: 4, fill: COLORS.measured }));
      g.appendChild(s('line', { x1: X(n.predictedPeakOpsPerSec), x2: X(n.predictedPeakOpsPerSec), y1: y, y2: y + 20, stroke: COLORS.predicted, 'stroke-width': 3 }));
      var peak = n.predictedPeakTime ? ' at ' + stamp(n.predictedPeakTime) : '';
      g.appendChild(s('title', {}, n.clientNetworkId + ': ' + n.partitions + ' partition(s), ' + n.allocatedOpsPerSec + ' ops/s allocated; predicted peak ' + n.predictedPeakOpsPerSec + ' ops/s' + peak + '; measured ' + n.measuredOpsPerSec + ' ops/s; security risk ' + n.securityRisk));
      svg.appendChild(g);
    });
    svg.appendChild(s('text', { x: L, y: H - 2 }, '0'));
    svg.appendChild(s('text', { x: W - 10, y: H - 2, 'text-anchor': 'end' }, num(max) + ' ops/s'));
    box.appendChild(svg);
    return box;
  }

  function drawPool(p, bucketMs) {
    var cap = p.capacityOpsPerSec !== null ? ' of ' + num(p.capacityOpsPerSec) : '';
    var allocated = p.networks.reduce(function (a, n) { return a + n.allocatedOpsPerSec; }, 0);
    $('kpi-pool').textContent = p.partitionsAllocated + (p.partitionsTotal !== null ? ' / ' + p.partitionsTotal : '');
    $('kpi-pool-note').textContent = 'partitions allocated · ' + num(allocated) + cap + ' ops/s';
    put('pool-bars', poolBars(p));
    var pts = function (f) { return p.series.map(function (x) { return { t: x.t, y: f(x) }; }); };
    lineChart('pool-chart', 'over time', [
      { name: 'allocated', color: COLORS.allocated, points: pts(function (x) { return x.allocatedOpsPerSec; }) },
      { name: 'predicted', color: COLORS.predicted, points: pts(function (x) { return x.predictedPeakOpsPerSec; }) },
      { name: 'measured', color: COLORS.measured, points: pts(function (x) { return x.measuredOpsPerSec; }) },
    ], { yFormat: num, bucketMs: bucketMs, emptyText: 'no pool history yet' });
    if (!p.recent.length) return put('pool-recent', el('div'));
    var t = el('table', { id: 'pool-recent-table' });
    p.recent.slice(0, 5).forEach(function (r) {
      var tr = el('tr', { 'data-event-id': r.eventId });
      tr.appendChild(el('td', { class: 'time' }, stamp(r.at)));
      tr.appendChild(el('td', {}, r.clientNetworkId));
      tr.appendChild(el('td', {}, r.summary));
      t.appendChild(tr);
    });
    put('pool-recent', t);
  }

  function drawFeeds(feeds) {
    var box = el('div', { class: 'feeds', id: 'feeds' });
    Object.keys(feeds).sort().forEach(function (name) {
      var f = feeds[name];
      var why = f.state !== 'live' && f.detail ? ' — ' + trunc(f.detail, 60) : '';
      box.appendChild(el('span', { class: 'pill ' + f.state, title: f.detail || f.state }, name + ': ' + f.state + why));
    });
    $('feeds').replaceWith(box);
  }

  function render(st) {
    $('updated').textContent = 'snapshot ' + stamp(st.generatedAt) + ' · buckets of ' + Math.round(st.bucketMs / 1000) + ' s';
    drawFeeds(st.feeds);
    drawHeat(st.heat);
    drawAlerts(st.alerts);
    var crit = st.alerts.filter(function (a) { return a.severity === 'CRITICAL'; }).length;
    $('kpi-alerts').textContent = String(st.alerts.length);
    $('kpi-alerts-note').textContent = crit + ' critical · newest first below';
    drawDelivery(st.delivery, st.bucketMs);
    drawPool(st.pool, st.bucketMs);
    document.body.setAttribute('data-rendered', String(st.generatedAt));
  }

  function poll() {
    fetch('dashboard/state', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(render)
      .catch(function (err) { $('updated').textContent = 'cannot load the state (' + err.message + '); retrying'; })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
