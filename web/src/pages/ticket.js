// A ticket: its fields (status moves the server allows), comments, history and linked calls;
// reloaded when the feed says it changed.
import { get, patch, post } from "../api.js";
import { Feed } from "../feed.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "../ui.js";
import { choices, fill } from "../tickets-ui.js";

const ticketId = Number(location.pathname.split("/").pop());
let current = null;
const agentNames = new Map(); // user id -> name, for the history's assignee rows
const LABELS = { assignee_user_id: "assignee", contact_id: "contact", due_at: "due" };

/** A history value as people read it: names for people, local times for the due time. */
function shown(field, value) {
  if (value === null || value === undefined || value === "") return "none";
  if (field === "assignee_user_id") return agentNames.get(value) || `user ${value}`;
  if (field === "due_at") return dateTime(value);
  if (field === "contact_id") return current?.contact_id === Number(value) ? current.contact_name : `contact ${value}`;
  return value;
}

function render(reply) {
  const t = reply.ticket;
  current = t;
  document.title = `#${t.id} ${t.subject} · pbx-stasis`;
  $("#ticket-title").textContent = `#${t.id} ${t.subject}`;
  $("#ticket-meta").replaceChildren(
    `Opened ${dateTime(t.created_at)} · due ${dateTime(t.due_at)}`, t.overdue ? el("span", { class: "overdue" }, " · overdue") : "",
    t.contact_id ? el("span", {}, " · ", el("a", { href: `/contacts/${t.contact_id}`, "data-testid": "ticket-contact" }, t.contact_name || "contact")) : "");
  $("#te-subject").value = t.subject;
  $("#te-description").value = t.description;
  $("#te-status").replaceChildren(...[t.status, ...reply.moves].map((s) => el("option", { value: s }, s)));
  $("#te-status").value = t.status;
  $("#te-priority").value = t.priority;
  $("#te-queue").value = t.queue || "";
  $("#te-assignee").value = t.assignee_user_id ? String(t.assignee_user_id) : "";
  $("#comments").replaceChildren(...(reply.comments.length ? reply.comments.map((c) => el("div", { class: "comment" },
    el("div", { class: "small muted" }, `${c.user_name || "someone"} · ${dateTime(c.created_at)}`), c.body))
    : [el("p", { class: "muted small" }, "No comments yet.")]));
  $("#ticket-history").replaceChildren(...reply.history.slice().reverse().map((h) => el("li", {},
    el("div", { class: "when" }, `${dateTime(h.at)} · ${h.user_name || "system"}`),
    el("div", { class: "what" }, h.old === null && h.field !== "call"
      ? `${LABELS[h.field] || h.field}: ${shown(h.field, h.new)}`
      : h.field === "call" ? "call linked"
        : `${LABELS[h.field] || h.field}: ${shown(h.field, h.old)} → ${shown(h.field, h.new)}`))));
  $("#ticket-calls").replaceChildren(...(reply.calls.length ? reply.calls.map((c) => el("li", {},
    el("span", {}, dateTime(c.started_at)), el("span", { class: "muted small" }, ` ${c.from_number} → ${c.to_number}`)))
    : [el("li", { class: "muted" }, "No linked call.")]));
}

async function load() {
  render(await get(`/api/tickets/${ticketId}`));
}

$("#ticket-edit").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const wanted = {
    subject: $("#te-subject").value, description: $("#te-description").value, status: $("#te-status").value,
    priority: $("#te-priority").value, queue: $("#te-queue").value || null,
    assignee_user_id: $("#te-assignee").value ? Number($("#te-assignee").value) : null,
  };
  // Only what changed: the history then says exactly what this save did.
  const body = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => (current[k] ?? null) !== v));
  try {
    await patch(`/api/tickets/${ticketId}`, body);
    clearErrors(form, $("#ticket-errors"));
    toast("Ticket saved");
    await load();
  } catch (error) {
    showErrors(form, error, $("#ticket-errors"));
  }
});

$("#comment-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    await post(`/api/tickets/${ticketId}/comments`, { body: $("#comment-body").value });
    form.reset();
    clearErrors(form, $("#comment-errors"));
    await load();
  } catch (error) {
    showErrors(form, error, $("#comment-errors"));
  }
});

const ready = choices().then(({ queues, agents }) => {
  fill($("#te-queue"), queues);
  fill($("#te-assignee"), agents);
  for (const [id, name] of agents) agentNames.set(id, name);
});
ready.then(() => new Feed(["ticket:changed"], {
  onSync: load,
  onEvent(topic, payload) { if (payload.ticket_id === ticketId) load(); },
}).start());
