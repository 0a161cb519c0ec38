// The agent page: softphone, status, call controls, contact card, wrap-up and contacts.
import { get, post, put } from "../api.js";
import { Feed } from "../feed.js";
import { $, $$, banner, clearErrors, clock, dateTime, duration, el, pageData, secondsSince, showErrors, toast } from "../ui.js";
import { mountMyWork } from "../mywork.js";
import { mountInbox } from "../voicemail.js";
import { mountCampaignPreview } from "../campaign-preview.js";
import { PhonePanel } from "../phone.js";
import { Ringer } from "../ringer.js";
import { mountTicketBox } from "../ticket-box.js";
import { mountCallScript } from "../call-script.js";
import { fieldDefinitions, typedValue } from "../contact-fields.js";
import { contactCrmLink, crmRecordBox } from "../crm-link.js";

// A masked number (the tenant masks numbers for my role: "+1 415 •••• 123") is shown as the
// feed gives it and called by what it belongs to (a contact, a call), never dialled as such.
const MASKED = "\u2022";

const data = pageData();
const me = data.user;
const ringer = new Ringer();

// What the page knows; the server (API + feed) is the truth, this is the latest copy of it.
const view = {
  agent: null, // AgentView
  pauseReasons: [],
  wrapup: null, // {call_id, disposition_saved}
  call: null, // LiveCall of my current call
  dispositions: [],
  queues: [],
  agents: [],
  contact: null, // contact shown on the card
  cardNumber: null,
};
// "Create ticket" in the call box and the wrap-up (ticket-box.js), for the call on the line or just ended.
const ticketBox = mountTicketBox({
  callId: () => view.call?.call_id || view.agent?.call_id || view.wrapup?.call_id || null,
  notes: () => $("#notes").value, contactName: () => view.contact?.name,
});
// The call's script beside the call box while the call is on (call-script.js).
const callScript = mountCallScript({ callId: () => (["talking", "held", "consulting"].includes(view.call?.state) ? view.call.call_id : null) });

// --- softphone ----------------------------------------------------------------------------

const panel = new PhonePanel({
  lost: "Phone connection lost: reconnecting by itself. Calls cannot reach you until it is back.",
  noPhone: "You have no softphone: ask an administrator to make you an agent.",
  mic: {
    none: ["No microphone found: plug in a headset, then reload the page.", "error"],
    denied: ["The browser blocks the microphone: allow it in the address bar's site settings, then reload.", "error"],
  },
  inCall: null,
}, () => renderCall());
const phone = panel.phone;

// The test hook: state of the phone and the page, plus getStats totals.
panel.expose({
  get ringing() { return ringer.playing; },
  get agentState() { return view.agent ? view.agent.state : null; },
  get callId() { return view.call ? view.call.call_id : null; },
  answer: () => answer(),
  hangup: () => hangup(),
});

phone.addEventListener("incoming", (event) => {
  const detail = event.detail;
  if (!detail.auto) {
    ringer.start();
    // The feed's number first: masked for a role the tenant masks, where the SIP caller ID
    // (number and display name) is whole.
    const fed = view.call?.from_number;
    const masked = !!fed && fed.includes(MASKED);
    showCaller(fed || detail.remoteNumber, masked ? null : detail.remoteName, view.call?.call_id);
  }
  renderCall();
});
phone.addEventListener("ended", () => { ringer.stop(); renderCall(); });

// --- agent state ----------------------------------------------------------------------------

// The status menu shows the state the agent is in (Offline when logged out), moved only when
// that state changes so a choice being made is not reset by an unrelated update.
const SETTABLE = new Set(["available", "paused", "offline"]);
let shownState = null;

