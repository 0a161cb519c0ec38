// Shared pieces of the ticket pages and the agent's "Create ticket": badges, due times, and the
// tenant's queues and agents for the selects.
import { get } from "./api.js";
import { dateTime, el } from "./ui.js";

export const PRIORITIES = ["low", "medium", "high", "urgent"];

export function statusBadge(status) {
  return el("span", { class: `tstatus tstatus-${status}`, "data-testid": "ticket-status-badge" }, status);
}

export function priorityBadge(priority) {
  return el("span", { class: `prio prio-${priority}` }, priority);
}

export function due(ticket) {
  return el("span", { class: ticket.overdue ? "overdue" : "" },
    dateTime(ticket.due_at), ticket.overdue ? " · overdue" : "");
}

/** Fill a select's options after its first ("any") option. */
export function fill(select, items) {
  const first = select.options[0];
  select.replaceChildren(first, ...items.map(([value, text]) => el("option", { value }, text)));
}

/** The tenant's queues and agents ([value, label] pairs); a list that fails stays empty. */
export async function choices() {
  const [queues, agents] = await Promise.allSettled([get("/api/queues"), get("/api/agents")]);
  return {
    queues: queues.status === "fulfilled" ? queues.value.queues.map((q) => [q.name, q.name]) : [],
    agents: agents.status === "fulfilled"
      ? agents.value.agents.map((a) => [String(a.user_id), a.name]).sort((a, b) => a[1].localeCompare(b[1]))
      : [],
  };
}
