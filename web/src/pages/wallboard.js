// The wallboard: one snapshot from /api/wallboard, then every change pushed over /ws.
import { get, put } from "../api.js";
import { Feed } from "../feed.js";
import { $, clock, duration, el, secondsSince, toast } from "../ui.js";

// lastSaid: each live call's last activity line (an update that says the same, e.g. the answer
// of a call still in the IVR, adds no line).
const board = { agents: new Map(), queues: new Map(), activity: [], lastSaid: new Map(), voicemails: {} };
const MAX_ACTIVITY = 60;
const STATE_ORDER = ["ringing", "on-call", "wrap-up", "available", "paused", "offline"];

function renderTotals() {
  let offered = 0, answered = 0, abandoned = 0, handle = 0, handled = 0;
  for (const q of board.queues.values()) {
    offered += q.offered_today;
    answered += q.answered_today;
    abandoned += q.abandoned_today;
    handle += q.handle_seconds_today;
    handled += q.handled_today;
  }
  $("#total-offered").textContent = offered;
  $("#total-answered").textContent = answered;
  $("#total-abandoned").textContent = abandoned;
  // AHT as docs/figures.md defines it: (talk + hold + wrap-up) per agent's part handled.
  $("#total-aht").textContent = handled ? duration(handle / handled) : "–";
}

function renderQueues() {
  const tiles = [...board.queues.values()].sort((a, b) => a.queue.localeCompare(b.queue)).map((q) => {
    const longest = q.oldest_waiting_since ? secondsSince(q.oldest_waiting_since) : null;
    // The queue's own service level formula, computed by the server (docs/figures.md).
    const sl = q.service_level_today == null ? null : Math.round(100 * q.service_level_today);
    const alarm = q.waiting > 0 && q.agents_available === 0;
    return el("div", { class: `queue-tile${alarm ? " alarm" : q.waiting ? " busy" : ""}`, "data-testid": `queue-${q.queue}`, dataset: { queue: q.queue } },
      el("h2", {}, q.queue),
      el("div", { class: "nums" },
        el("div", {}, el("b", { "data-testid": "waiting" }, q.waiting), "waiting"),
        el("div", {}, el("b", { "data-testid": "callbacks" }, q.callbacks_waiting ?? 0), "callbacks"),
        el("div", {}, el("b", { "data-testid": "voicemails" }, board.voicemails[q.queue] ?? 0), "new voicemails"),
        el("div", {}, el("b", { class: "longest", dataset: { since: q.oldest_waiting_since || "" } }, longest === null ? "–" : duration(longest)), "longest wait"),
        el("div", {}, el("b", {}, `${q.agents_available}/${q.agents_logged_in}`), "agents available"),
        el("div", {}, el("b", {}, sl === null ? "–" : `${sl}%`), "service level"),
        el("div", {}, el("b", {}, q.answered_today), "answered"),
        el("div", {}, el("b", {}, q.abandoned_today), "abandoned")));
  });
  $("#queue-tiles").replaceChildren(...(tiles.length ? tiles : [el("div", { class: "empty" }, "No queues yet")]));
  renderTotals();
}

function renderAgents() {
  // Members of a queue only: a supervisor's softphone for listening is no agent on the floor.
  const agents = [...board.agents.values()].filter((a) => a.member_of.length).sort((a, b) =>
    STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || a.name.localeCompare(b.name));
  const counts = {};
  for (const a of agents) counts[a.state] = (counts[a.state] || 0) + 1;
  $("#agent-summary").textContent = STATE_ORDER.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(" · ");
  $("#agent-grid").replaceChildren(...(agents.length ? agents.map((a) =>
    el("div", { class: `agent-card st-${a.state}`, "data-testid": `agent-${a.user_id}`, dataset: { state: a.state, userId: a.user_id } },
      el("div", { class: "name", title: a.name }, a.name),
      el("div", { class: "line" },
        el("span", { class: "state-pill", "data-testid": "agent-state" }, a.state === "paused" && a.reason ? `paused · ${a.reason}` : a.state),
        el("span", { class: "in-state", dataset: { since: a.since } }, duration(secondsSince(a.since)))),
      el("div", { class: "line" }, el("span", {}, `${a.calls_today} ${a.calls_today === 1 ? "call" : "calls"} today`),
        el("span", {}, a.registered ? "phone ok" : "no phone")),
      stateControl(a))) : [el("div", { class: "empty" }, "No agents yet")]));
}

// A supervisor sets an agent's state: free one stuck in wrap-up, log out one who went home.
// Not while a call rings or is talked on (the server refuses it too).
function stateControl(a) {
  if (["ringing", "on-call"].includes(a.state)) return "";
  const choices = [["available", "Make available"], ["offline", "Log out"]].filter(([s]) => s !== a.state);
  return el("div", { class: "line actions" }, ...choices.map(([state, label]) =>
    el("button", {
      type: "button", class: "small", "data-testid": `set-${state}`, "aria-label": `${label}: ${a.name}`,
      onclick: async () => {
        try {
          const reply = await put(`/api/agents/${a.user_id}/state`, { state });
          board.agents.set(reply.agent.user_id, reply.agent);
          renderAgents();
        } catch (error) {
          toast(error.message, "error");
        }
      },
    }, label)));
}

