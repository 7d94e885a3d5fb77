// rangeguard live console: draws what the server pushes; sends nothing that commands anything.
// Map: plate carree in SVG, x = (lon - lon0) * cos(lat0), y = -lat (degrees), from the vendored
// Natural Earth coastline the server serves (/api/coastline); no tiles, no network beyond this server.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const hist = { t_s: [], alt_m: [], speed_mps: [], lat_deg: [], lon_deg: [], iip_lat_deg: [], iip_lon_deg: [] };
let mission = null;
let latest = null;
let tTerminate = null;  // the thrust termination (terminate) command's time
let tDestruct = null;  // the destruct command's time (status state DESTRUCTED)
let lastMessageAt = 0;
let proj = null;
let dirty = false;
let historyMax = 20000; // the server's history bound (snapshot.history_max): the page keeps no more

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function makeProjection(bbox) {
  const lat0 = (bbox[1] + bbox[3]) / 2;
  const lonRef = mission.site.lon_deg;
  const k = Math.max(Math.cos(lat0 * Math.PI / 180), 0.05);
  const unwrap = (lon) => lonRef + ((((lon - lonRef + 180) % 360) + 360) % 360) - 180;
  return {
    x: (lon) => (unwrap(lon) - lonRef) * k,
    y: (lat) => -lat,
    box: (b) => { // [lon0, lat0, lon1, lat1] -> viewBox (lon values already near lonRef)
      const x0 = (b[0] - lonRef) * k, x1 = (b[2] - lonRef) * k;
      return [x0, -b[3], x1 - x0, b[3] - b[1]];
    },
  };
}

function pathOf(lats, lons, close) {
  let d = "";
  let pen = false;
  for (let i = 0; i < lats.length; i++) {
    if (lats[i] === null || lons[i] === null) { pen = false; continue; }
    d += (pen ? "L" : "M") + proj.x(lons[i]).toFixed(4) + "," + proj.y(lats[i]).toFixed(4);
    pen = true;
  }
  return close && d ? d + "Z" : d;
}

function drawStatic(svg, coast) {
  svg.innerHTML = "";
  const g = el("g", {}, svg);
  for (const f of coast.features) {
    const c = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates;
    const d = pathOf(c.map((p) => p[1]), c.map((p) => p[0]), f.geometry.type === "Polygon");
    if (f.properties.kind === "land") el("path", { d, fill: "#efe6d2", stroke: "none" }, g);
    else el("path", { d, fill: "none", stroke: "#6b6b6b", "stroke-width": 0.6, "vector-effect": "non-scaling-stroke" }, g);
  }
  for (const a of mission.areas) {
    const d = pathOf(a.lat_deg, a.lon_deg, true);
    if (a.kind === "protected") {
      el("path", { d, fill: "rgba(214,39,40,0.15)", stroke: "#d62728", "stroke-width": 1.2, "vector-effect": "non-scaling-stroke" }, g)
        .appendChild(document.createElementNS(SVGNS, "title")).textContent = a.name;
    } else {
      el("path", { d, fill: "none", stroke: "#1f4fbf", "stroke-width": 1.5, "stroke-dasharray": "6 4", "vector-effect": "non-scaling-stroke", class: "corridor" }, g);
    }
  }
  for (const gate of mission.gates) {
    el("path", { d: pathOf(gate.lat_deg, gate.lon_deg, false), fill: "none", stroke: "#7b3fa0", "stroke-width": 3, "vector-effect": "non-scaling-stroke" }, g);
  }
  const dyn = el("g", { class: "dynamic" }, svg);
  el("path", { class: "iip", fill: "none", stroke: "#ff7f0e", "stroke-width": 1.8, "vector-effect": "non-scaling-stroke" }, dyn);
  el("path", { class: "track", fill: "none", stroke: "#222", "stroke-width": 2.2, "vector-effect": "non-scaling-stroke" }, dyn);
  el("circle", { class: "site", fill: "gold", stroke: "#000", "vector-effect": "non-scaling-stroke", cx: proj.x(mission.site.lon_deg), cy: proj.y(mission.site.lat_deg) }, dyn);
  el("circle", { class: "iip-now", fill: "none", stroke: "#ff7f0e", "stroke-width": 3, "vector-effect": "non-scaling-stroke", visibility: "hidden" }, dyn);
  el("circle", { class: "vehicle", fill: "#222", stroke: "#fff", "stroke-width": 1.5, "vector-effect": "non-scaling-stroke", visibility: "hidden" }, dyn);
}

