// cadre dashboard: fills the server-rendered page from the JSON API and polls it.
// Every number shown comes from the same endpoints a script would call.
"use strict";

const body = document.body;
const VIEW = body.dataset.view;
const POLL_MS = Number(body.dataset.pollMs) || 2000;
const KEY_STORE = "cadre-api-key";
let waitingForKey = false;
let timer = null;

class ApiFailure extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// ------------------------------------------------------------------ helpers
function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c === null || c === undefined ? "" : c);
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  for (const [unit, scale] of [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]]) {
    if (Math.abs(n) >= scale) return (n / scale).toFixed(1) + " " + unit;
  }
  return n + " B";
}
function num(n, digits) { return n === null || n === undefined ? "–" : Number(n).toFixed(digits); }
function money(n) {
  if (!n) return "$0";
  return "$" + (Math.abs(n) < 1e-3 ? Number(n).toExponential(2) : Number(n).toPrecision(3));
}
function ago(s) {
  if (s === null || s === undefined) return "never";
  if (s < 60) return Math.round(s) + " s ago";
  return Math.round(s / 60) + " min ago";
}

function showError(message) {
  const box = $("error");
  box.textContent = message ? "error: " + message : "";
  box.hidden = !message;
}

function apiKey() { return sessionStorage.getItem(KEY_STORE) || ""; }

function askForKey(message) {
  waitingForKey = true;
  const form = $("key-form");
  form.hidden = false;
  form.querySelector("label").textContent = message || "This server requires its API key:";
  $("api-key").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, $("api-key").value.trim());
  $("key-form").hidden = true;
  waitingForKey = false;
  showError("");
  refresh();
});

// One door to the API: adds the key, turns 401 into the key form and any other
// failure into the server's one-line OpenAI error message.
async function api(path, options) {
  const opts = Object.assign({ method: "GET" }, options || {});
  const headers = Object.assign({}, opts.headers || {});
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  if (apiKey()) headers["authorization"] = "Bearer " + apiKey();
  opts.headers = headers;
  const response = await fetch(path, opts);
  if (response.status === 401) {
    askForKey(apiKey() ? "That API key was refused; enter the server's key:" : undefined);
    throw new ApiFailure(401, "this server requires its API key");
  }
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
    throw new ApiFailure(response.status, message);
  }
  return response;
}
async function getJson(path) { return (await api(path)).json(); }

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c)))));
}

// ------------------------------------------------------------------ charts (inline SVG)
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];