function describe(topic, p) {
  const agent = (id) => board.agents.get(id)?.name || (id ? `agent ${id}` : "");
  if (topic === "agent:state") return `${p.name} is ${p.state}${p.reason ? ` (${p.reason})` : ""}`;
  if (topic === "call:incoming") return `${p.from_number} offered to ${agent(p.agent_user_id)}${p.queue ? ` from ${p.queue}` : ""}`;
  if (topic === "call:ended") return `Call ${p.direction === "outbound" ? "to " + p.to_number : "from " + p.from_number} ended`;
  if (topic === "quality:poor") return `Poor audio on the call from ${p.from_number} (${p.leg}, MES ${Math.round(p.mes)})${p.agent_user_id ? " · " + agent(p.agent_user_id) : ""}`;
  if (topic === "voicemail:changed") return `New voicemail${p.mailbox ? ` for ${p.mailbox_kind} ${p.mailbox}` : ""} (${duration(p.duration_seconds)})`;
  if (topic === "call:state") return `Call ${p.direction === "outbound" ? "to " + p.to_number : "from " + p.from_number} ${p.state}${p.agent_user_id ? " · " + agent(p.agent_user_id) : ""}`;
  return topic;
}

// A journal row of the snapshot in words, as the live feed's lines are.
function describeRow(a) {
  const who = a.agent_name || (a.agent_user_id ? `agent ${a.agent_user_id}` : "");
  const where = a.queue ? ` in ${a.queue}` : "";
  const words = {
    LOGIN: `${who} logged in`,
    LOGOUT: `${who} logged out`,
    PAUSE: `${who} paused${a.reason ? ` (${a.reason})` : ""}`,
    UNPAUSE: `${who} is back`,
    ENTERQUEUE: `A caller is waiting${where}`,
    CONNECT: `${who} answered a call${where}`,
    RINGNOANSWER: `${who} did not answer a call${where}`,
    ABANDON: `A caller hung up waiting${where}`,
    EXITWITHTIMEOUT: `A caller waited too long${where}`,
    EXITEMPTY: `A caller left${where}: no agent`,
    TRANSFER: `${who} transferred a call${where}`,
    COMPLETECALLER: `A call${where} ended (caller hung up)`,
    COMPLETEAGENT: `A call${where} ended (${who} hung up)`,
    WRAPUPEND: `${who} finished wrap-up`,
    CALLBACKREQ: `A caller asked to be called back${where}`,
    CALLBACKDIAL: `${who} is calling a customer back${where}`,
  };
  return words[a.event] || `${a.event}${where}${who ? " · " + who : ""}`;
}

function addActivity(at, text, fresh) {
  board.activity.unshift({ at, text, fresh });
  board.activity.length = Math.min(board.activity.length, MAX_ACTIVITY);
  renderActivity();
}

function renderActivity() {
  $("#activity").replaceChildren(...board.activity.map((item) =>
    el("li", { class: item.fresh ? "fresh" : "" }, el("time", {}, clock(item.at)), el("span", {}, item.text))));
  for (const item of board.activity) item.fresh = false;
}

function tick() {
  for (const node of document.querySelectorAll("[data-since]")) {
    if (node.dataset.since) node.textContent = duration(secondsSince(node.dataset.since));
  }
}
setInterval(tick, 1000);

async function sync() {
  const snapshot = await get("/api/wallboard");
  board.agents = new Map(snapshot.agents.map((a) => [a.user_id, a]));
  board.queues = new Map(snapshot.queues.map((q) => [q.queue, q]));
  board.activity = snapshot.activity.map((a) => ({ at: a.at, text: describeRow(a), fresh: false }));
  await loadVoicemails();
  renderAgents();
  renderQueues();
  renderActivity();
}

// Waiting work beside the callbacks: new voicemails per queue (GET /api/voicemails/summary).
async function loadVoicemails() {
  try {
    board.voicemails = (await get("/api/voicemails/summary")).new_per_queue;
  } catch {
    board.voicemails = {};
  }
}

new Feed(["call:*", "agent:state", "queue:stats", "quality:poor", "voicemail:changed"], {
  onSync: sync,
  onEvent(topic, payload, event) {
    if (topic === "voicemail:changed") {
      loadVoicemails().then(renderQueues);
      if (payload.change !== "new") return;
    }
    const at = new Date(event.at * 1000).toISOString();
    if (topic === "agent:state") {
      const before = board.agents.get(payload.user_id);
      board.agents.set(payload.user_id, payload);
      renderAgents();
      // Updates that keep the state (phone registered, calls today) are no activity.
      if (before && before.state === payload.state && before.reason === payload.reason) return;
    } else if (topic === "queue:stats") {
      board.queues.set(payload.queue, payload);
      renderQueues();
      return;
    }
    const text = describe(topic, payload);
    if (topic === "quality:poor") toast(text, "error");  // a call going on now: say it loudly
    if (topic.startsWith("call:") && payload.call_id) {
      if (board.lastSaid.get(payload.call_id) === text) return;
      if (topic === "call:ended") board.lastSaid.delete(payload.call_id);
      else board.lastSaid.set(payload.call_id, text);
    }
    addActivity(at, text, true);
  },
}).start();