function setView(svg, vb) {
  svg.setAttribute("viewBox", vb.map((v) => v.toFixed(4)).join(" "));
  const r = Math.max(vb[2], vb[3]) * 0.012;
  for (const c of svg.querySelectorAll("circle")) c.setAttribute("r", c.classList.contains("site") ? r * 1.2 : r);
}

function zoomBox() {
  // the flight itself (site, track, IIP trace), at least 2.5 degrees across
  const xs = [proj.x(mission.site.lon_deg)], ys = [proj.y(mission.site.lat_deg)];
  for (let i = 0; i < hist.t_s.length; i++) {
    for (const [la, lo] of [[hist.lat_deg[i], hist.lon_deg[i]], [hist.iip_lat_deg[i], hist.iip_lon_deg[i]]]) {
      if (la !== null && lo !== null) { xs.push(proj.x(lo)); ys.push(proj.y(la)); }
    }
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const x of xs) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
  for (const y of ys) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const span = Math.max(x1 - x0, y1 - y0, 2.5) * 1.25;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return [cx - span / 2, cy - span * 0.55, span, span * 1.1];
}

function updateMaps() {
  const track = pathOf(hist.lat_deg, hist.lon_deg, false);
  const iip = pathOf(hist.iip_lat_deg, hist.iip_lon_deg, false);
  for (const svg of [document.getElementById("map-overview"), document.getElementById("map-zoom")]) {
    svg.querySelector("path.track").setAttribute("d", track);
    svg.querySelector("path.iip").setAttribute("d", iip);
    const v = svg.querySelector("circle.vehicle"), p = svg.querySelector("circle.iip-now");
    if (latest && latest.lat_deg !== null) {
      v.setAttribute("cx", proj.x(latest.lon_deg)); v.setAttribute("cy", proj.y(latest.lat_deg)); v.setAttribute("visibility", "visible");
    }
    if (latest && latest.iip_lat_deg !== null) {
      p.setAttribute("cx", proj.x(latest.iip_lon_deg)); p.setAttribute("cy", proj.y(latest.iip_lat_deg)); p.setAttribute("visibility", "visible");
    } else p.setAttribute("visibility", "hidden");
  }
  setView(document.getElementById("map-zoom"), zoomBox());
}

function fmtMargin(m, unit) {
  // distances in km (margins of polygon rules run to thousands of km), others in the rule's unit
  if (m === null) return "\u2013";
  const v = unit === "m" ? m / 1000 : m;
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

function updateRules() {
  const body = document.querySelector("#rules tbody");
  const rows = latest ? latest.rules : mission.rules.map((r) => ({ name: r.name, margin: null, unit: r.unit, status: "grey" }));
  body.innerHTML = "";
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.className = r.status + (latest && latest.fired_by === r.name ? " fired" : "");
    tr.dataset.rule = r.name;
    tr.dataset.status = r.status;
    tr.innerHTML = `<td><span class="dot ${r.status}" title="${r.status}"></span></td><td></td><td class="num"></td><td></td>`;
    tr.children[1].textContent = r.name + (latest && latest.fired_by === r.name ? "  \u25C0 FIRED" : "");
    tr.children[2].textContent = fmtMargin(r.margin, r.unit);
    tr.children[3].textContent = r.unit === "m" ? "km" : r.unit;
    body.appendChild(tr);
  }
}