// series: [{name, points: [[x, y], ...]}]; mark: {x, y, label} drawn as a ringed dot.
function lineChart(target, series, opts) {
  const W = 640, H = 220, L = 60, R = 150, T = 12, B = 36;
  target.replaceChildren();
  const all = series.flatMap((s) => s.points);
  if (opts.mark) all.push([opts.mark.x, opts.mark.y]);
  if (!all.length) { target.append(svg("text", { x: 20, y: 40, class: "muted" }, opts.empty || "no data yet")); return; }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys, opts.yFromZero ? 0 : Infinity), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x) => L + (x - x0) / (x1 - x0) * (W - L - R), sy = (y) => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  target.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }),
                svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }),
                svg("text", { x: L, y: H - 8, class: "tick" }, opts.fmtX(x0)),
                svg("text", { x: W - R, y: H - 8, class: "tick", "text-anchor": "end" }, opts.fmtX(x1)),
                svg("text", { x: L - 4, y: H - B, class: "tick", "text-anchor": "end" }, opts.fmtY(y0)),
                svg("text", { x: L - 4, y: T + 8, class: "tick", "text-anchor": "end" }, opts.fmtY(y1)),
                svg("text", { x: (L + W - R) / 2, y: H - 8, class: "tick", "text-anchor": "middle" }, opts.xLabel),
                svg("text", { x: 12, y: (T + H - B) / 2, class: "tick", transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, opts.yLabel));
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    target.append(svg("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 2 }));
    for (const p of s.points) target.append(svg("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: color }));
    target.append(svg("text", { x: W - R + 10, y: T + 14 + 16 * i, fill: color, class: "legend" }, s.name));
  });
  if (opts.mark) {
    const { x, y, label } = opts.mark;
    target.append(svg("circle", { cx: sx(x), cy: sy(y), r: 7, fill: "none", stroke: "#111", "stroke-width": 2, class: "operating-point" }),
                  svg("text", { x: sx(x) + 10, y: sy(y) - 8 < T + 10 ? sy(y) + 20 : sy(y) - 8, class: "legend" }, label));
  }
}

// ------------------------------------------------------------------ Models
const modelRows = new Map();

function memoryBars(memory, models, bases) {
  const box = $("memory");
  box.replaceChildren();
  for (const [device, m] of Object.entries(memory)) {
    const pct = m.budget_bytes ? Math.min(100, 100 * m.used_bytes / m.budget_bytes) : 0;
    const bar = el("div", { class: "bar", "data-device": device, role: "meter", "aria-valuemin": 0,
                            "aria-valuemax": m.budget_bytes, "aria-valuenow": m.used_bytes });
    const shared = (bases || []).map((b) => ({ ...b, name: "base " + baseName(b.base) }));
    [...shared, ...models].filter((r) => r.device === device && r.charged_bytes > 0).forEach((r, i) => {
      const w = m.budget_bytes ? 100 * r.charged_bytes / m.budget_bytes : 0;
      bar.append(el("span", { class: "seg", style: `width:${w}%;background:${COLORS[i % COLORS.length]}`,
                              title: `${r.name}: ${bytes(r.charged_bytes)}` }));
    });
    box.append(el("div", { class: "memory-row" },
      el("span", { class: "device" }, device),
      bar,
      el("span", { class: "memory-text", "data-device": device, "data-used": m.used_bytes },
         `${bytes(m.used_bytes)} of ${bytes(m.budget_bytes)} (${pct.toFixed(1)}%)`)));
  }
  if (!Object.keys(memory).length) box.append(el("p", { class: "muted" }, "all models are remote: no local memory budget"));
}

async function modelAction(name, action, button) {
  button.disabled = true;
  button.textContent = action === "load" ? "Loading…" : "Unloading…";
  try {
    await api(`/v1/models/${encodeURIComponent(name)}/${action}`, { method: "POST" });
    showError("");
  } catch (err) {
    if (err.status !== 401) showError(err.message);
  }
  await refresh();
}

function modelRow(r) {
  let tr = modelRows.get(r.name);
  if (!tr) {
    const load = el("button", { class: "load" }, "Load");
    const unload = el("button", { class: "unload" }, "Unload");
    load.addEventListener("click", () => modelAction(r.name, "load", load));
    unload.addEventListener("click", () => modelAction(r.name, "unload", unload));
    tr = el("tr", { "data-model": r.name });
    for (let i = 0; i < 9; i++) tr.append(el("td"));
    tr.append(el("td", { class: "actions" }, load, " ", unload));
    modelRows.set(r.name, tr);
  }
  const cells = tr.children;
  const status = r.state + (r.in_use ? ` (${r.in_use} in use)` : "") + (r.error && r.state !== "loaded" ? " · last error" : "");
  const values = [r.name + (r.primary ? " ★" : ""), r.backend + (r.device ? " · " + r.device : ""),
                  r.capabilities.join(", "), status, bytes(r.measured_bytes), bytes(r.estimated_bytes),
                  String(r.loads), ago(r.idle_s),
                  r.keep_alive_left_s === null ? (r.pinned ? "pinned" : "–") : Math.round(r.keep_alive_left_s) + " s"];
  values.forEach((v, i) => { if (cells[i].textContent !== v) cells[i].textContent = v; });
  cells[3].className = "status state-" + r.state;
  if (r.error) cells[3].title = r.error;
  const [load, unload] = tr.querySelectorAll("button");
  load.disabled = r.state !== "unloaded";
  load.textContent = r.state === "loading" ? "Loading…" : "Load";
  unload.disabled = Boolean(r.unload_blocked);
  unload.textContent = r.pinned ? "Pinned primary: can't unload" : "Unload";
  unload.title = r.unload_blocked || "unload now";
  return tr;
}

function baseName(key) {
  return key.split("/").filter(Boolean).pop() || key;
}

// A shared LoRA base: one row, with its adapters' rows under it.
function baseRow(b) {
  const status = b.state + ` · ${b.loaded_adapters.length} of ${b.adapters.length} adapters loaded`;
  const tr = el("tr", { class: "base-row", "data-base": b.base, title: b.base },
    el("td", {}, "base " + baseName(b.base)), el("td", {}, "shared LoRA base · " + b.device), el("td", {}, "–"),
    el("td", { class: "status state-" + b.state }, status), el("td", {}, bytes(b.measured_bytes)),
    el("td", {}, bytes(b.estimated_bytes)), el("td", {}, String(b.loads)), el("td", {}, "–"), el("td", {}, "–"),
    el("td", {}, b.batches ? `${b.batches} batches, ${b.batched_rows} requests` : ""));
  return tr;
}

async function refreshModels() {
  const data = await getJson("/v1/dashboard/models");
  const bases = data.bases || [];
  memoryBars(data.memory, data.models, bases);
  const rows = data.models.filter((r) => !r.base).map(modelRow);
  for (const b of bases) {
    rows.push(baseRow(b));
    for (const r of data.models.filter((m) => m.base === b.base && m.device === b.device)) {
      const tr = modelRow(r);
      tr.classList.add("adapter-row");
      tr.dataset.base = b.base;
      tr.children[0].textContent = "↳ " + tr.children[0].textContent;
      rows.push(tr);
    }
  }
  $("models").replaceChildren(...rows);
}

// ------------------------------------------------------------------ Traffic
function statRows(table) {
  return Object.entries(table).sort((a, b) => b[1].requests - a[1].requests).map(([name, s]) =>
    [name, String(s.requests), String(s.errors), num(s.p50_ms, 1), num(s.p99_ms, 1), String(s.tokens), money(s.cost)]);
}

async function refreshTraffic() {
  const data = await getJson("/v1/dashboard/traffic?n=50");
  $("total-requests").textContent = String(data.engine.requests);
  $("total-fallbacks").textContent = String(data.engine.fallbacks);
  $("total-cost").textContent = money(Object.values(data.model).reduce((a, s) => a + s.cost, 0));
  const cool = Object.keys(data.cooldowns || {});
  $("cooldowns").textContent = cool.length ? cool.join(", ") : "none";
  fillRows($("per-model"), statRows(data.model));
  fillRows($("per-route"), statRows(data.route));
  const models = [...new Set(data.cost_per_minute.flatMap((b) => Object.keys(b.cost)))];
  const series = models.map((m) => ({ name: m, points: data.cost_per_minute.map((b) => [b.start, b.cost[m] || 0]) }));
  const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  lineChart($("cost-chart"), series, { xLabel: "minute", yLabel: "cost", fmtX: clock, fmtY: money, yFromZero: true,
                                        empty: "no answered requests yet" });
  fillRows($("recent"), data.recent.map((d) => [new Date(d.time * 1000).toLocaleTimeString(), d.endpoint,
    d.route || "–", d.model || "–", d.reason, money(d.cost), num(d.latency_ms, 1), String(d.status),
    d.feedback === null ? "–" : String(d.feedback)]));
}

// ------------------------------------------------------------------ Routers
function thresholdTable(router) {
  const labels = router.labels.length ? router.labels : Object.keys(router.thresholds);
  const rows = labels.map((l) => el("tr", {}, el("td", {}, l),
    el("td", {}, router.threshold_override !== null ? num(router.threshold_override, 2) + " (override)" : num(router.thresholds[l] ?? 0, 3))));
  return el("table", { class: "thresholds" }, el("thead", {}, el("tr", {}, el("th", {}, "route"), el("th", {}, "threshold"))),
            el("tbody", {}, ...rows));
}

async function refreshRouters() {
  const data = await getJson("/v1/dashboard/routers");
  const intent = $("intent");
  intent.replaceChildren(el("h2", {}, "Intent routers"));
  if (!data.intent.length) intent.append(el("p", { class: "muted" }, "no intent router in this project: the default route answers"));
  for (const r of data.intent) {
    intent.append(el("div", { class: "router", "data-router": r.name },
      el("h3", {}, `${r.name} `, el("span", { class: "muted" }, `${r.kind} · below threshold → ${r.keyword_fallback ? "keyword rules → " : ""}${r.default_route}`)),
      thresholdTable(r)));
  }
  const learned = $("learned");
  learned.replaceChildren(el("h2", {}, "Learned routers"));
  if (!data.learned.length) learned.append(el("p", { class: "muted" }, "no learned router found under the runs folders (cadre router fit-learned)"));
  for (const r of data.learned) {
    const chart = svg("svg", { class: "chart", viewBox: "0 0 640 220", role: "img", "data-router": r.name });
    const points = r.curve.filter((p) => p.cost !== null && p.accuracy !== null).sort((a, b) => a.cost - b.cost);
    lineChart(chart, [{ name: "validation curve", points: points.map((p) => [p.cost, p.accuracy]) }],
      { xLabel: "mean cost per query", yLabel: "accuracy", fmtX: (x) => "$" + x.toPrecision(2), fmtY: (y) => y.toFixed(3),
        mark: r.val_cost !== null ? { x: r.val_cost, y: r.val_accuracy, label: `operating point (${r.objective} ${num(r.param, 3)})` } : null });
    learned.append(el("div", { class: "router" },
      el("h3", {}, r.name + " ", el("span", { class: "muted" }, r.models.join(", "))),
      el("p", {}, `operating point: accuracy ${num(r.val_accuracy, 3)} at ${money(r.val_cost)} per query` +
        (r.target_quality !== null ? `; target quality ${num(r.target_quality, 3)}` : "") +
        (r.budget !== null ? `; budget ${money(r.budget)}` : "") + (r.chosen_on ? ` (${r.chosen_on})` : "")),
      chart));
  }
}

// ------------------------------------------------------------------ Specialists
async function refreshSpecialists() {
  const data = await getJson("/v1/dashboard/specialists");
  const board = $("scoreboard");
  board.replaceChildren(el("h2", {}, "Scoreboard"));
  if (!data.scoreboard) board.append(el("p", { class: "muted" }, "no scoreboard.json yet (cadre scoreboard)"));
  else {
    const rows = Array.isArray(data.scoreboard.rows) ? data.scoreboard.rows : [];
    const cols = rows.length ? Object.keys(rows[0]) : [];
    board.append(el("p", { class: "muted" }, data.scoreboard.path),
      el("table", {}, el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c)))),
         el("tbody", {}, ...rows.map((r) => el("tr", {}, ...cols.map((c) => el("td", {}, String(r[c]))))))));
  }
  const box = $("reports");
  box.replaceChildren(el("h2", {}, "Specialist reports"));
  if (!data.reports.length) box.append(el("p", { class: "muted" }, `no report.json found under ${data.roots.join(", ")}`));
  for (const r of data.reports) {
    const metrics = Object.keys(r.baseline);
    const table = el("table", {}, el("thead", {}, el("tr", {}, ...["metric", "baseline", "fine-tuned", "change"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...metrics.map((m) => {
        const b = r.baseline[m], t = r.finetuned[m];
        return el("tr", {}, el("td", {}, m), el("td", {}, num(b, 4)), el("td", {}, num(t, 4)),
                  el("td", {}, t === undefined ? "–" : (t - b >= 0 ? "+" : "") + (t - b).toFixed(4)));
      })));
    const gates = el("ul", {}, ...r.gates.map((g) => el("li", { class: g.passed ? "pass" : "fail" },
      `${g.passed ? "PASS" : "FAIL"}${g.enforced ? "" : " (info)"}: ${g.check} (got ${num(g.value, 4)})`)));
    const status = r.exit_status === 0 ? (r.exported ? "exit 0: gate passed, adapter exported" : "exit 0")
                                       : "exit 3: gate missed, adapter not exported";
    box.append(el("div", { class: "report", "data-specialist": r.name },
      el("h3", {}, `${r.name} `, el("span", { class: "muted" }, `${r.task} on ${r.base}${r.local_test ? " (local test)" : ""}`)),
      el("p", { class: r.exit_status === 0 ? "pass" : "fail" }, status), table, gates));
  }
}

// ------------------------------------------------------------------ Playground
let intentThresholds = {};

async function initPlayground() {
  try {
    const models = await getJson("/v1/models");
    const select = $("router");
    for (const m of models.data.filter((m) => m.id.startsWith("router-"))) select.append(el("option", { value: m.id }, m.id));
    const routers = await getJson("/v1/dashboard/routers");
    intentThresholds = routers.intent.length ? routers.intent[0].thresholds : {};
    if (routers.intent.length && routers.intent[0].threshold_override !== null) {
      for (const k of Object.keys(intentThresholds)) intentThresholds[k] = routers.intent[0].threshold_override;
    }
  } catch (err) {
    if (err.status !== 401) showError(err.message);
  }
  $("play-form").addEventListener("submit", (e) => { e.preventDefault(); play(true); });
  $("route-only-btn").addEventListener("click", () => play(false));
}

function imageDataUrl() {
  const file = $("image").files[0];
  if (!file) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("could not read the image"));
    reader.readAsDataURL(file);
  });
}