function renderAgent() {
  const agent = view.agent;
  const pill = $("#agent-state");
  const state = agent ? agent.state : "offline";
  // The agent is paused while their own outside call rings (no queue call is offered then):
  // the pill says the call, not "paused · break" (issue 13).
  const dialling = view.call?.direction === "outbound" && view.call.state === "ringing";
  // Logged into queues, but the app has not seen the phone register (not yet, or it cannot):
  // no call can be offered, so the agent counts as offline, and the pill says why.
  const noPhone = state === "offline" && !!agent?.queues?.length && !agent.registered;
  pill.className = `state-pill st-${dialling ? "ringing" : state}`;
  pill.textContent = dialling ? `calling ${view.call.to_number}`
    : !agent ? "no agent"
    : agent.state === "paused" && agent.reason ? `paused · ${agent.reason}`
    : noPhone ? "offline · no phone" : agent.state;
  pill.dataset.state = dialling ? "dialling" : state;
  const reasons = $("#pause-reason");
  if (reasons.options.length !== view.pauseReasons.length) {
    reasons.replaceChildren(...view.pauseReasons.map((r) => el("option", { value: r }, r)));
  }
  if (state !== shownState) {
    shownState = state;
    if (SETTABLE.has(state)) {
      $("#state-select").value = state;
      $("#reason-box").hidden = state !== "paused";
      if (state === "paused" && agent?.reason && view.pauseReasons.includes(agent.reason)) {
        $("#pause-reason").value = agent.reason;
      }
    }
  }
  const inWrapup = agent && agent.state === "wrap-up";
  const needed = !!(view.wrapup && !view.wrapup.disposition_saved);
  $("#wrapup-box").hidden = !inWrapup;
  $("#wrapup-hint").textContent = needed
    ? "Save a disposition for the call to become available again."
    : "Disposition saved: you become available when wrap-up ends, or choose Available now.";
  $("#disposition-panel").hidden = !needed;
  tick();
  ticketBox.update();
}

function tick() {
  const agent = view.agent;
  if (agent) $("#agent-since").textContent = `for ${duration(secondsSince(agent.since))}`;
  if (agent && agent.state === "wrap-up" && agent.wrapup_ends_at) {
    const left = -secondsSince(agent.wrapup_ends_at);
    $("#wrapup-countdown").textContent = left > 0 ? duration(left) : "0:00";
  }
  // From when the agent came on the line, not the IVR's answer.
  const since = view.call && (view.call.connected_at || view.call.answered_at);
  if (since) $("#call-timer").textContent = duration(secondsSince(since));
}
setInterval(tick, 1000);

$("#state-select").addEventListener("change", () => {
  $("#reason-box").hidden = $("#state-select").value !== "paused";
});