function updateBanner() {
  const b = document.getElementById("banner");
  const s = document.getElementById("banner-state");
  const d = document.getElementById("banner-detail");
  if (!latest) return;
  const state = latest.state;
  b.className = "banner state-" + state;
  if (state === "TERMINATED" || state === "DESTRUCTED") {
    s.textContent = "TERMINATED" + (tTerminate !== null ? ` T+${tTerminate.toFixed(2)} s` : "");
    if (state === "DESTRUCTED") s.textContent += ", DESTRUCT" + (tDestruct !== null ? ` T+${tDestruct.toFixed(2)} s` : "");
    d.textContent = latest.fired_by ? `fired by rule ${latest.fired_by}` : "";
  } else {
    s.textContent = state;
    d.textContent = { SAFE: "not armed (before liftoff)", ARMED: "armed: watching every rule", SAFED: "safed for good: no rule can terminate" }[state] || "";
  }
  document.getElementById("reason").textContent = latest.reason || "";
  updateSecurity();
  document.getElementById("t-now").textContent = latest.t_s === null ? "\u2013" : latest.t_s.toFixed(2);
  document.getElementById("alt-now").textContent = latest.alt_m === null ? "\u2013" : (latest.alt_m / 1000).toFixed(2);
  document.getElementById("speed-now").textContent = latest.speed_mps === null ? "\u2013" : latest.speed_mps.toFixed(0);
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function plot(canvasId, key, scale, envKey) {
  const cv = document.getElementById(canvasId);
  const ctx = cv.getContext("2d");
  const W = cv.width, H = cv.height, L = 52, R = 10, T = 8, B = 30;
  ctx.clearRect(0, 0, W, H);
  const t = hist.t_s, y = hist[key];
  const tMax = Math.max(10, t.length ? t[t.length - 1] * 1.1 : 10);
  const series = [];
  for (const env of (mission.envelopes[envKey] || [])) {
    for (const side of ["lower", "upper"]) {
      if (!env[side]) continue;
      series.push({ t: env.t_s, y: env[side].map((v) => (v === null ? null : v * scale)), dash: side === "lower" ? [6, 4] : [2, 3], color: "#d62728" });
    }
  }
  series.push({ t, y: y.map((v) => (v === null ? null : v * scale)), dash: [], color: "#111", width: 2 });
  let yMin = Infinity, yMax = -Infinity;
  for (const s of series) for (let i = 0; i < s.t.length; i++) if (s.y[i] !== null && s.t[i] <= tMax) { yMin = Math.min(yMin, s.y[i]); yMax = Math.max(yMax, s.y[i]); }
  if (!isFinite(yMin)) { yMin = 0; yMax = 1; }
  if (yMax - yMin < 1e-9) yMax = yMin + 1;
  const pad = (yMax - yMin) * 0.05; yMin -= pad; yMax += pad;
  const X = (v) => L + (v / tMax) * (W - L - R), Y = (v) => T + (1 - (v - yMin) / (yMax - yMin)) * (H - T - B);
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#444"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  const ys = niceStep((yMax - yMin) / 6);
  for (let v = Math.ceil(yMin / ys) * ys; v <= yMax; v += ys) {
    ctx.beginPath(); ctx.moveTo(L, Y(v)); ctx.lineTo(W - R, Y(v)); ctx.stroke();
    ctx.fillText(v.toFixed(ys < 1 ? 1 : 0), 2, Y(v) + 4);
  }
  const ts = niceStep(tMax / 8);
  for (let v = 0; v <= tMax; v += ts) ctx.fillText(v.toFixed(0), X(v) - 8, H - 12);
  ctx.fillText("flight time T+, s", W / 2 - 40, H - 1);
  ctx.save(); ctx.beginPath(); ctx.rect(L, T, W - L - R, H - T - B); ctx.clip();
  for (const s of series) {
    ctx.setLineDash(s.dash); ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.2;
    ctx.beginPath(); let pen = false;
    for (let i = 0; i < s.t.length; i++) {
      if (s.y[i] === null) { pen = false; continue; }
      if (pen) ctx.lineTo(X(s.t[i]), Y(s.y[i])); else ctx.moveTo(X(s.t[i]), Y(s.y[i]));
      pen = true;
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (tTerminate !== null) { ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(X(tTerminate), T); ctx.lineTo(X(tTerminate), H - B); ctx.stroke(); }
  ctx.restore();
}

function render() {
  dirty = false;
  if (!mission || !proj) return;
  updateBanner();
  updateRules();
  updateMaps();
  plot("plot-alt", "alt_m", 1e-3, "altitude_m");
  plot("plot-speed", "speed_mps", 1, "speed_mps");
}

function schedule() { if (!dirty) { dirty = true; requestAnimationFrame(render); } }

function push(m) {
  if (m.t_s === null) { latest = m; return; }
  const n = hist.t_s.length;
  if (n && m.t_s < hist.t_s[n - 1]) return; // out of order: keep the plots monotonic
  for (const k of Object.keys(hist)) {
    hist[k].push(m[k]);
    if (hist[k].length > historyMax) hist[k].splice(0, hist[k].length - historyMax);
  }
  latest = m;
  if ((m.state === "TERMINATED" || m.state === "DESTRUCTED") && tTerminate === null) tTerminate = m.t_s;
  if (m.state === "DESTRUCTED" && tDestruct === null) tDestruct = m.t_s;
}

let consoleAuthenticated = null;  // from the intake report: does the console check MACs (--key)?

function updateSecurity() {
  // the AFSS's own account of its link and its load, from the counters in every status packet
  const link = (latest && latest.link) || {};
  const digest = latest ? latest.load_sha256 : null;
  document.getElementById("load").textContent = digest ? digest.slice(0, 16) + "\u2026" : (latest ? "UNSEALED" : "\u2013");
  document.getElementById("load").title = digest || "";
  const mac = link.auth_bad_mac || 0, replay = link.auth_replay || 0;
  const source = (link.auth_unknown_source || 0) + (link.rejected_address || 0);
  document.getElementById("auth-drops").textContent = String(mac + replay + source);
  document.getElementById("auth-detail").textContent = mac + replay + source
    ? `(bad MAC ${mac} \u00b7 replay ${replay} \u00b7 unknown source ${source})` : "";
  const warnings = [];
  if (link.insecure_link) warnings.push("INSECURE: the AFSS takes and sends unauthenticated packets (--insecure, lab use only)");
  if (latest && !digest) warnings.push("UNSEALED: the AFSS flies a mission file, not a sealed load (--unsealed, lab use only)");
  if (consoleAuthenticated === false) warnings.push("this console does not check status MACs (no --key): what it shows may be forged");
  const box = document.getElementById("security");
  box.textContent = warnings.join(" \u2014 ");
  box.hidden = warnings.length === 0;
}

function updateIntake(msg) {
  if (typeof msg.authenticated === "boolean") consoleAuthenticated = msg.authenticated;
  // what the console turned away, and the alarm when two senders on allowed addresses speak at once
  const c = msg.counters || {};
  const parts = [["sender", c.rejected_sender], ["oversized", c.oversized], ["auth", c.rejected_auth]]
    .filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  document.getElementById("rejected").textContent = String((c.rejected_sender || 0) + (c.oversized || 0) + (c.rejected_auth || 0));
  document.getElementById("rejected-detail").textContent = parts.length ? "(" + parts.join(" \u00b7 ") + ")" : "";
  const alarm = document.getElementById("alarm");
  const senders = msg.senders || [];
  if (senders.length > 1) {
    alarm.textContent = `status from ${senders.length} senders at once (${senders.join(", ")}): one may be forged. ` +
      "Pin the AFSS with --status-from HOST:PORT.";
    alarm.hidden = false;
  } else alarm.hidden = true;
  updateSecurity();
}

function onMessage(ev) {
  const msg = JSON.parse(ev.data);
  lastMessageAt = Date.now();
  if (msg.type === "snapshot") {
    historyMax = msg.history_max || historyMax;
    for (const k of Object.keys(hist)) hist[k] = (msg.history[k] || []).slice();
    tTerminate = msg.t_terminate_s;
    tDestruct = msg.t_destruct_s ?? null;
    if (msg.latest) latest = msg.latest;
  } else if (msg.type === "batch") {
    for (const m of msg.items) push(m);
  }
  updateIntake(msg);
  document.getElementById("link").textContent = "connected";
  schedule();
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onmessage = onMessage;
  ws.onclose = () => { document.getElementById("link").textContent = "reconnecting\u2026"; setTimeout(connect, 1000); };
}

setInterval(() => {
  if (!latest || latest.state === "TERMINATED" || latest.state === "DESTRUCTED" || latest.state === "SAFED") return;
  const age = (Date.now() - lastMessageAt) / 1000;
  if (age > 3) document.getElementById("link").textContent = `no status for ${age.toFixed(0)} s`;
}, 1000);

async function main() {
  mission = await (await fetch("/api/mission")).json();
  document.getElementById("mission-name").textContent = mission.name;
  proj = makeProjection(mission.bbox);
  const coast = await (await fetch("/api/coastline")).json();
  for (const id of ["map-overview", "map-zoom"]) drawStatic(document.getElementById(id), coast);
  setView(document.getElementById("map-overview"), proj.box(mission.bbox));
  setView(document.getElementById("map-zoom"), zoomBox());
  updateRules();
  connect();
  document.body.dataset.ready = "1";
}

main();
