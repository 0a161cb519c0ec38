// The supervisor's live calls: the tenant's calls pushed over /ws, listen / whisper / barge
// through the supervision API, and the same JsSIP softphone as the agent page (the supervision
// leg rings it with X-PBX-Auto-Answer, so it answers by itself).
import { ApiError, del, get, post } from "../api.js";
import { Feed } from "../feed.js";
import { PhonePanel } from "../phone.js";
import { isWaiting, stageOf, waitingActions } from "../call-stage.js";
import { $, duration, el, pageData, secondsSince, toast } from "../ui.js";

const me = pageData().user;
const MODES = ["listen", "whisper", "barge"];
// Calls whose agent leg is connected: the only ones supervision can join.
const CONNECTED = new Set(["talking", "held", "consulting"]);

const view = {
  calls: new Map(), // call_id -> LiveCall
  agents: new Map(), // user_id -> name
  session: null, // my supervision session (session_json), or null
  pending: null, // {call_id, mode} while the API rings my phone
  available: null, // true / false (503) / null (unknown yet)
  queues: [], // the tenant's queue names: where a waiting call may be moved
  wrapups: new Map(), // user_id -> agent view, of agents in wrap-up
};

// --- softphone (the same phone as the agent page) ---------------------------------------------

const panel = new PhonePanel({
  lost: "Phone connection lost: reconnecting by itself. Supervision rings this phone, so it cannot start until it is back.",
  noPhone: "You have no softphone: ask an administrator for a phone line to supervise with.",
  // Listening needs no microphone; whisper and barge do.
  mic: {
    denied: ["The browser blocks the microphone: you can listen, but whisper and barge need it. Allow it in the site settings, then reload.", "warn"],
    none: ["No microphone found: you can listen, but whisper and barge need one.", "warn"],
  },
  inCall: "Phone: supervising",
});
const phone = panel.phone;

panel.expose({
  get session() { return view.session; },
  get mode() { return view.session ? view.session.mode : null; },
});

// My leg went away (I hung up, the call ended): the server ended the session; ask it.
phone.addEventListener("ended", () => loadSessions());

// --- errors ---------------------------------------------------------------------------------

function showError(text) {
  const box = $("#supervise-error");
  box.hidden = !text;
  box.textContent = text || "";
}

function explain(error) {
  if (error instanceof ApiError && error.status === 503) {
    return `Supervision is not available: ${error.message}. The list of calls still works; listen, whisper and barge need the telephony service.`;
  }
  if (error instanceof ApiError && error.code === "no-phone") {
    return `${error.message}: ask an administrator for a phone line.`;
  }
  if (error instanceof ApiError && error.status === 404) {
    return "That call or session is gone (it may just have ended).";
  }
  return error.message || String(error);
}

function setAvailable(available, message) {
  view.available = available;
  const badge = $("#sv-available");
  badge.hidden = available !== false;
  badge.className = "badge bad";
  badge.textContent = "Supervision: unavailable";
  badge.title = message || "";
}

// --- the calls ------------------------------------------------------------------------------

function agentName(userId) {
  if (userId === null || userId === undefined) return "–";
  return view.agents.get(userId) || `agent ${userId}`;
}

