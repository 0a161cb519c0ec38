// The external CRM on the agent's card and the contact's page: the caller's record looked up in
// the tenant's CRM (it arrives after our own card, never holding it up; a slow or failing CRM
// leaves a note), and the "open in CRM" link.
import { get } from "./api.js";
import { el } from "./ui.js";

// A box on the card that fills when the CRM answers; `use(record)` fills our contact from it.
export function crmRecordBox(number, contactId, callId, use) {
  const box = el("div", { class: "crm-record", "data-testid": "crm-record", "data-state": "loading" },
    el("div", { class: "small muted" }, "Looking the caller up in the CRM…"));
  const query = `number=${encodeURIComponent(number)}${contactId ? `&contact_id=${contactId}` : ""}` +
    (callId ? `&call_id=${encodeURIComponent(callId)}` : ""); // a masked number: its call
  get(`/api/crm-link/lookup?${query}`).then((found) => fill(box, found, use),
    () => fill(box, { status: "failed", note: "The CRM lookup failed; the card shows our contact only." }, use));
  return box;
}

function fill(box, found, use) {
  box.dataset.state = found.status;
  if (found.status === "off") { box.remove(); return; }
  const parts = [el("h3", {}, "In the CRM")];
  const record = found.record;
  if (record) {
    if (record.name) parts.push(el("div", { class: "name", "data-testid": "crm-name" }, record.name));
    if (record.company) parts.push(el("div", { class: "company", "data-testid": "crm-company" }, record.company));
    const fields = Object.entries(record.custom_fields || {});
    if (fields.length) parts.push(el("dl", { class: "kv", "data-testid": "crm-fields" }, fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])));
    if (use) parts.push(el("button", { class: "small", type: "button", "data-testid": "crm-use", onclick: () => use(record) }, "Fill our contact from the CRM"));
  }
  if (found.note) parts.push(el("div", { class: `small ${found.status === "found" || found.status === "not_found" ? "muted" : "warn"}`, "data-testid": "crm-note" }, found.note));
  if (found.open_url) parts.push(crmLink(found.open_url));
  box.replaceChildren(...parts);
}

export function crmLink(url) {
  return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "crm-open", "data-testid": "crm-open" }, "Open in CRM ↗");
}

// The contact page's link (nothing when the tenant has no "open in CRM" url).
export async function contactCrmLink(contactId) {
  try {
    const reply = await get(`/api/contacts/${contactId}/crm-link`);
    return reply.url ? crmLink(reply.url) : null;
  } catch (error) {
    return null;
  }
}
