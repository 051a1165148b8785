// Orchestra's web dashboard: one page, six views, live over Server-Sent Events.
// No framework and no build step. Every value from the state is put in the page
// with textContent (never innerHTML): messages and commands are data, not markup.
// Control characters (ANSI escapes) and bidi controls (U+202E...) in those values are
// shown as escapes, so they can neither reorder nor hide what the page shows.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const PAGES = ["sessions", "events", "board", "messages", "claims", "decisions", "timeline"];
// Which pushed change topics make a page reload its data.
const TOPICS = {
  sessions: ["sessions", "config"], events: [], board: ["board", "sessions", "config"],
  messages: ["messages"], claims: ["claims", "sessions", "config"], decisions: ["decisions"],
  timeline: [], // timeline.js decides what a change means to it
};
const MAX_LIVE_ROWS = 500;

const state = { page: "sessions", params: new URLSearchParams(), source: null, streamKey: "",
                reloadTimer: null, loading: 0, inFlight: false, pending: [], shown: new Set() };

// ---- small helpers ------------------------------------------------------------------

// C0 and C1 controls but tab, newline and carriage return; the bidi marks, embeddings,
// overrides and isolates.
const HIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(text) {
  return String(text).replace(HIDDEN, c => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? "\\x" + code.toString(16).padStart(2, "0")
                        : "\\u" + code.toString(16).padStart(4, "0");
  });
}

// Attributes a person reads; the others (values, keys, links) keep the data as it is.
const READ_ATTRS = new Set(["title", "aria-label"]);

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = visible(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : READ_ATTRS.has(key) ? visible(value) : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(visible(child)));
  }
  return node;
}

function section(page) { return document.querySelector(`section[data-page="${page}"]`); }
function part(page, name) { return section(page).querySelector(`[data-${name}]`); }

function short(id, n = 8) { return id && id.length > n + 1 ? id.slice(0, n) + "…" : (id || ""); }

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function clock(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { hour12: false });
}