function showDecision(d) {
  $("decision").hidden = false;
  $("route-name").textContent = d.route;
  $("route-score").textContent = num(d.score, 3);
  $("route-reason").textContent = d.reason;
  const rows = Object.entries(d.scores).sort((a, b) => b[1] - a[1]).map(([name, s]) => {
    const t = intentThresholds[name];
    return el("tr", { class: name === d.route ? "chosen" : "" }, el("td", {}, name), el("td", {}, num(s, 3)),
              el("td", {}, t === undefined ? "–" : num(t, 3)), el("td", {}, el("span", { class: "score-bar", style: `width:${Math.round(s * 100)}px` })));
  });
  $("scores").replaceChildren(...rows);
}

async function streamAnswer(messages, model) {
  $("answer-box").hidden = false;
  $("answer").textContent = "";
  $("answered-by").textContent = "…";
  const response = await api("/v1/chat/completions", { method: "POST",
    json: { model, messages, stream: true, max_tokens: Number($("max-tokens").value) || 64 } });
  $("answer-reason").textContent = decodeURIComponent(response.headers.get("x-cadre-route") || "");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const events = buffer.split("\n\n");
    buffer = events.pop();
    for (const event of events) {
      const data = event.replace(/^data: /, "").trim();
      if (!data || data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiFailure(500, chunk.error.message);
      $("answered-by").textContent = chunk.model;
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) $("answer").textContent += delta.content;
    }
  }
}

async function play(answer) {
  const text = $("prompt").value.trim();
  if (!text) { showError("type a prompt first"); return; }
  const model = $("router").value;
  showError("");
  try {
    const decision = await (await api("/v1/route", { method: "POST", json: { model, input: text } })).json();
    showDecision(decision);
    if (!answer) return;
    const image = await imageDataUrl();
    const content = image ? [{ type: "text", text }, { type: "image_url", image_url: { url: image } }] : text;
    await streamAnswer([{ role: "user", content }], model);
  } catch (err) {
    if (err.status !== 401) showError(err.message);
  }
}

// ------------------------------------------------------------------ polling
const REFRESH = { models: refreshModels, traffic: refreshTraffic, routers: refreshRouters, specialists: refreshSpecialists };
let busy = false;

async function refresh() {
  const fn = REFRESH[VIEW];
  if (!fn || busy || waitingForKey) return;
  busy = true;
  try {
    await fn();
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    if (err.status !== 401) showError(err.message);
  } finally {
    busy = false;
  }
}

function start() {
  if (VIEW === "playground") initPlayground();
  refresh();
  timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

start();