$("#apply-state").addEventListener("click", async () => {
  const state = $("#state-select").value;
  const body = { state };
  // Asked on a click (browsers allow it only then): ringing calls notify the desktop.
  if (state === "available" && "Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
  if (state === "paused") body.reason = $("#pause-reason").value;
  $("#state-error").textContent = "";
  ringer.unlock();
  if (state === "available" && phone.state.mic === "prompt") await phone.requestMicrophone();
  try {
    const reply = await put("/api/me/agent/state", body);
    view.agent = reply.agent;
    renderAgent();
  } catch (error) {
    $("#state-error").textContent = error.code === "disposition-required"
      ? "Save the disposition of your last call first."
      : error.fields?.reason ? `Reason ${error.fields.reason}` : error.message;
  }
});

// --- the call ------------------------------------------------------------------------------

function callState() {
  if (view.call) return view.call.state;
  if (panel.busy) return panel.call === "ringing" ? "ringing" : "talking";
  return "idle";
}

function renderCall() {
  const box = $("#call-box");
  const state = callState();
  const sipRinging = panel.call === "ringing";
  const live = view.call && view.call.state !== "ended";
  box.dataset.state = state;
  box.className = `call-box ${state === "ringing" ? "ringing" : live || panel.busy ? "active" : "idle"}`;
  const label = {
    idle: "No call", ringing: "Incoming call", talking: "On call", held: "On hold",
    consulting: "Consulting transfer target", queued: "Waiting in queue", ivr: "In IVR",
  }[state] || state;
  $("#call-label").textContent = view.call && view.call.direction === "outbound" && state === "ringing" ? "Calling…" : label;
  const answerBtn = $("#answer-btn");
  answerBtn.hidden = state !== "ringing" || (view.call && view.call.direction === "outbound");
  answerBtn.disabled = !sipRinging;
  answerBtn.title = sipRinging ? "" : "Waiting for the call to reach your phone…";
  const inCall = live && ["talking", "held", "consulting"].includes(view.call.state);
  $("#hold-btn").disabled = !inCall || view.call.state === "consulting";
  $("#hold-btn").textContent = view.call?.held ? "Resume" : "Hold";
  $("#hold-btn").classList.toggle("toggled", !!view.call?.held);
  $("#mute-btn").disabled = !inCall;
  $("#mute-btn").textContent = view.call?.muted ? "Unmute" : "Mute";
  $("#mute-btn").classList.toggle("toggled", !!view.call?.muted);
  $("#transfer-btn").disabled = !inCall || view.call.state === "consulting";
  $("#hangup-btn").disabled = !(live || panel.busy);
  $("#consult-actions").hidden = !(live && view.call.state === "consulting");
  $("#keypad-hint").textContent = inCall ? "Keys send tones to the caller." : "Keys type the number; during a call they send tones.";
  if (!live && !panel.busy) {
    $("#call-timer").textContent = "";
    if (state === "idle") { $("#caller-number").textContent = ""; $("#caller-name").textContent = ""; }
  }
  // What the caller came for: the queue, the line they dialled, how long they have been on it.
  const c = live ? view.call : null;
  // An outside call of mine: the number it shows the far end, and the queue it is done for.
  $("#call-context").textContent = !c ? ""
    : c.direction === "outbound"
      ? [`outbound call as ${c.from_number}`, c.queue && `for ${c.queue}`].filter(Boolean).join(" · ")
      : [c.queue && `queue ${c.queue}`, c.to_number && `dialled ${c.to_number}`,
        `on the line since ${clock(c.started_at)}`].filter(Boolean).join(" · ");
  if (state !== "ringing") ringer.stop();
  announceRinging(state === "ringing" && c && c.direction !== "outbound" ? c : null);
  followRecording(inCall ? view.call.call_id : null);
  ticketBox.update();
  callScript.update();
}

// --- the call's recording: its state, and the agent's record / pause (card numbers) / resume --

const REC_LABEL = { recording: "Recording", paused: "Recording paused", off: "Not recorded" };
let recording = null; // { call_id, state, agent_may_start, ... } of the call connected now
let recordingOf = null;

async function followRecording(callId) {
  if (callId === recordingOf) return;
  recordingOf = callId;
  recording = null;
  renderRecording();
  if (!callId) return;
  // A queue that records every call starts as the agent comes on the line: look again shortly.
  for (const wait of [0, 1500]) {
    await new Promise((done) => setTimeout(done, wait));
    if (recordingOf !== callId) return;
    try {
      recording = (await get(`/api/calls/${encodeURIComponent(callId)}/recording`)).recording;
    } catch {
      recording = null; // no recording control here (split deployment down): nothing to show
    }
    renderRecording();
  }
}

function renderRecording() {
  const row = $("#rec-row");
  row.hidden = !recording;
  if (!recording) return;
  const badge = $("#rec-state");
  badge.textContent = REC_LABEL[recording.state] || recording.state;
  badge.className = `badge ${recording.state === "recording" ? "bad" : recording.state === "paused" ? "warn" : ""}`;
  const button = $("#rec-btn");
  const verb = { recording: "pause", paused: "resume", off: recording.agent_may_start ? "start" : null }[recording.state];
  button.hidden = !verb;
  button.textContent = { pause: "Pause recording", resume: "Resume recording", start: "Record" }[verb] || "";
  button.dataset.verb = verb || "";
}

$("#rec-btn").addEventListener("click", async () => {
  const verb = $("#rec-btn").dataset.verb;
  if (!verb || !recording) return;
  try {
    recording = (await post(`/api/calls/${encodeURIComponent(recording.call_id)}/recording/${verb}`)).recording;
  } catch (error) {
    toast(error.message, "error");
  }
  renderRecording();
});

// While a call rings: the tab's title says so, and a desktop notification (when the agent
// allowed them) reaches an agent working in another window. Both go when it stops ringing.
const TITLE = document.title;
let notice = null;
function announceRinging(call) {
  if (!call) {
    document.title = TITLE;
    notice?.close();
    notice = null;
    return;
  }
  const from = call.from_number || "unknown number";
  document.title = `☎ ${from} · ${TITLE}`;
  if (!notice && "Notification" in window && Notification.permission === "granted") {
    notice = new Notification("Incoming call", {
      body: `${from}${call.queue ? ` · queue ${call.queue}` : ""}`, tag: call.call_id, requireInteraction: true,
    });
    notice.onclick = () => { window.focus(); notice?.close(); };
  }
}

function setCall(call) {
  const before = view.call;
  view.call = call && call.state !== "ended" ? call : null;
  if (view.call && (!before || before.call_id !== view.call.call_id)) {
    const number = view.call.direction === "outbound" ? view.call.to_number : view.call.from_number;
    // A callback: the agent is reserved for it and sees whom they are about to call.
    showCaller(number, view.call.callback ? `Callback to ${view.call.callback}` : null, view.call.call_id);
  }
  if (view.call && view.call.state === "ringing" && view.call.direction !== "outbound") ringer.start();
  renderCall();
  if (before?.state !== view.call?.state || before?.call_id !== view.call?.call_id) renderAgent();
}

async function control(verb, body) {
  if (!view.call) return;
  try {
    await post(`/api/calls/${encodeURIComponent(view.call.call_id)}/${verb}`, body);
  } catch (error) {
    toast(error.message, "error");
  }
}

function answer() {
  ringer.stop();
  ringer.unlock();
  if (phone.answer()) return true;
  toast("The call has not reached your phone yet.", "error");
  return false;
}

async function hangup() {
  ringer.stop();
  if (view.call) await control("hangup");
  else phone.hangup();
}

$("#answer-btn").addEventListener("click", answer);
$("#hangup-btn").addEventListener("click", hangup);
$("#hold-btn").addEventListener("click", () => control(view.call?.held ? "unhold" : "hold"));
$("#mute-btn").addEventListener("click", () => control(view.call?.muted ? "unmute" : "mute"));
$("#transfer-complete").addEventListener("click", () => control("transfer/complete"));
$("#transfer-cancel").addEventListener("click", () => control("transfer/cancel"));

// --- dial pad and DTMF ------------------------------------------------------------------------

async function dial(number, owner) {
  $("#dial-error").textContent = "";
  const masked = !!number && number.includes(MASKED);
  if (masked && !owner) { $("#dial-error").textContent = "This number is masked: call it from its contact, task or call."; return; }
  const target = masked ? number : (number ?? $("#dial-number").value).replace(/[\s().-]/g, "");
  if (!target) { $("#dial-error").textContent = "Type a number first."; return; }
  ringer.unlock();
  phone.expectCall();
  const callerId = $("#dial-as").value;
  try {
    const asked = { ...(callerId ? { caller_id: callerId } : {}) };
    const reply = masked ? await post("/api/calls/dial-by", { ...owner, ...asked })
      : await post("/api/calls/dial", { number: target, ...asked });
    toast(callerId ? `Calling ${target} as ${callerId}…` : `Calling ${target}…`);
    view.pendingDial = reply.call_id;
  } catch (error) {
    $("#dial-error").textContent = error.fields?.number ? `Number ${error.fields.number}`
      : error.fields?.caller_id ? `Call as: ${error.fields.caller_id}` : error.message;
  }
}

// "Call as": the tenant's outbound numbers; Automatic lets the server pick (the caller ID of
// my queues, else the tenant's default: docs/dialing.md). Hidden when the tenant has none.
function renderCallerIds(numbers) {
  const select = $("#dial-as");
  const chosen = select.value;
  select.replaceChildren(select.options[0], ...numbers.map((n) =>
    el("option", { value: n.number }, `${n.label ? `${n.label} · ` : ""}${n.number}${n.default ? " (default)" : ""}`)));
  select.value = numbers.some((n) => n.number === chosen) ? chosen : "";
  $("#dial-as-row").hidden = numbers.length === 0;
}

$("#dial-btn").addEventListener("click", () => dial());
$("#dial-number").addEventListener("keydown", (event) => { if (event.key === "Enter") dial(); });
for (const key of $$("#keypad button")) {
  key.addEventListener("click", () => {
    const digit = key.dataset.digit;
    if (view.call && ["talking", "held"].includes(view.call.state)) control("dtmf", { digits: digit });
    else $("#dial-number").value += digit;
  });
}

// --- transfer ------------------------------------------------------------------------------------

function fillTransferTargets() {
  const kind = $("#transfer-kind").value;
  const select = $("#transfer-target-select");
  const number = $("#transfer-target-number");
  select.hidden = kind === "number";
  number.hidden = kind !== "number";
  if (kind === "agent") {
    select.replaceChildren(...view.agents.filter((a) => a.user_id !== me.id).map((a) =>
      el("option", { value: String(a.user_id) }, `${a.name} (${a.state})`)));
  } else if (kind === "queue") {
    select.replaceChildren(...view.queues.map((q) => el("option", { value: q.name }, q.name)));
  }
  // A queue has nobody to talk to first: only a blind transfer to it.
  const attended = $("#transfer-attended");
  attended.disabled = kind === "queue";
  if (attended.disabled) attended.checked = false;
}

$("#transfer-btn").addEventListener("click", async () => {
  try {
    view.agents = (await get("/api/agents")).agents;
  } catch { /* keep the last list */ }
  fillTransferTargets();
  $("#transfer-errors").textContent = "";
  $("#transfer-dialog").showModal();
});
$("#transfer-kind").addEventListener("change", fillTransferTargets);
$("#transfer-close").addEventListener("click", () => $("#transfer-dialog").close());
$("#transfer-go").addEventListener("click", async () => {
  const kind = $("#transfer-kind").value;
  const target = kind === "number" ? $("#transfer-target-number").value.trim() : $("#transfer-target-select").value;
  try {
    await post(`/api/calls/${encodeURIComponent(view.call.call_id)}/transfer`, {
      kind, target, attended: $("#transfer-attended").checked,
    });
    $("#transfer-dialog").close();
    toast("Transfer started");
  } catch (error) {
    $("#transfer-errors").textContent = error.fields?.target ? `Target ${error.fields.target}` : error.message;
  }
});

// --- contact card ------------------------------------------------------------------------------

function historyTable(history) {
  if (!history.length) return el("p", { class: "muted small" }, "No previous calls.");
  return el("table", { "data-testid": "contact-history" },
    el("thead", {}, el("tr", {}, el("th", {}, "When"), el("th", {}, "Dir."), el("th", {}, "Duration"),
      el("th", {}, "Agent"), el("th", {}, "Disposition"))),
    el("tbody", {}, history.map((call) => el("tr", { title: call.notes || "" },
      el("td", {}, dateTime(call.started_at)),
      el("td", {}, call.direction === "inbound" ? "in" : call.direction === "outbound" ? "out" : "int"),
      el("td", {}, call.answered ? duration(call.duration) : "missed"),
      el("td", {}, call.agent_name || "–"),
      el("td", {}, ...outcomeOf(call), call.follow_up_on ? el("div", { class: "small muted" }, `follow up ${call.follow_up_on}`) : null)))));
}

// A call transferred between agents: each agent's own outcome, under their name.
function outcomeOf(call) {
  const parts = call.parts || [];
  if (parts.length < 2) return [call.disposition || "–"];
  return parts.map((part) => el("div", { "data-testid": "outcome-part", title: part.notes || "" },
    `${part.agent_name || "agent"}: ${part.disposition}`));
}

function renderContact(contact, history, number) {
  view.contact = contact;
  const body = $("#contact-body");
  if (!contact) {
    body.replaceChildren(
      el("div", { class: "name", "data-testid": "contact-name" }, "Unknown caller"),
      el("div", { class: "company" }, number || ""),
      el("button", { class: "small", onclick: () => openContactForm(null, number) }, "Create contact"),
      el("h3", {}, "Previous calls"), historyTable(history || []));
    return;
  }
  const fields = Object.entries(contact.custom_fields || {});
  body.replaceChildren(
    el("div", { class: "name", "data-testid": "contact-name" }, el("a", { href: `/contacts/${contact.id}`, target: "_blank", rel: "noopener", "data-testid": "contact-page-link", title: "The contact's page and timeline" }, contact.name)),
    el("div", { class: "company", "data-testid": "contact-company" }, contact.company || ""),
    el("div", {}, contact.tags.map((tag) => el("span", { class: "tag" }, tag))),
    el("div", { class: "phones" }, contact.phones.map((p, i) => el("div", { class: "phone" },
      el("span", { "data-testid": "contact-phone" }, p), el("button", { class: "small", "data-testid": "click-to-call", onclick: () => dial(p, { contact_id: contact.id, phone: i }) }, "Call")))),
    fields.length ? el("dl", { class: "kv", "data-testid": "custom-fields" },
      fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])) : null,
    el("div", { class: "actions" }, el("button", { class: "small", onclick: () => openContactForm(contact) }, "Edit")),
    el("h3", {}, "Previous calls"), historyTable(history || []));
}

