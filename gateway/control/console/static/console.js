// ecert console: the tree of sharing systems, their health, and calls lit up hop by hop.
// Plain DOM, no build step, nothing loaded from elsewhere. Reads /api/network once, /api/status
// and /api/faults every few seconds; a call goes to /api/call. /api/events (server-sent events)
// brings the network's event stream (live.js): each request's tree of hops is drawn the same way
// as a call's answer; catalog batches (up) and anomalies (down) flash their node and add a line.
"use strict";

const REFRESH_MS = 2000;
const COLLAPSE_OVER = 60; // nodes: above this, provinces and ministries start collapsed

const TEXT = {
  zh: {
    title: "电子证照共享网络控制台", tree: "共享系统", call: "以业务应用身份调用",
    entry: "入口节点", method: "方法", params: "参数（每行 名称=值，或 JSON 对象）", send: "调用",
    route: "路由（逐跳）", plan: "路由计划（explain）", envelope: "返回报文", recent: "最近调用",
    node: "节点", decision: "决定", targets: "转发至", running: "网络运行中",
    stopped: "网络已停止", unreachable: "控制台无法连接", up: "正常", down: "不可用",
    certs: "证照", rows: "目录", anomalies: "异常", exchanged: "交换", never: "从未",
    below: "个下级", downBelow: "个不可用", nodes: "个节点", healthy: "个正常", other: "English",
    badParams: "参数格式不对", noAnswer: "无应答", code: "返回码",
    filter: "按入口节点或请求 ID 筛选",
    faults: "故障开关", kind: "类型", peer: "对端（链路）", latency: "延迟 ms", forTime: "持续",
    switchOn: "开启故障", heal: "恢复", untilCleared: "直到恢复", left: "剩余",
    live: "实时请求（事件流）", activity: "目录汇聚与故障（事件流）",
    tiers: { national: "国家", ministry: "部委", province: "省", department: "厅局", city: "市" },
  },
  en: {
    title: "E-license sharing network console", tree: "Sharing systems",
    call: "Call as a business application", entry: "Entry node", method: "Method",
    params: "Parameters (one Name=Value a line, or a JSON object)", send: "Call",
    route: "Route (hop by hop)", plan: "Route plan (explain)", envelope: "Envelope",
    recent: "Recent calls", node: "Node", decision: "Decision", targets: "Forwards to",
    running: "network running", stopped: "network stopped", unreachable: "console unreachable",
    up: "up", down: "down", certs: "certs", rows: "catalog", anomalies: "anomalies",
    exchanged: "exchange", never: "never", below: "below", downBelow: "down",
    nodes: "nodes", healthy: "healthy", other: "中文", badParams: "Parameters not understood",
    noAnswer: "no answer", code: "code", filter: "filter by entry node or request id",
    faults: "Fault switches", kind: "Kind", peer: "Peer (a link)", latency: "Latency ms",
    forTime: "For", switchOn: "Switch on", heal: "heal", untilCleared: "until healed",
    left: "left", live: "Live requests (event stream)",
    activity: "Catalog aggregation and faults (event stream)",
    tiers: { national: "national", ministry: "ministry", province: "province",
             department: "department", city: "city" },
  },
};

const state = {
  lang: localStorage.getItem("ecert.lang") || "zh",
  network: null, // /api/network
  nodes: new Map(), // id -> {spec, li, row, children: [], groupRoot}
  status: new Map(), // id -> NodeStatus
  running: true,
  lastRecord: null,
  recent: [], // /api/recent, newest first
  live: [], // request.handled events at entry nodes, newest first
  faults: [], // /api/faults
  trees: new Map(), // request id -> its tree of hops as the event stream last gave it
  drawn: null, // the tree lit on the page
  shownId: null, // its request id
  stats: { received: 0, drawn: 0, requests: 0, skipped: 0, bad: 0, connected: 0 }, // event records (read by the bench)
  timings: { treeMs: null }, // building and laying out the tree (read by the bench)
};

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.lang][key];
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};

function nodeLabel(id) {
  const entry = state.nodes.get(id);
  if (!entry) return id;
  return state.lang === "zh" ? entry.spec.name : id;
}

