// ecert console, what happens as it happens: a request's hops lit up on the tree (a tree of
// hops: a by-holder fan-out is one branch per child, a child that never answered a branch in
// the failure colour), the event stream (/api/events: live requests, catalog batches going up,
// anomalies coming down, faults) and the fault switches (/api/faults). Loaded before
// console.js, which holds `state` and the helpers; nothing here runs until console.js starts.
"use strict";

const HOP_MS = 300; // between two depths of a route lighting up
const LIVE_KEPT = 50; // live requests and activity lines kept on the page
const FLASH_MS = 1500;
const FAILED = [30, 32, 99]; // codes of a hop that failed (unreachable, hop budget, other)
const TREES_KEPT = 200; // trees of hops of recent requests, for a call whose events came first

// -- a request's tree of hops -------------------------------------------------------------------
// A tree is {node, depth, ms, status, outcome, children} (gateway/control/console/hops.py).
function chainTree(route, timings) {
  let root = null;
  let parent = null;
  route.forEach((node, depth) => {
    const hop = { node, depth, ms: timings[node], status: null, outcome: "answered", children: [] };
    if (parent) parent.children.push(hop); else root = hop;
    parent = hop;
  });
  return root;
}

function hopsOf(tree) {
  const all = [];
  const walk = (hop) => { all.push(hop); hop.children.forEach(walk); };
  if (tree) walk(tree);
  return all;
}

// the colour of one hop: a neighbour asked and never answering fails, whatever the whole did
function hopClass(hop, outcome) {
  if (hop.outcome !== "answered") return "hop-fail";
  if (hop.status === 31) return "hop-partial";
  if (FAILED.includes(hop.status)) return "hop-fail";
  if (hop.status !== null && hop.status !== undefined) return "hop"; // answered: 0, 10, 21–23
  return outcome === "ok" ? "hop" : outcome === "partial" ? "hop-partial" : "hop-fail";
}

function hopText(hop) {
  const ms = hop.ms === null || hop.ms === undefined ? "" : ` · ${hop.ms.toFixed(1)} ms`;
  return `${hop.depth + 1}${ms}` + (hop.outcome === "answered" ? "" : ` · ${hop.outcome}`);
}

let routeTimers = [];
const lit = new Set(); // the rows lit now: clearing them costs the route, not the tree

function clearHops() {
  for (const timer of routeTimers) clearTimeout(timer);
  routeTimers = [];
  for (const entry of lit) {
    entry.row.classList.remove("hop", "hop-partial", "hop-fail");
    delete entry.row.dataset.hop;
  }
  lit.clear();
}

function lightHop(hop, outcome) {
  const entry = state.nodes.get(hop.node);
  if (!entry) return;
  expandTo(hop.node);
  entry.row.classList.remove("hop", "hop-partial", "hop-fail");
  entry.row.classList.add(hopClass(hop, outcome));
  entry.row.dataset.hop = String(hop.depth);
  entry.row.querySelector(".badge").textContent = hopText(hop);
  lit.add(entry);
  if (hop.depth === 0) entry.row.scrollIntoView({ block: "nearest" });
}

// the tree lit depth by depth (the branches of a fan-out together); `animate` false: at once
function drawTree(tree, outcome, animate = true) {
  clearHops();
  state.drawn = tree;
  for (const hop of hopsOf(tree)) {
    if (!animate) { lightHop(hop, outcome); continue; }
    routeTimers.push(setTimeout(() => lightHop(hop, outcome), hop.depth * HOP_MS));
  }
}

function showRoute(route, timings, outcome) { drawTree(chainTree(route, timings), outcome); }