async function showCaller(number, sipName, callId) {
  if (!number) return;
  $("#caller-number").textContent = number;
  $("#caller-name").textContent = sipName || "";
  if (view.cardNumber === number) return;
  view.cardNumber = number;
  try {
    const ofCall = callId ? `&call_id=${encodeURIComponent(callId)}` : "";
    const card = await get(`/api/contacts/by-phone?number=${encodeURIComponent(number)}${ofCall}`);
    const contact = card.contacts[0] || null;
    if (contact) $("#caller-name").textContent = view.call?.callback ? `Callback to ${contact.name}` : contact.name;
    // Previous calls: not the one ringing now.
    const history = card.history.filter((call) => call.call_id !== callId);
    renderContact(contact, history, number);
    addCrmRecord(number, contact, callId);
  } catch (error) {
    renderContact(null, [], number);
    addCrmRecord(number, null, callId);
  }
}

// The caller's record in the tenant's CRM, under our card once it answers (our card never waits).
function addCrmRecord(number, contact, callId) {
  const box = crmRecordBox(number, contact?.id, callId, (record) => fillFromCrm(contact, number, record));
  const body = $("#contact-body");
  body.insertBefore(box, body.querySelector("h3"));
}

function fillFromCrm(contact, number, record) {
  openContactForm(contact, number);
  if (record.name) $("#cf-name").value = record.name;
  if (record.company) $("#cf-company").value = record.company;
  const custom = { ...(contact?.custom_fields || {}), ...(record.custom_fields || {}) };
  if (record.external_id) custom.external_id = record.external_id;
  $("#cf-custom").value = Object.entries(custom).map(([k, v]) => `${k}: ${v}`).join("\n");
}