function methodLabel(method) {
  return state.lang === "zh" ? `${method.zh}（${method.id}）` : method.id;
}

// -- the tree ----------------------------------------------------------------------------------
function buildTree() {
  const specs = state.network.nodes;
  const collapse = specs.length > COLLAPSE_OVER;
  for (const spec of specs) {
    const li = el("li");
    li.dataset.node = spec.id;
    const row = el("div", "row");
    row.dataset.node = spec.id;
    const toggle = el("button", "toggle");
    toggle.type = "button";
    row.append(toggle, el("span", "dot"), el("span", "name"), el("span", "id", spec.id),
               el("span", "below"), el("span", "badge"), el("span", "faults"), el("span", "stats"));
    li.append(row);
    state.nodes.set(spec.id, { spec, li, row, children: [], list: null });
  }
  const tree = $("tree");
  for (const spec of specs) {
    const entry = state.nodes.get(spec.id);
    const parent = spec.parent && state.nodes.get(spec.parent);
    if (!parent) { tree.append(entry.li); continue; }
    if (!parent.list) {
      parent.list = el("ul");
      parent.li.append(parent.list);
      const toggle = parent.row.querySelector(".toggle");
      toggle.textContent = "▾";
      toggle.addEventListener("click", () => setCollapsed(parent, !parent.li.classList.contains("collapsed")));
    }
    parent.list.append(entry.li);
    parent.children.push(entry);
  }
  for (const entry of state.nodes.values()) {
    const tier = entry.spec.tier;
    if (collapse && entry.list && (tier === "province" || tier === "ministry")) setCollapsed(entry, true);
  }
  relabel();
}

function setCollapsed(entry, collapsed) {
  entry.li.classList.toggle("collapsed", collapsed);
  entry.row.querySelector(".toggle").textContent = collapsed ? "▸" : "▾";
}

function expandTo(id) {
  let entry = state.nodes.get(id);
  while (entry && entry.spec.parent) {
    entry = state.nodes.get(entry.spec.parent);
    if (entry && entry.li.classList.contains("collapsed")) setCollapsed(entry, false);
  }
}

function descendants(entry) {
  const all = [];
  const walk = (e) => { for (const c of e.children) { all.push(c); walk(c); } };
  walk(entry);
  return all;
}

function agoText(stamp) {
  if (!stamp) return t("never");
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(stamp)) / 1000));
  if (Number.isNaN(seconds)) return stamp;
  return seconds < 120 ? `${seconds}s` : `${Math.round(seconds / 60)}min`;
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

function paintNode(entry) {
  const s = state.status.get(entry.spec.id);
  const up = state.running && s && s.healthy;
  entry.row.classList.toggle("up", !!up);
  entry.row.classList.toggle("down", !up);
  entry.row.title = up ? t("up") : (s && s.error) || t("down");
  const stats = up
    ? `${t("certs")} ${s.certificates ?? "-"} · ${t("rows")} ${s.catalog_rows ?? "-"} · ` +
      `${t("anomalies")} ${s.open_anomalies ?? "-"} · ${t("exchanged")} ${agoText(s.last_exchange_at)}`
    : t("down");
  setText(entry.row.querySelector(".stats"), stats);
  const held = state.faults.filter((f) => f.nodes.includes(entry.spec.id));
  setText(entry.row.querySelector(".faults"), held.map((f) => `⚡${f.kind}`).join(" "));
  entry.row.dataset.faults = held.map((f) => f.id).join(" ");
  if (entry.list) {
    const below = descendants(entry);
    const downBelow = below.filter((e) => !(state.running && state.status.get(e.spec.id)?.healthy)).length;
    const span = entry.row.querySelector(".below");
    setText(span, `${below.length} ${t("below")}` + (downBelow ? ` · ${downBelow} ${t("downBelow")}` : ""));
    span.classList.toggle("bad", downBelow > 0);
  }
}

function paintAll() {
  for (const entry of state.nodes.values()) paintNode(entry);
  const healthy = [...state.status.values()].filter((s) => s.healthy).length;
  setText($("summary"), `${state.nodes.size} ${t("nodes")} · ${state.running ? healthy : 0} ${t("healthy")}`);
}