// the side pane's list of hops: nested, one branch a child list
function routeList(tree, outcome) {
  const item = (hop) => {
    const li = el("li", hopClass(hop, outcome));
    li.dataset.node = hop.node;
    li.dataset.depth = String(hop.depth);
    li.title = hop.node;
    const ms = hop.ms === null || hop.ms === undefined ? "" : `${hop.ms.toFixed(1)} ms`;
    li.append(el("span", null, `${nodeLabel(hop.node)} `), el("span", "ms", ms));
    if (hop.outcome !== "answered") li.append(el("span", "outcome", ` ${hop.outcome}`));
    if (hop.children.length) li.append(el("ul", null)), li.lastChild.append(...hop.children.map(item));
    return li;
  };
  return tree ? [item(tree)] : [];
}

// -- the event stream ---------------------------------------------------------------------------
// Records are counted as they arrive and drawn once a frame: a burst costs one repaint.
const pending = { live: [], activity: [], tree: null, trees: new Map() };

function onEvent(record) {
  state.stats.received += 1;
  if (record.event === "route.tree") {
    pending.trees.set(record.request_id, record.tree);
    keepTree(record.request_id, record.tree);
  } else if (record.event === "request.handled") {
    // the entry node's record (with the whole tree); nodes a call was forwarded to are on it
    if (!record.tree) { state.stats.skipped += 1; return; }
    keepTree(record.request_id, record.tree);
    pending.live.push(record);
  } else {
    pending.activity.push(record);
  }
  schedulePaint();
}

function keepTree(requestId, tree) {
  state.trees.delete(requestId);
  state.trees.set(requestId, tree);
  if (state.trees.size > TREES_KEPT) state.trees.delete(state.trees.keys().next().value);
}

let paintScheduled = false;
function schedulePaint() {
  if (paintScheduled) return;
  paintScheduled = true;
  requestAnimationFrame(paintEvents);
}

function paintEvents() {
  paintScheduled = false;
  const counted = pending.live.length + pending.activity.length + pending.trees.size;
  for (const record of pending.live) {
    record.tree = state.trees.get(record.request_id) || record.tree; // a later route.tree's
    state.live.unshift(record);
    const fromForm = [state.lastRecord, ...state.recent].some((r) => r && r.answer && r.answer.request_id === record.request_id);
    if (!fromForm && record.method !== "Token") pending.tree = record; // the newest one is drawn
    if (fromForm) pending.trees.set(record.request_id, record.tree); // the form's call: its tree
  }
  state.live.length = Math.min(state.live.length, LIVE_KEPT);
  for (const [requestId, tree] of pending.trees) updateTree(requestId, tree);
  if (pending.tree) {
    state.shownId = pending.tree.request_id;
    drawTree(pending.tree.tree, outcomeClass(pending.tree.status));
  }
  if (pending.live.length || pending.trees.size) paintLive($("recent-filter").value.trim().toLowerCase());
  for (const record of pending.activity.slice(-LIVE_KEPT)) {
    addActivity(record);
    if (record.event.startsWith("fault.")) refreshFaults();
    else flash(record.node, record.event.startsWith("batch.") ? "flash-up" : "flash-down");
  }
  state.stats.drawn += counted;
  state.stats.requests += pending.live.length; // entry records: the requests drawn
  pending.live = []; pending.activity = []; pending.tree = null; pending.trees.clear();
}

// a request's tree grew (a forward seen after its entry): kept, and redrawn if it is on show
function updateTree(requestId, tree) {
  const record = state.live.find((r) => r.request_id === requestId);
  if (record) record.tree = tree;
  const form = state.lastRecord;
  const isForm = form && form.answer && form.answer.request_id === requestId;
  if (isForm) $("route").replaceChildren(...routeList(form.tree = tree, outcomeClass(form.status)));
  const status = isForm ? form.status : record ? record.status : null;
  if (state.shownId === requestId && status !== null) drawTree(tree, outcomeClass(status), false);
}