async function openContactById(id) {
  const reply = await get(`/api/contacts/${id}`);
  view.cardNumber = null;
  renderContact(reply.contact, reply.history);
  const link = await contactCrmLink(id);
  if (link) $("#contact-body .actions")?.append(link);
}

function openContactForm(contact, number) {
  const form = $("#contact-form");
  form.dataset.id = contact ? contact.id : "";
  $("#cf-name").value = contact ? contact.name : "";
  $("#cf-company").value = contact?.company || "";
  $("#cf-phones").value = contact ? contact.phones.join("\n") : (number || "");
  $("#cf-tags").value = contact ? contact.tags.join(", ") : "";
  $("#cf-custom").value = contact ? Object.entries(contact.custom_fields).map(([k, v]) => `${k}: ${v}`).join("\n") : "";
  clearErrors(form, $("#contact-form-errors"));
  form.hidden = false;
  $("#contact-body").hidden = true;
  $("#cf-name").focus();
}

function closeContactForm() {
  $("#contact-form").hidden = true;
  $("#contact-body").hidden = false;
}

$("#new-contact-btn").addEventListener("click", () => openContactForm(null, view.cardNumber));
$("#contact-cancel").addEventListener("click", closeContactForm);
$("#contact-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const custom = {};
  const definitions = await fieldDefinitions(); // a number field's value is sent as a number
  for (const line of $("#cf-custom").value.split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) custom[line.slice(0, at).trim()] = typedValue(definitions, line.slice(0, at).trim(), line.slice(at + 1));
  }
  const body = {
    name: $("#cf-name").value,
    company: $("#cf-company").value || null,
    phones: $("#cf-phones").value.split("\n").map((p) => p.trim()).filter(Boolean),
    tags: $("#cf-tags").value.split(",").map((t) => t.trim()).filter(Boolean),
    custom_fields: custom,
  };
  try {
    const id = form.dataset.id;
    const reply = id ? await put(`/api/contacts/${id}`, body) : await post("/api/contacts", body);
    closeContactForm();
    await openContactById(reply.contact.id);
    toast("Contact saved");
  } catch (error) {
    showErrors(form, error, $("#contact-form-errors"));
  }
});

