// A contact's page: details, tags and custom fields (typed by the tenant's definitions), and the
// timeline of everything that happened with them (calls with recordings, notes, dispositions,
// tickets...), newest first.
import { get, put } from "../api.js";
import { $, clearErrors, dateTime, duration, el, showErrors, toast } from "../ui.js";
import { fieldDefinitions, fieldInputs } from "../contact-fields.js";
import { contactCrmLink } from "../crm-link.js";

const contactId = Number(location.pathname.split("/").pop());
let contact = null;
let editor = null;

// A call's audio quality per leg (MES as Asterisk measured it), a poor leg marked.
function quality(figures) {
  const legs = Object.entries(figures.legs).map(([leg, q]) => {
    const poor = q.min_mes !== null && q.min_mes < figures.poor_below_mes;
    return `${leg} MES ${q.mes ?? "–"}${poor ? " (poor)" : ""}, jitter ${q.jitter_ms} ms, loss ${q.loss_percent}%`;
  });
  return el("div", { class: "small muted", "data-testid": "timeline-quality" }, `Quality: ${legs.join(" · ")}`);
}

function entry(item) {
  const body = [];
  if (item.kind === "call") {
    body.push(el("div", { class: "what" }, item.title, item.answered ? ` · ${duration(item.duration)}` : "",
      item.queue ? ` · queue ${item.queue}` : ""));
    if (item.quality) body.push(quality(item.quality));
    for (const rec of item.recordings || []) {
      body.push(el("audio", { controls: true, preload: "none", src: rec.audio, "data-testid": "timeline-recording" }));
    }
  } else if (item.kind === "ticket") {
    body.push(el("div", { class: "what" }, el("a", { href: item.link, "data-testid": "timeline-ticket" }, `Ticket #${item.ticket_id}: ${item.title}`),
      ` · ${item.status} · ${item.priority}`));
  } else if (item.kind === "disposition") {
    body.push(el("div", { class: "what" }, `Disposition: ${item.title}`, item.follow_up_on ? ` · follow up ${item.follow_up_on}` : ""));
  } else {
    body.push(el("div", { class: "what" }, item.kind === "note" ? `Note: ${item.title}` : item.title));
  }
  return el("li", { class: `tl-${item.kind}`, "data-testid": `timeline-${item.kind}` },
    el("div", { class: "when" }, `${dateTime(item.at)} · ${item.kind}`), ...body);
}

function renderDetails() {
  $("#contact-title").textContent = contact.name;
  $("#contact-details").replaceChildren(
    contact.company ? el("div", { class: "company" }, contact.company) : "",
    el("div", { class: "phones" }, contact.phones.map((p) => el("div", { class: "phone" }, p))),
    el("div", {}, contact.tags.map((tag) => el("span", { class: "tag" }, tag))));
  contactCrmLink(contact.id).then((link) => { if (link) $("#contact-details").append(el("div", {}, link)); });
  $("#cp-tags").value = contact.tags.join(", ");
}

async function load() {
  const [reply, definitions] = await Promise.all([get(`/api/contacts/${contactId}/timeline`), fieldDefinitions()]);
  contact = reply.contact;
  document.title = `${contact.name} · pbx-stasis`;
  renderDetails();
  editor = fieldInputs(definitions, contact.custom_fields);
  const known = new Set(definitions.map((d) => d.name));
  const others = Object.entries(contact.custom_fields).filter(([k]) => !known.has(k));
  $("#cp-fields").replaceChildren(...editor.nodes,
    others.length ? el("dl", { class: "kv" }, others.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])) : "");
  $("#timeline").replaceChildren(...reply.entries.map(entry));
  $("#timeline-empty").hidden = reply.entries.length > 0;
  $("#timeline-summary").textContent = `${reply.entries.length} entries`;
}

$("#contact-fields-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const custom = { ...contact.custom_fields, ...editor.read() };
  for (const [k, v] of Object.entries(custom)) if (v === null) delete custom[k];
  try {
    await put(`/api/contacts/${contactId}`, {
      name: contact.name, company: contact.company, phones: contact.phones,
      tags: $("#cp-tags").value.split(",").map((t) => t.trim()).filter(Boolean), custom_fields: custom,
    });
    clearErrors(form, $("#contact-errors"));
    toast("Contact saved");
    await load();
  } catch (error) {
    showErrors(form, error, $("#contact-errors"));
  }
});

load();