function renderCalls() {
  const calls = [...view.calls.values()].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  const rows = calls.map((call) => {
    const mine = view.session && view.session.call_id === call.call_id;
    const pending = view.pending && view.pending.call_id === call.call_id;
    const busy = !!view.pending;
    const connected = CONNECTED.has(call.state) && call.agent_user_id !== null;
    const buttons = MODES.map((mode) => el("button", {
      class: `small${mine && view.session.mode === mode ? " toggled" : ""}`,
      "data-testid": `${mode}-${call.call_id}`,
      disabled: !connected || busy || (mine && view.session.mode === mode),
      title: connected ? "" : "Only calls connected to an agent can be supervised",
      onclick: () => supervise(call.call_id, mode),
    }, mode[0].toUpperCase() + mode.slice(1)));
    buttons.push(el("button", {
      class: "small danger",
      "data-testid": `stop-${call.call_id}`,
      disabled: !mine || busy,
      onclick: () => stop(),
    }, "Stop"));
    return el("tr", { class: mine ? "supervised" : "", "data-testid": `live-${call.call_id}`, dataset: { callId: call.call_id, state: call.state } },
      el("td", {}, call.queue || "–"),
      el("td", { "data-testid": "agent" }, agentName(call.agent_user_id)),
      el("td", { "data-testid": "caller" }, call.direction === "outbound" ? call.to_number : call.from_number),
      el("td", { class: "num", "data-testid": "duration", dataset: { since: call.started_at } }, duration(secondsSince(call.started_at))),
      el("td", {}, el("span", { class: `call-state cs-${call.state}`, "data-testid": "state" }, call.state + (call.held ? " · held" : "")),
        el("div", { class: "small muted", "data-testid": "stage" }, stageOf(call, agentName))),
      el("td", { class: "actions" }, pending ? el("span", { class: "small muted" }, `Ringing your phone (${view.pending.mode})…`)
        : isWaiting(call) ? waitingActions(call, view.queues, () => resync()) : buttons));
  });
  // After the call: agents wrapping up, the last stage of their call.
  for (const agent of view.wrapups.values()) {
    rows.push(el("tr", { "data-testid": `wrapup-${agent.user_id}`, dataset: { state: "wrap-up" } },
      el("td", {}, "–"), el("td", { "data-testid": "agent" }, agent.name), el("td", {}, "–"),
      el("td", { class: "num", dataset: { since: agent.since } }, duration(secondsSince(agent.since))),
      el("td", {}, el("span", { class: "call-state cs-wrap-up", "data-testid": "state" }, "wrap-up")), el("td", {})));
  }
  $("#live-rows").replaceChildren(...rows);
  $("#live-empty").hidden = calls.length > 0;  // agents wrapping up are no live call
  const connected = calls.filter((c) => CONNECTED.has(c.state)).length;
  $("#live-summary").textContent = `${calls.length} live · ${connected} connected to an agent`;
}

function renderSession() {
  const session = view.session;
  const box = $("#sv-box");
  box.dataset.mode = session ? session.mode || "" : "";
  box.className = `sv-box ${session ? `active sv-${session.mode}` : view.pending ? "ringing" : "idle"}`;
  $("#sv-label").textContent = session ? "Supervising" : view.pending ? "Ringing your phone…" : "Not supervising";
  $("#sv-mode").textContent = session ? session.mode : view.pending ? view.pending.mode : "";
  const call = session ? view.calls.get(session.call_id) : null;
  $("#sv-call").textContent = session
    ? `${call ? (call.from_number || call.to_number) : "call"} with ${agentName(session.agent_user_id)}`
    : "";
  $("#sv-session").textContent = session ? `session ${session.session_id} · since ${new Date(session.started_at).toLocaleTimeString()}` : "";
  $("#sv-actions").hidden = !session;
  for (const button of document.querySelectorAll("#sv-actions [data-mode]")) {
    const current = session && session.mode === button.dataset.mode;
    button.classList.toggle("toggled", !!current);
    button.disabled = !!current || !!view.pending;
  }
}

function render() {
  renderCalls();
  renderSession();
}

function tick() {
  for (const node of document.querySelectorAll("#live-rows [data-since]")) {
    node.textContent = duration(secondsSince(node.dataset.since));
  }
  for (const node of document.querySelectorAll("#live-rows [data-testid=stage]")) {
    const call = view.calls.get(node.closest("tr").dataset.callId);
    if (call) node.textContent = stageOf(call, agentName);
  }
}

async function loadSessions() {
  try {
    const reply = await get("/api/supervision/sessions");
    setAvailable(true);
    view.session = reply.sessions.find((s) => s.supervisor_user_id === me.id) || null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) setAvailable(false, error.message);
    else toast(explain(error), "error");
    view.session = null;
  }
  render();
}

