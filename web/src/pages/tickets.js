// Tickets: the list with its filters (agents see theirs and their queues'), a new ticket by hand,
// and live changes from the feed (ticket:changed) reloading the list.
import { get, post } from "../api.js";
import { Feed } from "../feed.js";
import { $, clearErrors, el, showErrors, toast } from "../ui.js";
import { choices, due, fill, priorityBadge, statusBadge } from "../tickets-ui.js";

function query() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("#ticket-filters")).entries()) if (value) params.set(key, value);
  return params.toString();
}

async function load() {
  const reply = await get(`/api/tickets?${query()}`);
  const rows = reply.tickets.map((t) => el("tr", { "data-testid": "ticket-row", dataset: { id: t.id } },
    el("td", {}, el("a", { href: `/tickets/${t.id}` }, `#${t.id}`)),
    el("td", {}, el("a", { href: `/tickets/${t.id}` }, t.subject)),
    el("td", {}, t.contact_id ? el("a", { href: `/contacts/${t.contact_id}` }, t.contact_name || "contact") : "–"),
    el("td", {}, statusBadge(t.status)), el("td", {}, priorityBadge(t.priority)),
    el("td", {}, t.queue || "–"), el("td", {}, t.assignee_name || "–"), el("td", {}, due(t))));
  $("#ticket-rows").replaceChildren(...rows);
  $("#tickets-empty").hidden = rows.length > 0;
  const late = reply.tickets.filter((t) => t.overdue).length;
  $("#tickets-summary").textContent = `${rows.length} shown${late ? ` · ${late} overdue` : ""}`;
}

$("#ticket-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });

$("#new-ticket").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    const reply = await post("/api/tickets", {
      subject: $("#nt-subject").value, priority: $("#nt-priority").value,
      queue: $("#nt-queue").value || null, description: $("#nt-description").value,
    });
    form.reset();
    clearErrors(form, $("#new-ticket-errors"));
    toast(`Ticket #${reply.ticket.id} opened`);
    await load();
  } catch (error) {
    showErrors(form, error, $("#new-ticket-errors"));
  }
});

choices().then(({ queues, agents }) => {
  fill($("#f-queue"), queues);
  fill($("#nt-queue"), queues);
  fill($("#f-assignee"), agents);
});

let timer = null;
new Feed(["ticket:changed"], {
  onSync: load,
  onEvent() { clearTimeout(timer); timer = setTimeout(load, 300); },
}).start();
