// Orchestra's Timeline page: a lane per session, drawn as SVG by this script (no library).
// The server pages the data (the lanes in view), bins wide windows and follows the logs;
// this draws the lanes in view only, updates them live from the page's event stream and
// draws the tokens and cost chart. Text from the state goes in with textContent or as an
// attribute value, never as markup. Loaded before app.js, whose helpers (api, go, state)
// it uses once the page runs.
"use strict";

const Timeline = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const LANE_H = 38;
  const LABEL_W = 220;
  const OVERSCAN = 3;
  const ZOOMS = { "15m": 900, "1h": 3600, day: 86400 };
  const ZOOM_ORDER = ["15m", "1h", "day"];
  const KIND_NAMES = { turn: "Turn", tool: "Tool call", agent: "Subagent", wait: "Waiting",
                       message: "Message", claim: "Claim", guard: "Guard decision", bin: "Tool calls" };
  // Colour classes by tool (tl-c0 ... tl-c11 in timeline.css, light and dark).
  const TOOL_COLOURS = {
    Bash: 0, Edit: 1, MultiEdit: 1, NotebookEdit: 1, Write: 2, Read: 3, Grep: 4, Glob: 4,
    Agent: 5, Task: 5, WebFetch: 6, WebSearch: 6, SendMessage: 7, ListAgents: 7,
    TaskCreate: 8, TaskUpdate: 8, TodoWrite: 8, TaskStop: 8, Skill: 10, ToolSearch: 10,
  };
  const COLOUR_NAMES = ["Bash", "Edit", "Write", "Read", "Grep/Glob", "Agent", "Web",
                        "SendMessage", "tasks", "MCP", "Skill", "other"];

  const st = {
    lanes: [], index: new Map(), items: new Map(), links: [], binned: new Set(),
    zoom: "1h", start: 0, end: 0, live: true, skew: 0, project: null, order: "recent",
    key: "", dirty: new Set(), stale: new Set(), ignored: new Set(), unknown: new Set(), flushTimer: null,
    reloadTimer: null, fetchTimer: null, fetching: new Set(), tick: null, focus: null,
    drawn: false, usage: null, usageTimer: null, measure: "usd", metaAt: 0,
  };

  // ---- small helpers ----------------------------------------------------------------

  // Text a person reads (text, title, aria-label) shows control characters and bidi
  // controls as escapes, as the other pages do (app.js's visible and READ_ATTRS).
  function el(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(key, READ_ATTRS.has(key) ? visible(value) : String(value));
    }
    if (text !== undefined && text !== null) node.textContent = visible(text);
    return node;
  }
  function root() { return document.querySelector('section[data-page="timeline"]'); }
  function part(name) { return root().querySelector(`[data-${name}]`); }
  function nowS() { return Date.now() / 1000 + st.skew; }
  function span() { return ZOOMS[st.zoom]; }
  function windowEnd() { return st.live ? nowS() : st.end; }
  function plotWidth() { return Math.max(200, part("scroll").clientWidth - LABEL_W - 8); }

  function colourOf(tool) {
    if (!tool) return 11;
    if (tool in TOOL_COLOURS) return TOOL_COLOURS[tool];
    if (tool.startsWith("mcp__")) return 9;
    return 11;
  }

  function pad(n) { return String(n).padStart(2, "0"); }
  function hms(ts) {
    const d = new Date(ts * 1000);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function hm(ts) { const d = new Date(ts * 1000); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; }
  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
    const s = Math.max(0, seconds);
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  }
  function shortId(id) { return id && id.length > 13 ? id.slice(0, 12) + "…" : (id || ""); }
  function laneName(lane) { return lane.name || shortId(lane.session); }
  // The agent and model of a lane's session, as the sessions page says them (app.js).
  function ranBy(lane) { return lane.agent ? `, ${agentName(lane)}` : ""; }

  // ---- what a block says: the same text for its title, aria-label and the details ----

  // A session gone silent (stale: no heartbeat for long, and no SessionEnd) may never
  // say that what it had open ended: its open blocks stop at its last sign of life.
  function silentSince(lane) { return lane && lane.status === "stale" && lane.last ? lane.last : null; }

  function when(item, lane) {
    if (item.kind === "message" || item.kind === "claim" || item.kind === "guard") {
      return `at ${hms(item.start)}`;
    }
    if (item.end === null || item.end === undefined) {
      const silent = silentSince(lane);
      if (silent) return `since ${hms(item.start)}; no news from the session since ${hms(silent)}`;
      return `since ${hms(item.start)}, ${duration(nowS() - item.start)} so far`;
    }
    return `${hms(item.start)}–${hms(item.end)}, ${duration(item.end - item.start)}`;
  }

  function describe(item, lane) {
    const who = lane ? ` · ${laneName(lane)}` : "";
    const many = item.count > 1 ? ` (${item.count} merged)` : "";
    switch (item.kind) {
      case "turn": {
        const asked = item.from_name ? `message from ${item.from_name}: ${item.text || ""}`
          : item.text || (item.clipped ? `begun before ${hms(item.start)}` : "(prompt not recorded)");
        const state = item.end === null || item.end === undefined ? "working"
          : item.state === "failed" ? "failed" : item.state === "interrupted" ? "interrupted" : "done";
        const answer = item.answer ? ` · answered: ${item.answer}` : "";
        return `Turn${many}: ${asked} · ${state} · ${when(item, lane)}${answer}${who}`;
      }
      case "tool": {
        const what = [item.text, item.detail].filter(Boolean).join(" — ");
        const state = item.end === null || item.end === undefined ? "running" : item.state || "";
        const inside = item.agent ? " · in a subagent" : "";
        const reason = item.reason ? ` (${item.reason})` : "";
        return `Tool call ${item.tool}${what ? ": " + what : ""} · ${state}${reason} · ${when(item, lane)}${inside}${who}`;
      }
      case "agent": {
        const answer = item.answer ? ` · answered: ${item.answer}` : "";
        const task = item.text || (item.clipped ? `begun before ${hms(item.start)}` : "(task not recorded)");
        return `Subagent ${item.tool || "agent"}${many}: ${task} · ${when(item, lane)}${answer}${who}`;
      }
      case "wait": {
        const what = [item.call, item.text, item.detail].filter(Boolean).join(": ");
        const state = item.end === null || item.end === undefined ? "still waiting" : "answered";
        return `Waiting for ${item.tool === "permission" ? "permission" : "input"}${many}${what ? ": " + what : ""} · ${state} · ${when(item, lane)}${who}`;
      }
      case "message": {
        const via = item.via === "claude-code" ? " (SendMessage, via Claude Code)" : " (Orchestra)";
        const dir = item.state === "received"
          ? `received from ${item.from_name || item.from || "?"}` : `sent to ${item.to}`;
        return `Message${many} ${dir}${via}: ${item.text || ""} · ${when(item, lane)}${who}`;
      }
      case "claim":
        return `Claim${many} on ${item.text}${item.tool ? ` (${item.tool})` : ""} · ${when(item, lane)}${who}`;
      case "guard": {
        const what = [item.tool, item.detail].filter(Boolean).join(": ");
        return `Guard decision ${item.state}${many}: ${what || item.event || ""}${item.text ? " — " + item.text : ""} · ${when(item, lane)}${who}`;
      }
      case "bin": {
        const tools = Object.entries(item.tools).sort((a, b) => b[1] - a[1])
          .map(([t, n]) => `${t} ${n}`).join(", ");
        const failed = item.failed ? `, ${item.failed} failed` : "";
        const running = item.running ? `, ${item.running} running` : "";
        return `${item.count} tool call${item.count === 1 ? "" : "s"}: ${tools}${failed}${running} · ${hm(item.start)}–${hm(item.end)}, busy ${duration(item.busy)}${who}`;
      }
      default:
        return `${item.kind} · ${when(item, lane)}${who}`;
    }
  }

  // ---- loading --------------------------------------------------------------------

  function readParams(params) {
    st.zoom = ZOOMS[params.get("zoom")] ? params.get("zoom") : "1h";
    const end = Number(params.get("end"));
    st.live = !params.get("end") || !isFinite(end);
    st.requestedEnd = st.live ? null : end;
    st.order = params.get("order") === "started" ? "started" : "recent";
    st.requestedProject = params.get("project") || "";
  }

  function baseQuery() {
    const q = new URLSearchParams({ zoom: st.zoom, width: String(plotWidth()), order: st.order });
    if (st.requestedProject) q.set("project", st.requestedProject);
    else if (st.project) q.set("project", st.project);
    if (!st.live && st.requestedEnd) q.set("end", String(st.requestedEnd));
    return q;
  }

  function visibleRange() {
    const scroll = part("scroll");
    const first = Math.max(0, Math.floor(scroll.scrollTop / LANE_H) - OVERSCAN);
    const last = Math.min(st.lanes.length - 1,
      Math.ceil((scroll.scrollTop + scroll.clientHeight) / LANE_H) + OVERSCAN);
    return [first, last];
  }

  async function load(params) {
    readParams(params);
    const key = `${st.requestedProject}|${st.order}`;
    if (key !== st.key) { part("scroll").scrollTop = 0; st.key = key; }
    const scroll = part("scroll");
    const first = Math.max(0, Math.floor(scroll.scrollTop / LANE_H) - OVERSCAN);
    // The lanes' box is as tall as the window allows (timeline.css), empty before the
    // first draw: ask for what the window can show.
    const count = Math.ceil(Math.max(scroll.clientHeight, window.innerHeight) / LANE_H) + 2 * OVERSCAN + 1;
    const q = baseQuery();
    q.set("offset", String(first));
    q.set("limit", String(count));
    const usage = api("/api/timeline/usage" + (q.get("project") ? `?project=${encodeURIComponent(q.get("project"))}` : ""));
    const data = await api("/api/timeline?" + q);
    const result = { data, usage: await usage.catch(error => ({ error: error.message })) };
    if (!st.drawn) performance.mark("orchestra-timeline-fetched");
    return result;
  }

  function adopt(data, { meta }) {
    st.skew = data.now - Date.now() / 1000;
    st.start = data.start;
    st.end = data.end;
    st.live = data.live;
    st.project = data.project;
    if (meta) {
      st.lanes = data.lanes;
      st.index = new Map(data.lanes.map((lane, i) => [lane.session, i]));
      st.metaAt = Date.now();
    } else {
      for (const lane of data.lanes) { // keep the order while following: update labels only
        const i = st.index.get(lane.session);
        if (i !== undefined) st.lanes[i] = { ...lane, index: i };
      }
    }
    for (const [sid, items] of Object.entries(data.items)) {
      st.items.set(sid, items);
      st.stale.delete(sid);
    }
    for (const sid of Object.keys(data.items)) {
      if (data.binned.includes(sid)) st.binned.add(sid); else st.binned.delete(sid);
    }
    st.links = data.links;
  }

  function render({ data, usage }) {
    st.items = new Map();
    st.binned = new Set();
    adopt(data, { meta: true });
    fillControls(data);
    drawUsage(usage);
    draw();
    startTick();
  }

  function fillControls(data) {
    const select = root().querySelector('[data-tl="project"]');
    const options = [["*", "all projects"], ...data.projects.map(p => [p, p])];
    select.replaceChildren(...options.map(([value, text]) => h("option", { value, text })));
    select.value = data.project;
    root().querySelector('[data-tl="order"]').value = st.order;
    for (const button of root().querySelectorAll("[data-zoom]")) {
      button.setAttribute("aria-pressed", String(button.dataset.zoom === st.zoom));
    }
    root().querySelector('[data-pan="0"]').setAttribute("aria-pressed", String(st.live));
    root().querySelector('[data-pan="1"]').disabled = st.live;
    const lanes = data.total;
    const bins = data.bin_seconds ? `, tool calls binned by ${duration(data.bin_seconds)}` : "";
    const stamp = t => st.zoom === "day" ? `${new Date(t * 1000).toLocaleDateString()} ${hm(t)}` : hm(t);
    part("summary").textContent = `${lanes} session${lanes === 1 ? "" : "s"} · ${stamp(data.start)}–${stamp(data.end)}${st.live ? " (live)" : ""}${bins}`;
    part("empty").hidden = lanes > 0;
  }

  // Lanes scrolled into view without their items: ask the server for those only.
  function fetchMissing() {
    const [first, last] = visibleRange();
    const missing = [];
    for (let i = first; i <= last; i++) {
      const sid = st.lanes[i] && st.lanes[i].session;
      if (sid && (!st.items.has(sid) || st.stale.has(sid)) && !st.fetching.has(sid)) missing.push(sid);
    }
    if (missing.length) fetchLanes(missing);
  }

  async function fetchLanes(sessions) {
    for (const sid of sessions) st.fetching.add(sid);
    const q = baseQuery();
    q.set("sessions", sessions.join(","));
    try {
      const data = await api("/api/timeline?" + q);
      if (state.page !== "timeline") return;
      adopt(data, { meta: false });
      draw();
    } catch (error) {
      if (error.message !== "not authorised") banner(`Could not load the timeline: ${error.message}`);
    } finally {
      for (const sid of sessions) st.fetching.delete(sid);
    }
  }

  // ---- live -----------------------------------------------------------------------

  function onEvent(event) {
    const sid = event.session;
    if (!st.index.has(sid)) {
      if (!st.ignored.has(sid)) { st.unknown.add(sid); reloadSoon(600); } // a new session?
      return;
    }
    if (!st.live) return; // looking at the past: the present does not move it
    const [first, last] = visibleRange();
    const i = st.index.get(sid);
    if (i >= first && i <= last) {
      st.dirty.add(sid);
      if (!st.flushTimer) st.flushTimer = setTimeout(flush, 150);
    } else {
      st.stale.add(sid); // fetched again when it is scrolled into view
    }
  }

  function flush() {
    st.flushTimer = null;
    const sessions = [...st.dirty];
    st.dirty.clear();
    if (sessions.length) fetchLanes(sessions);
  }

  // The stream (re)connected: what happened while it was away, for the lanes in view.
  function onHello() {
    if (!st.lanes.length) return; // the first load is on its way, and fresh
    const [first, last] = visibleRange();
    for (let i = first; i <= last; i++) if (st.lanes[i]) st.dirty.add(st.lanes[i].session);
    if (!st.flushTimer) st.flushTimer = setTimeout(flush, 150);
  }

  function onChange(topics) {
    if (topics.includes("usage") || topics.includes("config")) {
      clearTimeout(st.usageTimer);
      st.usageTimer = setTimeout(reloadUsage, 500);
    }
    if (topics.includes("messages") || topics.includes("claims")) {
      const [first, last] = visibleRange();
      for (let i = first; i <= last; i++) if (st.lanes[i]) st.dirty.add(st.lanes[i].session);
      if (!st.flushTimer) st.flushTimer = setTimeout(flush, 150);
    }
    // Labels (status, what each does) and the order: at most every 15 s while following.
    if (topics.includes("sessions") && st.live && Date.now() - st.metaAt > 15000) reloadSoon(300);
  }

  function reloadSoon(delay) {
    if (st.reloadTimer) return;
    st.reloadTimer = setTimeout(async () => {
      st.reloadTimer = null;
      const unknown = [...st.unknown];
      st.unknown.clear();
      try {
        const result = await load(state.params);
        if (state.page !== "timeline") return;
        render(result);
      } catch (error) {
        if (error.message !== "not authorised") banner(`Could not load the timeline: ${error.message}`);
      }
      // Sessions still unknown after a reload are another project's: stop reloading for them.
      for (const sid of unknown) if (!st.index.has(sid)) st.ignored.add(sid);
    }, delay);
  }

  async function reloadUsage() {
    const q = st.project ? `?project=${encodeURIComponent(st.project)}` : "";
    try { drawUsage(await api("/api/timeline/usage" + q)); } catch (error) { /* the next change retries */ }
  }

  function startTick() {
    if (st.tick) return;
    st.tick = setInterval(() => {
      if (state.page !== "timeline") { clearInterval(st.tick); st.tick = null; return; }
      // Time moves the drawing left; not while someone reads a block by keyboard (a
      // redraw would move the focus to a new node and read it out again).
      if (st.live && !part("lanes").contains(document.activeElement)) draw();
    }, 5000);
  }

  // ---- drawing the lanes ----------------------------------------------------------

  function drawAxis(t0, t1, width) {
    const axis = part("axis");
    axis.setAttribute("width", String(LABEL_W + width));
    const steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];
    const step = steps.find(s => (s / (t1 - t0)) * width >= 90) || 21600;
    const offset = new Date().getTimezoneOffset() * 60;
    const children = [];
    for (let t = Math.ceil((t0 - offset) / step) * step + offset; t <= t1; t += step) {
      const x = LABEL_W + ((t - t0) / (t1 - t0)) * width;
      children.push(el("line", { x1: x, x2: x, y1: 14, y2: 22, class: "tl-tick" }));
      children.push(el("text", { x, y: 11, class: "tl-ticklabel", "text-anchor": "middle" }, hm(t)));
    }
    axis.replaceChildren(...children);
  }

  function draw() {
    const svg = part("lanes");
    const width = plotWidth();
    const t1 = windowEnd();
    const t0 = t1 - span();
    const x = t => LABEL_W + Math.max(0, Math.min(1, (t - t0) / (t1 - t0))) * width;
    drawAxis(t0, t1, width);
    svg.setAttribute("width", String(LABEL_W + width + 4));
    svg.setAttribute("height", String(Math.max(1, st.lanes.length) * LANE_H));
    const [first, last] = visibleRange();
    const groups = [defs()];
    let focusable = null;
    for (let i = first; i <= last; i++) {
      const lane = st.lanes[i];
      if (!lane) continue;
      const g = drawLane(lane, i, x, t0, t1);
      groups.push(g);
      if (!focusable) focusable = g.querySelector("[data-block]");
    }
    groups.push(drawLinks(first, last, x, t0, t1));
    let complete = st.usage !== null;
    for (let i = first; i <= last; i++) if (st.lanes[i] && !st.items.has(st.lanes[i].session)) complete = false;
    if (st.live) {
      groups.push(el("line", { x1: x(t1), x2: x(t1), y1: 0, y2: st.lanes.length * LANE_H, class: "tl-now" }));
    }
    const hadFocus = svg.contains(document.activeElement);
    svg.replaceChildren(...groups);
    restoreFocus(svg, hadFocus, focusable);
    if (complete && !st.drawn) {  // every lane in view with its blocks, and the chart
      st.drawn = true;
      performance.mark("orchestra-timeline-drawn");
      root().dataset.drawn = String(performance.now());
    }
    fetchMissing();
  }

  function defs() {
    const d = el("defs");
    const hatch = el("pattern", { id: "tl-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
                                  patternTransform: "rotate(45)" });
    hatch.append(el("rect", { width: 6, height: 6, class: "tl-hatch-bg" }),
                 el("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "tl-hatch-line" }));
    const arrow = el("marker", { id: "tl-arrow", viewBox: "0 0 6 6", refX: 5, refY: 3,
                                 markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    arrow.append(el("path", { d: "M0,0 L6,3 L0,6 z", class: "tl-arrowhead" }));
    d.append(hatch, arrow);
    return d;
  }

  function block(tag, attrs, item, lane) {
    const text = describe(item, lane);
    const node = el(tag, { ...attrs, tabindex: -1, role: "img", "aria-label": text, "data-block": "",
                           "data-key": `${item.kind}|${item.start}|${item.id || ""}` });
    node.append(el("title", {}, text));
    return node;
  }

  function drawLane(lane, i, x, t0, t1) {
    const g = el("g", { transform: `translate(0,${i * LANE_H})`, class: `tl-lane${i % 2 ? " odd" : ""}`,
                        "data-lane": lane.session, role: "group",
                        "aria-label": `Session ${laneName(lane)}${ranBy(lane)}: ${lane.label || lane.status || ""}` });
    g.append(el("rect", { x: 0, y: 0, width: LABEL_W + plotWidth() + 4, height: LANE_H, class: "tl-bg" }));
    const label = el("a", { href: `#events?session=${encodeURIComponent(lane.session)}`, class: "tl-name",
                            tabindex: -1, "aria-label": `Events of session ${lane.session}` });
    label.append(el("title", {}, `${lane.session}${lane.name ? ` (Claude Code name ${lane.name})` : ""}${ranBy(lane)}: ${lane.doing || lane.label || lane.status || ""}`));
    label.append(el("text", { x: 8, y: 15, class: "tl-name-text" }, laneName(lane).slice(0, 26)));
    g.append(label);
    const sub = [lane.label || lane.status, lane.cost].filter(Boolean).join(" · ");
    g.append(el("text", { x: 8, y: 30, class: `tl-sub tl-state-${lane.state || lane.status || ""}` }, sub.slice(0, 34)));
    const items = st.items.get(lane.session);
    if (!items) {
      g.append(el("text", { x: LABEL_W + 6, y: 24, class: "tl-sub" }, "loading…"));
      return g;
    }
    const marks = [];
    const silent = silentSince(lane);
    const openEnd = silent ? Math.max(t0, Math.min(t1, silent)) : t1;
    for (const item of items) {
      const end = item.end === null || item.end === undefined ? openEnd : item.end;
      if (end < t0 || item.start > t1) continue;
      const x0 = x(item.start);
      const w = Math.max(2, x(end) - x0);
      switch (item.kind) {
        case "turn":
          g.append(block("rect", { x: x0, y: 2, width: w, height: 4, rx: 2,
                                   class: `tl-turn tl-${item.end === null || item.end === undefined ? "running" : item.state || "done"}` }, item, lane));
          break;
        case "agent":
          g.append(block("rect", { x: x0, y: 23, width: w, height: 13, rx: 3, class: "tl-agent" }, item, lane));
          break;
        case "wait":
          g.append(block("rect", { x: x0, y: 7, width: w, height: 30, class: "tl-wait",
                                   fill: "url(#tl-hatch)" }, item, lane));
          break;
        case "tool": {
          const nested = !!item.agent;
          g.append(block("rect", { x: x0, y: nested ? 25.5 : 8, width: w, height: nested ? 8 : 13,
                                   class: `tl-b tl-c${colourOf(item.tool)}${item.state === "failed" || item.state === "denied" ? " tl-failed" : ""}${item.end === null || item.end === undefined ? " tl-running" : ""}` }, item, lane));
          break;
        }
        case "bin": {
          const top = Object.entries(item.tools).sort((a, b) => b[1] - a[1])[0][0];
          const busy = Math.max(0.25, Math.min(1, item.busy / Math.max(1e-6, item.end - item.start)));
          const hgt = Math.round(5 + 8 * busy);
          g.append(block("rect", { x: x0, y: 21 - hgt, width: Math.max(2, w - 0.5), height: hgt,
                                   class: `tl-b tl-c${colourOf(top)}${item.failed ? " tl-failed" : ""}` }, item, lane));
          break;
        }
        default:
          marks.push([item, x0]);
      }
    }
    for (const [item, x0] of marks) g.append(mark(item, x0, lane));
    return g;
  }

  function mark(item, x0, lane) {
    if (item.kind === "message") {
      return block("circle", { cx: x0, cy: 4.5, r: 4,
                               class: `tl-msg tl-${item.state}${item.via === "claude-code" ? " tl-cc" : ""}` }, item, lane);
    }
    if (item.kind === "claim") {
      return block("path", { d: `M${x0},0 L${x0 + 4.5},4.5 L${x0},9 L${x0 - 4.5},4.5 z`, class: "tl-claim" }, item, lane);
    }
    return block("rect", { x: x0 - 4, y: 0.5, width: 8, height: 8,
                           class: `tl-guard tl-${item.state}` }, item, lane);
  }

  function drawLinks(first, last, x, t0, t1) {
    const g = el("g", { class: "tl-links", "aria-hidden": "true" });
    for (const link of st.links) {
      const a = st.index.get(link.from);
      const b = st.index.get(link.to);
      if (a === undefined || b === undefined || link.at < t0 || link.at > t1) continue;
      if ((a < first || a > last) && (b < first || b > last)) continue;
      const xa = x(link.at);
      g.append(el("line", { x1: xa, y1: a * LANE_H + 9, x2: xa, y2: b * LANE_H + 1,
                            class: `tl-link${link.via === "claude-code" ? " tl-cc" : ""}`,
                            "marker-end": "url(#tl-arrow)" }));
    }
    return g;
  }

  // ---- keyboard and details -------------------------------------------------------

  function restoreFocus(svg, hadFocus, fallback) {
    let target = st.focus ? svg.querySelector(`[data-lane="${cssEscape(st.focus.lane)}"] [data-key="${cssEscape(st.focus.key)}"]`) : null;
    if (!target) target = fallback;
    if (target) target.setAttribute("tabindex", "0");
    if (hadFocus && target) target.focus({ preventScroll: true });
  }

  function cssEscape(text) { return window.CSS && CSS.escape ? CSS.escape(text) : text.replace(/["\\]/g, "\\$&"); }

  function blocksOf(lane) { return [...lane.querySelectorAll("[data-block]")].sort((a, b) => bx(a) - bx(b)); }
  function bx(node) {
    const box = node.getBBox();
    return box.x + box.width / 2;
  }

  function moveTo(node) {
    if (!node) return;
    const svg = part("lanes");
    for (const other of svg.querySelectorAll('[data-block][tabindex="0"]')) other.setAttribute("tabindex", "-1");
    node.setAttribute("tabindex", "0");
    node.focus({ preventScroll: false });
    const lane = node.closest("[data-lane]");
    st.focus = { lane: lane.dataset.lane, key: node.dataset.key };
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const node = event.target.closest && event.target.closest("[data-block]");
    if (!node) return;
    const lane = node.closest("[data-lane]");
    const blocks = blocksOf(lane);
    const at = blocks.indexOf(node);
    let target = null;
    if (event.key === "ArrowRight") target = blocks[Math.min(blocks.length - 1, at + 1)];
    else if (event.key === "ArrowLeft") target = blocks[Math.max(0, at - 1)];
    else if (event.key === "Home") target = blocks[0];
    else if (event.key === "End") target = blocks[blocks.length - 1];
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const i = st.index.get(lane.dataset.lane) + (event.key === "ArrowDown" ? 1 : -1);
      if (i < 0 || i >= st.lanes.length) { event.preventDefault(); event.stopPropagation(); return; }
      const scroll = part("scroll");
      if (i * LANE_H < scroll.scrollTop) scroll.scrollTop = i * LANE_H;
      if ((i + 1) * LANE_H > scroll.scrollTop + scroll.clientHeight) scroll.scrollTop = (i + 1) * LANE_H - scroll.clientHeight;
      draw();
      const other = part("lanes").querySelector(`[data-lane="${cssEscape(st.lanes[i].session)}"]`);
      const candidates = other ? blocksOf(other) : [];
      const xs = bx(node);
      target = candidates.reduce((best, c) => !best || Math.abs(bx(c) - xs) < Math.abs(bx(best) - xs) ? c : best, null);
      if (!target && other) { event.preventDefault(); event.stopPropagation(); return; }
    } else if (event.key === "Enter") {
      go("events", new URLSearchParams({ session: lane.dataset.lane }));
    } else return;
    event.preventDefault();
    event.stopPropagation();
    if (target) moveTo(target);
  }

  function showDetails(event) {
    const node = event.target.closest && event.target.closest("[data-block]");
    if (!node) return;
    part("details").textContent = node.getAttribute("aria-label");
    if (event.type === "focusin") {
      const lane = node.closest("[data-lane]");
      st.focus = { lane: lane.dataset.lane, key: node.dataset.key };
    }
  }

  function pageKey(event) {
    if (state.page !== "timeline" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (document.getElementById("help").open) return;
    const key = event.key;
    if (key === "[") pan(-1);
    else if (key === "]") pan(1);
    else if (key === ".") pan(0);
    else if (key === "+" || key === "=") zoomBy(-1);
    else if (key === "-") zoomBy(1);
    else return;
    event.preventDefault();
    event.stopPropagation();
  }

  // ---- controls -------------------------------------------------------------------

  function setParams(changes) {
    const params = new URLSearchParams(state.params);
    for (const [k, v] of Object.entries(changes)) { if (v === null || v === "") params.delete(k); else params.set(k, v); }
    go("timeline", params);
  }

  function pan(direction) {
    if (direction === 0) { setParams({ end: null }); return; }
    const end = windowEnd() + direction * span() / 2;
    setParams({ end: end >= nowS() ? null : end.toFixed(3) });
  }

  function zoomBy(step) {
    const i = Math.max(0, Math.min(ZOOM_ORDER.length - 1, ZOOM_ORDER.indexOf(st.zoom) + step));
    setZoom(ZOOM_ORDER[i]);
  }

  function setZoom(zoom) {
    // Keep the middle of what is shown in the middle (unless following now).
    if (st.live) { setParams({ zoom }); return; }
    const middle = windowEnd() - span() / 2;
    const end = middle + ZOOMS[zoom] / 2;
    setParams({ zoom, end: end >= nowS() ? null : end.toFixed(3) });
  }

  // ---- tokens and cost ------------------------------------------------------------

  function money(usd) { return usd === null || usd === undefined ? "unknown" : usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`; }
  function count(n) { return n === null || n === undefined ? "unknown" : Math.round(n).toLocaleString("en-US"); }

  function drawUsage(usage) {
    st.usage = usage;
    const chart = part("chart");
    const legend = part("chart-legend");
    const total = part("total");
    for (const button of root().querySelectorAll("[data-measure]")) {
      button.setAttribute("aria-pressed", String(button.dataset.measure === st.measure));
    }
    if (!usage || usage.error) {
      total.textContent = usage && usage.error ? `could not load: ${usage.error}` : "";
      chart.replaceChildren();
      legend.replaceChildren();
      return;
    }
    const m = st.measure;
    const t = usage.total;
    const value = m === "usd" ? t.usd : t.tokens;
    const unknown = m === "usd" ? usage.unknown_cost : usage.unknown_tokens;
    const partial = m === "usd" ? t.partial : usage.unknown_tokens.length > 0;
    total.dataset.total = value === null || value === undefined ? "" : String(value);
    total.dataset.partial = String(!!partial);
    total.textContent = `total ${m === "usd" ? money(value) : count(value) + " tokens"}` +
      (value === null || value === undefined ? "" : partial ? "+ (partial)" : "") +
      (unknown.length ? ` · unknown for ${unknown.length} session${unknown.length === 1 ? "" : "s"}` : "") +
      (m === "usd" && usage.prices_as_of ? ` · prices of ${usage.prices_as_of}` : "");
    const width = Math.max(300, part("scroll").clientWidth);
    const height = 150;
    chart.setAttribute("width", String(width));
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const series = usage.series.filter(s => (m === "usd" ? s.usd : s.tokens) !== null);
    const legendOfUnknown = () => unknown.map(u => h("li", { class: "tl-unknown" },
      h("span", { class: "tl-key tl-unknown-key", "aria-hidden": "true" }), `${u.label}: unknown${u.why ? ` (${u.why})` : ""}`));
    if (!series.length) {
      // Unknown is not zero: no scale from $0 to $0 when nothing is known.
      chart.replaceChildren(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "tl-ticklabel" },
                               `${m === "usd" ? "cost" : "tokens"} ${unknown.length ? "unknown" : "none yet"}`));
      chart.setAttribute("aria-label", `${m === "usd" ? "Cost" : "Tokens"} over time; ${total.textContent}`);
      legend.replaceChildren(...legendOfUnknown());
      return;
    }
    const grid = usage.grid;
    const left = 70, right = 10, top = 8, bottom = 22;
    const stacks = grid.map(() => 0);
    const top_ = Math.max(1e-12, ...grid.map((_, k) => series.reduce((sum, s) => sum + (m === "usd" ? s.usd : s.tokens)[k], 0)));
    const gx = k => left + (grid.length > 1 ? k / (grid.length - 1) : 1) * (width - left - right);
    const gy = v => top + (1 - v / top_) * (height - top - bottom);
    const shapes = [];
    series.forEach((s, n) => {
      const values = m === "usd" ? s.usd : s.tokens;
      const lower = stacks.slice();
      for (let k = 0; k < grid.length; k++) stacks[k] += values[k];
      const points = grid.map((_, k) => `${gx(k)},${gy(stacks[k])}`)
        .concat(grid.map((_, k) => `${gx(grid.length - 1 - k)},${gy(lower[grid.length - 1 - k])}`));
      const label = `${s.label}: ${m === "usd" ? money(s.usd_total) : count(s.tokens_total) + " tokens"}${m === "usd" && s.partial ? "+ (partial)" : ""}`;
      const shape = el("polygon", { points: points.join(" "), class: `tl-s${n % 12}` });
      shape.append(el("title", {}, label));
      shapes.push(shape);
    });
    shapes.push(el("line", { x1: left, x2: width - right, y1: gy(0), y2: gy(0), class: "tl-tick" }));
    shapes.push(el("text", { x: left - 6, y: gy(top_) + 4, "text-anchor": "end", class: "tl-ticklabel" },
                   m === "usd" ? money(top_) : count(top_)));
    shapes.push(el("text", { x: left - 6, y: gy(0) + 4, "text-anchor": "end", class: "tl-ticklabel" }, m === "usd" ? "$0" : "0"));
    if (grid.length) {
      shapes.push(el("text", { x: gx(0), y: height - 6, class: "tl-ticklabel" }, new Date(grid[0] * 1000).toLocaleString([], { hour12: false })));
      shapes.push(el("text", { x: gx(grid.length - 1), y: height - 6, "text-anchor": "end", class: "tl-ticklabel" }, "now"));
    }
    chart.replaceChildren(...shapes);
    chart.setAttribute("aria-label", `${m === "usd" ? "Cost" : "Tokens"} over time, stacked by session; ${total.textContent}`);
    legend.replaceChildren(
      ...series.map((s, n) => h("li", {}, h("span", { class: `tl-key tl-s${n % 12}`, "aria-hidden": "true" }),
        `${s.label} ${m === "usd" ? money(s.usd_total) + (s.partial ? "+" : "") : count(s.tokens_total)}`)),
      ...legendOfUnknown());
  }

  // ---- start ----------------------------------------------------------------------

  function fillLegend() {
    const key = (cls, text) => h("li", {}, h("span", { class: `tl-key ${cls}`, "aria-hidden": "true" }), text);
    part("legend").replaceChildren(
      ...COLOUR_NAMES.map((name, n) => key(`tl-c${n}`, name)),
      key("tl-key-turn", "turn"), key("tl-key-agent", "subagent"),
      key("tl-key-wait", "waits for a person"), key("tl-key-msg", "message ● sent ○ received"),
      key("tl-key-claim", "claim"), key("tl-key-guard", "guard"));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const section = root();
    fillLegend();
    const scroll = part("scroll");
    let pending = false;
    scroll.addEventListener("scroll", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; draw(); });
    });
    scroll.addEventListener("keydown", onKey);
    scroll.addEventListener("focusin", showDetails);
    scroll.addEventListener("mouseover", showDetails);
    document.addEventListener("keydown", pageKey, true);
    for (const button of section.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => setZoom(button.dataset.zoom));
    }
    for (const button of section.querySelectorAll("[data-pan]")) {
      button.addEventListener("click", () => pan(Number(button.dataset.pan)));
    }
    for (const button of section.querySelectorAll("[data-measure]")) {
      button.addEventListener("click", () => { st.measure = button.dataset.measure; drawUsage(st.usage); });
    }
    section.querySelector('[data-tl="project"]').addEventListener("change", event =>
      setParams({ project: event.target.value, end: null }));
    section.querySelector('[data-tl="order"]').addEventListener("change", event =>
      setParams({ order: event.target.value === "recent" ? null : event.target.value }));
    let resized = null;
    window.addEventListener("resize", () => {
      clearTimeout(resized);
      resized = setTimeout(() => { if (state.page === "timeline" && st.lanes.length) draw(); }, 150);
    });
  });

  // The sessions table's bar: a session's cost against the dearest on the page. Nothing
  // for an unknown cost (its text says so): unknown is not zero.
  function costBar(cost, max) {
    if (!cost || cost.usd === null || cost.usd === undefined || !(max > 0)) return null;
    const width = 64;
    const bar = el("svg", { class: "costbar", width, height: 8, "aria-hidden": "true" });
    bar.append(el("rect", { class: "track", x: 0, y: 1, width, height: 6, rx: 3 }),
               el("rect", { class: "fill", x: 0, y: 1, height: 6, rx: 3,
                            width: Math.max(2, (width * cost.usd) / max).toFixed(1) }));
    return bar;
  }

  return { load, render, onEvent, onChange, onHello, describe, costBar };
})();