function activityText(record) {
  const time = (record.ts || "").slice(11, 19);
  const extra = record.event.startsWith("batch.")
    ? [record.cd_batch || "", record.child ? `← ${nodeLabel(record.child)}` : "", `rows ${record.rows ?? "-"}`,
       record.anomalies ? `anomalies ${record.anomalies}` : ""]
    : record.event.startsWith("anomaly.")
    ? [record.cd_batch || "", record.child ? `→ ${nodeLabel(record.child)}` : "", `anomalies ${record.anomalies ?? "-"}`]
    : [record.fault || "", record.description || record.kind || "", record.reason || ""];
  return `${time} ${nodeLabel(record.node || "control")} ${record.event} ${extra.filter((x) => x !== "").join(" ")}`;
}

function addActivity(record) {
  const li = el("li", null, activityText(record));
  li.dataset.event = record.event;
  li.dataset.node = record.node || "";
  const list = $("activity");
  list.prepend(li);
  while (list.children.length > LIVE_KEPT) list.lastChild.remove();
}

function flash(id, cls) {
  const entry = state.nodes.get(id);
  if (!entry) return;
  entry.row.classList.add(cls);
  setTimeout(() => entry.row.classList.remove(cls), FLASH_MS);
}

function paintLive(wanted) {
  const matches = (r) => !wanted || [r.node, nodeLabel(r.node), r.request_id || ""].some((x) => x.toLowerCase().includes(wanted));
  $("live").replaceChildren(...state.live.filter(matches).map((record) => {
    const li = el("li", outcomeClass(record.status));
    const hops = hopsOf(record.tree).length;
    li.textContent = `${(record.ts || "").slice(11, 19)} ${nodeLabel(record.node)} · ${record.method} → ${record.status} (${hops})`;
    li.title = record.request_id || "";
    li.dataset.requestId = record.request_id || "";
    li.dataset.status = String(record.status);
    li.addEventListener("click", () => {
      state.shownId = record.request_id;
      drawTree(record.tree, outcomeClass(record.status));
    });
    return li;
  }));
}

function listen() {
  const source = new EventSource("/api/events");
  source.onopen = () => { document.body.dataset.live = "1"; state.stats.connected += 1; };
  source.onmessage = (message) => {
    try { onEvent(JSON.parse(message.data)); } catch (err) { state.stats.bad += 1; } // skipped
  };
  source.onerror = () => { document.body.dataset.live = "0"; }; // EventSource reconnects itself
}
// -- fault switches ----------------------------------------------------------------------------
async function refreshFaults() {
  try {
    const response = await fetch("/api/faults", { cache: "no-store" });
    if (!response.ok) return;
    state.faults = await response.json();
  } catch (err) { return; }
  paintFaults();
  paintAll();
}

function paintFaults() {
  $("faults").replaceChildren(...state.faults.map((fault) => {
    const li = el("li");
    li.dataset.fault = fault.id;
    li.dataset.kind = fault.kind;
    const left = fault.time_left === null ? t("untilCleared") : `${Math.ceil(fault.time_left)}s ${t("left")}`;
    const heal = el("button", "heal", t("heal"));
    heal.type = "button";
    heal.addEventListener("click", () => switchFault("DELETE", `/api/faults/${encodeURIComponent(fault.id)}`));
    li.append(el("span", null, `${fault.id} ${fault.text} · `), el("span", "left", left), heal);
    return li;
  }));
}

async function submitFault(event) {
  event.preventDefault();
  const kind = $("x-kind").value;
  const spec = { kind, node: $("x-node").value, for_seconds: $("x-for").value.trim() || null };
  if (kind === "cut" || kind === "latency") spec.peer = $("x-peer").value || null;
  if (kind === "latency") spec.latency_ms = $("x-latency").value;
  await switchFault("POST", "/api/faults", spec);
}

async function switchFault(method, url, body) {
  const error = $("fault-error");
  $("x-submit").disabled = true;
  try {
    const response = await fetch(url, {
      method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    error.hidden = response.ok;
    error.textContent = response.ok ? "" : answer.error || String(response.status);
  } catch (err) {
    error.hidden = false;
    error.textContent = t("unreachable");
  } finally {
    $("x-submit").disabled = false;
    await refreshFaults();
  }
}