function banner(text) {
  const node = document.getElementById("banner");
  node.textContent = visible(text || "");
  node.hidden = !text;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options,
    headers: { Accept: "application/json", ...(options.headers || {}) } });
  if (response.status === 401 || response.status === 403) {
    banner("Signed out (the browser session expired, or the server restarted): reload the page to sign in again.");
    throw new Error("not authorised");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function query(params) {
  const clean = new URLSearchParams();
  for (const [k, v] of params) if (v) clean.set(k, v);
  const text = clean.toString();
  return text ? "?" + text : "";
}

// ---- routing: #page?filters ----------------------------------------------------------

function parseHash() {
  const [name, rest] = location.hash.slice(1).split("?");
  return { page: PAGES.includes(name) ? name : "sessions", params: new URLSearchParams(rest || "") };
}

function go(page, params) {
  const target = `#${page}${query(params || new URLSearchParams())}`;
  if (location.hash !== target) location.hash = target; else route();
}

function setParam(name, value) {
  const params = new URLSearchParams(state.params);
  if (value) params.set(name, value); else params.delete(name);
  params.delete("before");
  params.delete("page");
  go(state.page, params);
}

function route() {
  const { page, params } = parseHash();
  state.page = page;
  state.params = params;
  for (const node of document.querySelectorAll("section[data-page]")) node.hidden = node.dataset.page !== page;
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `Orchestra · ${page}`;
  syncControls();
  connect();
  load();
}

function syncControls() {
  const root = section(state.page);
  for (const control of root.querySelectorAll("[data-filter]")) {
    const value = state.params.get(control.dataset.filter) || "";
    if (control.tagName === "SELECT" && value && ![...control.options].some(o => o.value === value)) {
      control.append(h("option", { value, text: value }));
    }
    control.value = value;
  }
  const form = root.querySelector("[data-filters]");
  if (form) for (const input of form.elements) if (input.name) input.value = state.params.get(input.name) || "";
}

// ---- loading pages -------------------------------------------------------------------

async function load() {
  const page = state.page;
  const ticket = ++state.loading;
  state.inFlight = true;
  state.pending = [];
  try {
    const data = await LOADERS[page](state.params);
    if (ticket !== state.loading) return; // a newer load started meanwhile
    banner("");
    RENDER[page](data);
    // Events pushed while the page was on its way: show those it does not hold.
    for (const event of state.pending) showLive(event);
  } catch (error) {
    if (ticket === state.loading && error.message !== "not authorised") banner(`Could not load ${page}: ${error.message}`);
  } finally {
    if (ticket === state.loading) { state.inFlight = false; state.pending = []; }
  }
}

function eventKey(e) { return `${e.session}|${e.ts}|${e.event}`; }

function reloadSoon() {
  if (state.reloadTimer) return;
  state.reloadTimer = setTimeout(() => { state.reloadTimer = null; load(); }, 250);
}

const LOADERS = {
  sessions: p => api("/api/sessions" + query(pick(p, "project", "status", "page"))),
  events: p => api("/api/events" + query(pick(p, "session", "kind", "tool", "before"))),
  board: p => api("/api/board" + query(pick(p, "project"))),
  messages: p => api("/api/messages" + query(pick(p, "session", "before"))),
  claims: p => api("/api/claims" + query(pick(p, "project"))),
  decisions: p => api("/api/decisions" + query(pick(p, "project", "page"))),
  timeline: p => Timeline.load(p),
};

function pick(params, ...names) {
  const out = new URLSearchParams();
  for (const n of names) if (params.get(n)) out.set(n, params.get(n));
  return out;
}

function fillProjects(projects) {
  document.getElementById("project-ids").replaceChildren(...projects.map(p => h("option", { value: p })));
  for (const select of document.querySelectorAll("select[data-projects]")) {
    const keep = select.value;
    const first = select.options[0];
    select.replaceChildren(first, ...projects.map(p => h("option", { value: p, text: p })));
    select.value = keep;
  }
}

function fillSessionIds(ids) {
  document.getElementById("session-ids").replaceChildren(...ids.map(id => h("option", { value: id })));
}

function pager(page, { prev, next, label }) {
  const node = part(page, "pager");
  node.replaceChildren(
    prev ? h("button", { type: "button", "data-prev": true, onclick: prev }, "← Newer") : "",
    label ? h("span", { text: label }) : "",
    next ? h("button", { type: "button", "data-next": true, onclick: next }, "Older →") : "");
}

function pageButtons(page, data) {
  const n = data.page, last = data.pages;
  const to = k => () => { const p = new URLSearchParams(state.params); p.set("page", k); go(page, p); };
  pager(page, { prev: n > 1 ? to(n - 1) : null, next: n < last ? to(n + 1) : null,
                label: last > 1 ? `page ${n} of ${last}` : "" });
}

function rows(page, list, make) {
  const body = part(page, "rows").tBodies[0];
  // A reload must not take the keyboard focus away: it goes back to the same row.
  const focused = document.activeElement && body.contains(document.activeElement)
    ? document.activeElement.closest("tr") : null;
  const key = focused ? (focused.dataset.session || String([...body.rows].indexOf(focused))) : null;
  body.replaceChildren(...list.map(make));
  part(page, "empty").hidden = list.length > 0;
  if (key !== null) {
    const again = [...body.rows].find(r => r.dataset.session === key) || body.rows[Number(key)];
    if (again) again.focus({ preventScroll: true });
  }
}

function sessionLink(id) {
  return h("a", { href: `#events?session=${encodeURIComponent(id)}`, title: id, class: "mono" }, short(id, 12));
}

const AGENTS = { "claude-code": "Claude Code", codex: "Codex", gemini: "Gemini" };
// The agent that runs a session and its model ("unknown" until the agent says which).
function agentName(s) {
  if (!s.agent) return "–";
  return `${AGENTS[s.agent] || s.agent} ${s.model || "(model unknown)"}`;
}
function badge(status) { return h("span", { class: `badge ${status}` }, status); }

// ---- rendering each page -------------------------------------------------------------

const RENDER = {
  sessions(data) {
    fillProjects(data.projects);
    fillSessionIds(data.sessions.map(s => s.session_id));
    const c = data.counts;
    part("sessions", "summary").textContent =
      `${data.total} total: ${c.active} active, ${c.idle} idle, ${c.stale} stale, ${c.ended} ended`;
    const machines = data.sessions.some(s => s.machine);
    const maxCost = Math.max(0, ...data.sessions.map(s => (s.cost && s.cost.usd) || 0));
    section("sessions").querySelector("[data-machine]").hidden = !machines;
    rows("sessions", data.sessions, s => h("tr", { tabindex: -1, "data-session": s.session_id },
      h("td", {}, badge(s.status)),
      h("td", {}, sessionLink(s.session_id)),
      h("td", { text: agentName(s) }),
      h("td", { text: s.role && s.role !== "peer" ? s.role : "–" }),
      h("td", { text: s.project || "–" }),
      h("td", { title: s.claude_name ? `Claude Code name ${s.claude_name}` : "" },
        s.activity && s.activity.state.startsWith("waiting")
          ? h("span", { class: "badge stale" }, "needs you") : "",
        s.activity && s.activity.state.startsWith("waiting") ? " " : "",
        s.current_task || s.doing || "–"),
      h("td", { title: s.cost && s.cost.prices_as_of ? `prices of ${s.cost.prices_as_of}` : "",
        class: "cost" }, s.cost ? s.cost.text : "–", Timeline.costBar(s.cost, maxCost)),
      h("td", { text: s.last_event || "–" }),
      h("td", { text: s.last_tool || "–" }),
      h("td", { title: s.last_heartbeat || "", text: ago(s.idle_seconds) }),
      machines ? h("td", { text: s.machine || "–" }) : null,
      h("td", { class: "num", text: String(s.tasks_total) }),
      h("td", { class: "num", text: String(s.agents_busy) })));
    pageButtons("sessions", data);
  },

  events(data) {
    state.shown = new Set(data.events.map(eventKey));
    rows("events", data.events, eventRow);
    const next = data.next;
    const before = state.params.get("before");
    pager("events", {
      prev: before ? () => { const p = new URLSearchParams(state.params); p.delete("before"); go("events", p); } : null,
      next: next ? () => { const p = new URLSearchParams(state.params); p.set("before", next); go("events", p); } : null,
      label: data.partial ? `looked at ${data.scanned} events without finding more matches` : "",
    });
  },

  board(data) {
    fillProjects(data.projects);
    part("board", "summary").textContent = data.project ? visible(`project ${data.project}`) : "no project";
    part("board", "columns").replaceChildren(...data.columns.map(col =>
      h("section", { class: `column ${col.key}`, "aria-label": col.title },
        h("h3", {}, `${col.title} (${col.tasks.length})`),
        h("ul", { class: "cards" }, col.tasks.map(t => h("li", { class: "card", tabindex: -1 },
          h("div", { class: "subject" }, h("span", { class: "mono" }, `#${t.id} `), t.subject),
          h("div", { class: "meta" }, sessionLink(t.session), ` ${t.status}`,
            t.owner ? ` · ${t.owner}` : "")))))));
    const blockers = part("board", "blockers");
    blockers.replaceChildren(...(data.blockers.length ? data.blockers.map(b =>
      h("li", {}, h("span", { class: "badge stale" }, "blocked"), " ", sessionLink(b.session),
        ` #${b.task} ${b.subject}: ${b.reason}`)) : [h("li", { class: "empty" }, "none")]));
    const hints = part("board", "suggestions");
    hints.replaceChildren(...(data.suggestions.length ? data.suggestions.map(s =>
      h("li", {}, `#${s.task} ${s.subject} → ${s.tool || "no free tool"}`,
        s.run_in ? [" in ", sessionLink(s.run_in)] : "")) : [h("li", { class: "empty" }, "nothing waiting")]));
  },

  messages(data) {
    const list = part("messages", "list");
    list.replaceChildren(...data.messages.map(m => h("li", { tabindex: -1, class: m.urgent ? "urgent" : "" },
      h("div", { class: "meta" },
        h("time", { datetime: m.at || "", title: m.at || "" }, when(m.at)),
        ` from ${m.from} to ${m.to}`,
        m.via === "claude-code" ? h("span", { class: "badge idle",
          title: "sent with SendMessage; Claude Code delivered it" },
          m.sent === false ? "Claude Code, not sent" : "via Claude Code") : "",
        m.urgent ? h("span", { class: "badge stale" }, "urgent") : "",
        m.delivered === true ? h("span", { class: "badge ended" }, "delivered") :
          m.delivered === false ? h("span", { class: "badge active" }, "pending") : ""),
      h("p", { class: "text" }, m.text || ""))));
    part("messages", "empty").hidden = data.messages.length > 0;
    const before = state.params.get("before");
    pager("messages", {
      prev: before ? () => { const p = new URLSearchParams(state.params); p.delete("before"); go("messages", p); } : null,
      next: data.next ? () => { const p = new URLSearchParams(state.params); p.set("before", data.next); go("messages", p); } : null,
    });
  },

  claims(data) {
    fillProjects(data.projects);
    rows("claims", data.claims, c => h("tr", { tabindex: -1 },
      h("td", { class: "mono", text: c.path }),
      h("td", {}, sessionLink(c.session)),
      h("td", {}, badge(c.session_status || "")),
      h("td", { text: c.tool || "" }),
      h("td", { title: c.at, text: when(c.at) }),
      h("td", { text: c.project })));
    const guard = data.guard || [];
    const list = part("claims", "guard");
    list.replaceChildren(...guard.map(d => h("li", { tabindex: -1 },
      h("div", { class: "meta" }, h("span", { class: "badge stale" }, d.decision || "?"),
        ` ${when(d.at)} · ${d.project} · ${d.kind || ""} · `, sessionLink(d.session)),
      h("p", { class: "mono", text: d.command || "" }),
      ...(d.others || []).map(o => h("p", {}, "for ", sessionLink(o.session || ""),
        `: ${o.why || ""}${(o.files || []).length ? " — " + o.files.join(", ") : ""}`)))));
    part("claims", "guard-empty").hidden = guard.length > 0;
  },

  decisions(data) {
    fillProjects(data.projects);
    part("decisions", "summary").textContent = `${data.total} recorded`;
    const list = part("decisions", "list");
    list.replaceChildren(...data.decisions.map(d => h("li", { tabindex: -1 },
      h("div", { class: "meta" }, h("span", { class: "badge active" }, d.status || "?"),
        ` ${when(d.at)} · ${d.project} · ${d.id}`),
      h("h3", { text: d.title || "(untitled)" }),
      h("p", { text: d.rationale || "" }),
      h("p", { class: "meta", text: `by ${(d.by || []).join(", ") || "–"}` }))));
    part("decisions", "empty").hidden = data.decisions.length > 0;
    pageButtons("decisions", data);
  },
};

RENDER.timeline = data => Timeline.render(data);

function showLive(event) {
  // The stream and a page load race: an event may come both ways. Show it once.
  const key = eventKey(event);
  if (state.shown.has(key)) return;
  state.shown.add(key);
  const body = part("events", "rows").tBodies[0];
  const row = eventRow(event);
  row.classList.add("new");
  body.prepend(row);
  while (body.rows.length > MAX_LIVE_ROWS) {
    state.shown.delete(body.lastElementChild.dataset.key);
    body.lastElementChild.remove();
  }
  part("events", "empty").hidden = true;
}

function eventRow(e) {
  const detail = e.summary
    ? h("details", {}, h("summary", { text: e.detail || "details" }), h("pre", { text: e.summary }))
    : e.detail;
  return h("tr", { tabindex: -1, "data-event": e.event || "", "data-key": eventKey(e) },
    h("td", { title: e.t || "" }, h("time", { datetime: e.t || "" }, clock(e.t))),
    h("td", {}, sessionLink(e.session)),
    h("td", { text: e.event || "" }),
    h("td", { text: e.tool || "" }),
    h("td", {}, e.decision ? badge(e.decision) : ""),
    h("td", { class: "detail" }, detail));
}

// ---- live updates --------------------------------------------------------------------

function live(text, ok) {
  const node = document.getElementById("live");
  node.textContent = text;
  node.classList.toggle("ok", !!ok);
}

function connect() {
  const params = state.page === "events" ? pick(state.params, "session", "kind", "tool")
    : state.page === "timeline" ? new URLSearchParams() // every event: lanes update live
    : new URLSearchParams({ events: "0" });
  const key = params.toString();
  if (state.source && state.streamKey === key) return;
  if (state.source) state.source.close();
  state.streamKey = key;
  const source = new EventSource("/api/stream" + query(params));
  state.source = source;
  source.addEventListener("hello", () => {
    live("live", true);
    if (state.page === "timeline") Timeline.onHello(); else reloadSoon();
  });
  source.addEventListener("event", message => {
    if (state.page === "timeline") { Timeline.onEvent(JSON.parse(message.data)); return; }
    if (state.page !== "events" || state.params.get("before")) return;
    if (part("events", "pause").checked) return;
    const event = JSON.parse(message.data);
    if (state.inFlight) state.pending.push(event); else showLive(event);
  });
  source.addEventListener("change", message => {
    const topics = JSON.parse(message.data).topics || [];
    if (state.page === "timeline" && !topics.includes("resync")) { Timeline.onChange(topics); return; }
    if (topics.includes("resync") || topics.some(t => TOPICS[state.page].includes(t))) reloadSoon();
  });
  source.addEventListener("resync", reloadSoon);
  source.onerror = () => live(source.readyState === EventSource.CLOSED ? "offline" : "reconnecting", false);
}

// ---- forms ---------------------------------------------------------------------------

function setupForms() {
  for (const control of document.querySelectorAll("[data-filter]")) {
    control.addEventListener("change", () => setParam(control.dataset.filter, control.value.trim()));
  }
  const filters = part("events", "filters");
  filters.addEventListener("submit", event => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const input of filters.elements) if (input.name && input.value.trim()) params.set(input.name, input.value.trim());
    go("events", params);
  });
  part("events", "clear").addEventListener("click", () => go("events", new URLSearchParams()));

  const form = part("messages", "send");
  const target = form.querySelector("[data-target]");
  form.elements.to.addEventListener("change", () => {
    const to = form.elements.to.value;
    target.hidden = to === "all";
    form.querySelector("[data-new-project]").hidden = to !== "project";
    form.elements.target.required = to !== "all";
    form.elements.target.setAttribute("list", to === "session" ? "session-ids" : "project-ids");
  });
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const result = form.querySelector("[data-result]");
    const body = { to: form.elements.to.value, target: form.elements.target.value.trim(),
                   text: form.elements.text.value, urgent: form.elements.urgent.checked };
    if (body.to === "project" && form.elements.new_project.checked) body.new_project = true;
    result.textContent = "sending…";
    try {
      const answer = await api("/api/messages", { method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-Orchestra-CSRF": CSRF } });
      result.textContent = visible(`sent ${answer.message.id} to ${answer.message.to}`);
      form.elements.text.value = "";
      reloadSoon();
    } catch (error) {
      result.textContent = visible(`not sent: ${error.message}`);
    }
  });
}