function setBanner(kind) {
  const banner = $("banner");
  banner.className = `banner ${kind}`;
  banner.dataset.state = kind;
  setText(banner, t(kind));
}

async function refreshStatus() {
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    const snapshot = await response.json();
    state.running = snapshot.running;
    state.status = new Map(snapshot.nodes.map((s) => [s.id, s]));
    setBanner(snapshot.running ? "running" : "stopped");
  } catch (err) {
    state.running = false;
    setBanner("unreachable");
  }
  paintAll();
}

// -- the form ----------------------------------------------------------------------------------
function parseParams(text) {
  const trimmed = text.trim();
  if (!trimmed) return {};
  if (trimmed.startsWith("{")) {
    const value = JSON.parse(trimmed);
    if (typeof value !== "object" || Array.isArray(value) || value === null) throw new Error("not an object");
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  }
  const params = {};
  for (const line of trimmed.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at < 1) throw new Error(line);
    params[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return params;
}

function fillForm() {
  const nodeSelect = $("f-node");
  const methodSelect = $("f-method");
  const chosenNode = nodeSelect.value;
  const chosenMethod = methodSelect.value;
  nodeSelect.replaceChildren(...state.network.nodes.map((spec) => {
    const option = el("option", null, state.lang === "zh" ? `${spec.name}（${spec.id}）` : spec.id);
    option.value = spec.id;
    return option;
  }));
  methodSelect.replaceChildren(...state.network.methods.map((method) => {
    const option = el("option", null, methodLabel(method));
    option.value = method.id;
    return option;
  }));
  if (chosenNode) nodeSelect.value = chosenNode;
  if (chosenMethod) methodSelect.value = chosenMethod;
  for (const [id, blank] of [["x-node", false], ["x-peer", true]]) {
    const select = $(id);
    const chosen = select.value;
    const options = state.network.nodes.map((spec) => {
      const option = el("option", null, state.lang === "zh" ? `${spec.name}（${spec.id}）` : spec.id);
      option.value = spec.id;
      return option;
    });
    if (blank) { const none = el("option", null, "—"); none.value = ""; options.unshift(none); }
    select.replaceChildren(...options);
    if (chosen) select.value = chosen;
  }
}

async function submitCall(event) {
  if (event) event.preventDefault();
  let params;
  try {
    params = parseParams($("f-params").value);
  } catch (err) {
    showError(`${t("badParams")}: ${err.message}`);
    return;
  }
  await call({ node: $("f-node").value, method: $("f-method").value, params });
}

async function call(request) {
  const button = $("f-submit");
  button.disabled = true;
  try {
    const response = await fetch("/api/call", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
    });
    const record = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok || !record.request) { showError(record.error || String(response.status)); return; }
    showRecord(record);
  } catch (err) {
    setBanner("unreachable");
    showError(t("unreachable"));
  } finally {
    button.disabled = false;
    refreshRecent();
  }
}

function showError(message) {
  $("result").hidden = false;
  const error = $("error");
  error.hidden = false;
  error.textContent = message;
  $("outcome").textContent = "";
  $("route").replaceChildren();
  $("plan").tBodies[0].replaceChildren();
  $("envelope").textContent = "";
  clearHops();
}

function outcomeClass(status) {
  if (status === 0) return "ok";
  if (status === 31) return "partial";
  return "fail";
}

function showRecord(record) {
  state.lastRecord = record;
  $("result").hidden = false;
  const error = $("error");
  error.hidden = !record.error;
  error.textContent = record.error || "";
  const outcome = $("outcome");
  if (!record.answer) {
    outcome.className = "fail";
    outcome.textContent = `${nodeLabel(record.request.node)}: ${t("noAnswer")}`;
    $("route").replaceChildren();
    $("envelope").textContent = "";
    $("plan").tBodies[0].replaceChildren();
    showRoute([record.request.node], {}, "fail");
    return;
  }
  const answer = record.answer;
  const head = answer.envelope.head || {};
  outcome.className = outcomeClass(record.status);
  outcome.dataset.status = String(record.status);
  outcome.textContent = `${t("code")} ${head.status} ${head.message || ""} · ${answer.elapsed_ms.toFixed(1)} ms`;
  $("envelope").textContent = JSON.stringify(answer.envelope, null, 2);
  $("plan").tBodies[0].replaceChildren(...(record.plan || []).map((entry) => {
    const tr = el("tr");
    tr.append(el("td", null, nodeLabel(entry.node)), el("td", null, `${entry.plan}: ${entry.decision}`),
              el("td", null, (entry.targets || []).map(nodeLabel).join(", ")));
    return tr;
  }));
  showTree(record, true);
}