let searchTimer = null;
$("#contact-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 250);
});

async function search() {
  const q = $("#contact-search").value.trim();
  const list = $("#contact-results");
  if (!q) { list.replaceChildren(); return; }
  const reply = await get(`/api/contacts?q=${encodeURIComponent(q)}&limit=20`);
  list.replaceChildren(...(reply.contacts.length ? reply.contacts.map((c) =>
    el("li", {}, el("button", { type: "button", onclick: () => openContactById(c.id), "data-testid": "contact-result" },
      el("span", {}, c.name, el("span", { class: "muted small" }, c.company ? ` · ${c.company}` : "")),
      el("span", { class: "muted small" }, c.phones[0] || "")))) : [el("li", { class: "muted" }, "No contact found")]));
}

// --- wrap-up: disposition required ---------------------------------------------------------------

function renderDispositions() {
  const select = $("#disposition");
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "Choose…"),
    ...view.dispositions.map((d) => el("option", { value: d.name, dataset: { followUp: d.requires_follow_up ? "1" : "" } }, d.name)));
  select.value = current;
  updateFollowUp();
}

function updateFollowUp() {
  const option = $("#disposition").selectedOptions[0];
  const needed = !!option?.dataset.followUp;
  $("#follow-up-box").hidden = !needed;
  $("#follow-up").required = needed;
  if (needed && !$("#follow-up").value) {
    const tomorrow = new Date(Date.now() + 86400000);
    $("#follow-up").value = tomorrow.toISOString().slice(0, 10);
  }
}
$("#disposition").addEventListener("change", updateFollowUp);