// The stages (places in queues, who rings) move with every call's event: read them again.
let resyncing = null;
function resync() {
  clearTimeout(resyncing);
  resyncing = setTimeout(() => get("/api/calls/live").then((calls) => {
    view.calls = new Map(calls.calls.filter((c) => c.state !== "ended").map((c) => [c.call_id, c]));
    renderCalls();
  }).catch(() => {}), 250);
}

async function sync() {
  const [calls, agents, queues] = await Promise.all([get("/api/calls/live"), get("/api/agents"), get("/api/queues")]);
  view.queues = queues.queues.map((q) => q.name);
  view.agents = new Map(agents.agents.map((a) => [a.user_id, a.name]));
  view.wrapups = new Map(agents.agents.filter((a) => a.state === "wrap-up").map((a) => [a.user_id, a]));
  view.calls = new Map(calls.calls.filter((c) => c.state !== "ended").map((c) => [c.call_id, c]));
  render();
  await loadSessions();
}

// --- actions --------------------------------------------------------------------------------

async function supervise(callId, mode) {
  showError("");
  const session = view.session;
  try {
    if (session && session.call_id === callId) {
      // Same call: switch; the supervisor's channel stays up.
      const reply = await post(`/api/supervision/sessions/${encodeURIComponent(session.session_id)}/mode`, { mode });
      view.session = reply.session;
      toast(`Now ${mode} (switched in ${reply.took_ms} ms)`);
      render();
      return;
    }
    if (session) await del(`/api/supervision/sessions/${encodeURIComponent(session.session_id)}`);
    view.session = null;
    view.pending = { call_id: callId, mode };
    if (!phone.registered) toast("Your phone is not connected yet: the supervision call may not reach it.", "error");
    render();
    // 201 once my phone has answered (it auto-answers) and is placed in the call.
    const reply = await post(`/api/supervision/calls/${encodeURIComponent(callId)}/${mode}`);
    view.session = reply.session;
    setAvailable(true);
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) setAvailable(false, error.message);
    showError(explain(error));
    if (error instanceof ApiError && error.status === 404) await loadSessions();
  } finally {
    view.pending = null;
    render();
  }
}

async function stop() {
  const session = view.session;
  if (!session) return;
  showError("");
  try {
    await del(`/api/supervision/sessions/${encodeURIComponent(session.session_id)}`);
    view.session = null;
  } catch (error) {
    showError(explain(error));
  }
  await loadSessions();
}

for (const button of document.querySelectorAll("#sv-actions [data-mode]")) {
  button.addEventListener("click", () => {
    if (view.session) supervise(view.session.call_id, button.dataset.mode);
  });
}
$("#sv-stop").addEventListener("click", stop);

new Feed(["call:*", "agent:state", "queue:stats"], {
  onSync: sync,
  onEvent(topic, call) {
    if (topic === "queue:stats") { resync(); return; } // a caller joined or left a queue
    if (topic === "agent:state") {
      if (call.state === "wrap-up") view.wrapups.set(call.user_id, call);
      else view.wrapups.delete(call.user_id);
      renderCalls();
      return;
    }
    if (topic === "call:ended" || call.state === "ended") {
      view.calls.delete(call.call_id);
      // The session ends with its call, on the server; drop ours from the page too.
      if (view.session && view.session.call_id === call.call_id) loadSessions();
    } else {
      view.calls.set(call.call_id, call);
      if (call.agent_user_id !== null && !view.agents.has(call.agent_user_id)) {
        get("/api/agents").then((reply) => {
          view.agents = new Map(reply.agents.map((a) => [a.user_id, a.name]));
          renderCalls();
        }).catch(() => {});
      }
    }
    render();
    resync();
  },
}).start();
setInterval(tick, 1000);

panel.start();