// the call's tree of hops, on the tree and as the route's list; the event stream's once it has
// one (it also knows a fan-out's branch that never answered)
function showTree(record, animate) {
  const answer = record.answer;
  const known = state.trees.get(answer.request_id);
  let tree = record.tree || chainTree(answer.route.length ? answer.route : [record.request.node],
    Object.fromEntries(answer.timings.map((entry) => [entry.node, entry.ms])));
  if (known) tree = record.tree = known;
  const outcome = outcomeClass(record.status);
  $("route").replaceChildren(...routeList(tree, outcome));
  state.shownId = answer.request_id;
  drawTree(tree, outcome, animate);
}

// -- recent calls ------------------------------------------------------------------------------
async function refreshRecent() {
  try {
    const response = await fetch("/api/recent", { cache: "no-store" });
    state.recent = await response.json();
  } catch (err) { return; }
  paintRecent();
}

function matchesFilter(record, wanted) {
  if (!wanted) return true;
  const node = record.request.node;
  const requestId = record.answer ? record.answer.request_id : "";
  return [node, nodeLabel(node), requestId].some((text) => text.toLowerCase().includes(wanted));
}

function paintRecent() {
  const wanted = $("recent-filter").value.trim().toLowerCase();
  paintLive(wanted);
  $("recent").replaceChildren(...(state.recent || []).filter((r) => matchesFilter(r, wanted)).map((record) => {
    const li = el("li");
    const status = record.answer ? String(record.status) : t("noAnswer");
    const hops = record.answer ? record.answer.route.length : 0;
    li.textContent = `#${record.number} ${nodeLabel(record.request.node)} · ${record.request.method} → ${status} (${hops})`;
    li.title = record.answer ? record.answer.request_id : record.error || "";
    li.dataset.requestId = record.answer ? record.answer.request_id : "";
    li.className = outcomeClass(record.answer ? record.status : -1);
    li.addEventListener("click", () => replay(record.request));
    return li;
  }));
}

function replay(request) {
  $("f-node").value = request.node;
  $("f-method").value = request.method;
  $("f-params").value = Object.entries(request.params).map(([k, v]) => `${k}=${v}`).join("\n");
  call(request);
}

// -- languages ---------------------------------------------------------------------------------
function relabel() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = t(node.dataset.placeholder);
  $("lang").textContent = t("other");
  for (const entry of state.nodes.values()) {
    const tier = TEXT[state.lang].tiers[entry.spec.tier] || entry.spec.tier;
    entry.row.querySelector(".name").textContent = `${nodeLabel(entry.spec.id)}`;
    entry.row.querySelector(".id").textContent = state.lang === "zh" ? `${entry.spec.id} · ${tier}` : tier;
  }
  fillForm();
  paintFaults();
  paintAll();
  if (state.lastRecord && state.lastRecord.answer) showRecord(state.lastRecord);
  if ($("banner").dataset.state) setBanner($("banner").dataset.state);
  refreshRecent();
}

async function start() {
  const response = await fetch("/api/network");
  state.network = await response.json();
  $("network").textContent = state.network.network;
  const building = performance.now();
  buildTree(); // collapsed by province over COLLAPSE_OVER nodes
  document.body.offsetHeight; // laid out
  state.timings.treeMs = performance.now() - building;
  $("call-form").addEventListener("submit", submitCall);
  $("recent-filter").addEventListener("input", paintRecent);
  $("fault-form").addEventListener("submit", submitFault);
  listen();
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("ecert.lang", state.lang);
    relabel();
  });
  await Promise.all([refreshStatus(), refreshFaults()]);
  document.body.dataset.ready = "1";
  setInterval(() => { refreshStatus(); refreshFaults(); }, REFRESH_MS);
}

start();