$("#disposition-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const callId = view.agent?.call_id || view.wrapup?.call_id || view.lastCallId;
  const form = event.target;
  clearErrors(form, $("#disposition-errors"));
  if (!callId) { $("#disposition-errors").textContent = "There is no call to dispose of."; return; }
  const body = { disposition: $("#disposition").value, notes: $("#notes").value || null };
  if (!$("#follow-up-box").hidden) body.follow_up_on = $("#follow-up").value || null;
  try {
    await put(`/api/calls/${encodeURIComponent(callId)}/disposition`, body);
    toast("Disposition saved");
    form.reset();
    view.wrapup = null;
    await sync();
  } catch (error) {
    showErrors(form, error, $("#disposition-errors"));
  }
});

// --- live updates -----------------------------------------------------------------------------

async function sync() {
  const [agentReply, live, dispositions, queues, callerIds] = await Promise.all([
    get("/api/me/agent").catch((error) => (error.status === 404 ? null : Promise.reject(error))),
    get("/api/calls/live"),
    get("/api/dispositions"),
    get("/api/queues"),
    get("/api/dialing/caller-ids"),
  ]);
  renderCallerIds(callerIds.numbers);
  if (agentReply) {
    view.agent = agentReply.agent;
    view.pauseReasons = agentReply.pause_reasons;
    view.wrapup = agentReply.wrapup;
  } else {
    banner("agent", "You are not set up as an agent: the softphone and status are unavailable.", "warn");
  }
  view.dispositions = dispositions.dispositions;
  view.queues = queues.queues;
  renderDispositions();
  const mine = live.calls.find((c) => c.agent_user_id === me.id) || null;
  setCall(mine);
  renderAgent();
}