// ---- keyboard ------------------------------------------------------------------------

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]") !== null;
}

function moveRow(step) {
  const items = [...section(state.page).querySelectorAll("tbody tr, .cards li, [data-list] > li")]
    .filter(n => n.offsetParent !== null);
  if (!items.length) return;
  const index = items.indexOf(document.activeElement.closest("tr, li"));
  const next = items[Math.max(0, Math.min(items.length - 1, index < 0 ? 0 : index + step))];
  next.focus();
  next.scrollIntoView({ block: "nearest" });
}

function onKey(event) {
  const help = document.getElementById("help");
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
  if (typing(event.target) || help.open) return;
  const key = event.key;
  if (/^[1-7]$/.test(key)) { go(PAGES[Number(key) - 1]); }
  else if (key === "j" || key === "ArrowDown") { moveRow(1); }
  else if (key === "k" || key === "ArrowUp") { moveRow(-1); }
  else if (key === "Enter" && document.activeElement.dataset.session) {
    go("events", new URLSearchParams({ session: document.activeElement.dataset.session }));
  } else if (key === "/") {
    const field = section(state.page).querySelector("input:not([type=checkbox]), select");
    if (field) field.focus();
  } else if (key === "n") { section(state.page).querySelector("[data-next]")?.click(); }
  else if (key === "p") { section(state.page).querySelector("[data-prev]")?.click(); }
  else if (key === "m") { go("messages"); setTimeout(() => part("messages", "send").elements.text.focus(), 0); }
  else if (key === "s" && state.page === "events") { const box = part("events", "pause"); box.checked = !box.checked; }
  else if (key === "?") { help.showModal(); }
  else return;
  event.preventDefault();
}

// ---- start ---------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  setupForms();
  document.addEventListener("keydown", onKey);
  document.getElementById("help-button").addEventListener("click", () => document.getElementById("help").showModal());
  window.addEventListener("hashchange", route);
  route();
  // Suggestions for the session and project fields, whichever page was opened first;
  // after the page's own data, which a person waits for.
  setTimeout(() => api("/api/sessions?per_page=200").then(data => {
    fillProjects(data.projects);
    fillSessionIds(data.sessions.map(s => s.session_id));
  }).catch(() => {}), 1500);
});