const feed = new Feed(["call:*", "agent:state", "voicemail:changed"], {
  onSync: sync,
  onEvent(topic, payload) {
    if (topic === "voicemail:changed") { inbox.refresh(); myWork.refresh(); return; }
    if (topic === "agent:state" && payload.user_id === me.id) {
      const before = view.agent;
      view.agent = payload;
      tellMissed(before, payload);
      if (payload.state === "wrap-up" && payload.call_id) {
        view.lastCallId = payload.call_id;
        // A tenant with no disposition asks none: nothing to save, nothing holds the agent.
        if (!before || before.state !== "wrap-up") {
          view.wrapup = { call_id: payload.call_id, disposition_saved: view.dispositions.length === 0 };
        }
      }
      // Out of ringing/on-call, the call is no longer mine even if the caller stays on the line
      // (and its call:ended, published without an agent, never reaches this page).
      // (An outside call of mine that still rings keeps me paused meanwhile: it stays.)
      const dialling = view.call?.direction === "outbound" && view.call.state === "ringing";
      if (view.call && !dialling && !["ringing", "on-call"].includes(payload.state)) {
        view.lastCallId = view.call.call_id;
        setCall(null);
      }
      renderAgent();
    } else if (topic.startsWith("call:") && payload.agent_user_id === me.id) {
      if (topic === "call:ended") {
        view.lastCallId = payload.call_id;
        if (view.call && view.call.call_id === payload.call_id) setCall(null);
        ringer.stop();
      } else {
        setCall(payload);
      }
    }
  },
});

// An offer that rang out: say so (it used to vanish and come back seconds later unexplained),
// and say why the agent is paused when missed calls paused them.
function tellMissed(before, now) {
  if (now.state === "ringing" || now.state === "on-call") { banner("missed", ""); return; }
  if (before?.state !== "ringing") return;
  const from = view.call?.from_number || "a caller";
  if (now.state === "paused" && now.reason === "no answer") {
    banner("missed", `You missed a call from ${from} and were paused after missed calls. Choose Available when you are back.`, "warn");
  } else if (now.state === "available" || now.state === "paused") {
    banner("missed", `You missed a call from ${from}: it went back to the queue.`, "info");
  }
}

panel.start();
feed.start();
const myWork = mountMyWork($("#my-work"), { beforeCall: () => { ringer.unlock(); phone.expectCall(); }, dial });
const inbox = mountInbox($("#voicemail-inbox"), { me, dial });
mountCampaignPreview($("#campaign-preview"), { beforeCall: () => { ringer.unlock(); phone.expectCall(); } });
