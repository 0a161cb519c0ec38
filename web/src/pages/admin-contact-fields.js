// Admin: contacts' custom fields (name, kind, choices) and tickets' due times per priority.
import { get, put } from "../api.js";
import { $, $$, clearErrors, el, showErrors, toast } from "../ui.js";

const KINDS = ["text", "number", "date", "choice"];

function row(field = { name: "", kind: "text", choices: [] }) {
  const i = $$(".field-row", $("#field-rows")).length;
  const kind = el("select", { "aria-label": "Kind", name: `fields.${i}.kind` }, KINDS.map((k) => el("option", { value: k, selected: k === field.kind }, k)));
  const choices = el("input", { "aria-label": "Choices", name: `fields.${i}.choices`, placeholder: "Choices, comma separated", value: field.choices.join(", ") });
  const sync = () => { choices.disabled = kind.value !== "choice"; };
  kind.addEventListener("change", sync);
  sync();
  const node = el("div", { class: "field-row", "data-testid": "field-row" },
    el("input", { "aria-label": "Name", name: `fields.${i}.name`, value: field.name, placeholder: "Name", required: true }),
    kind, choices, el("button", { type: "button", class: "small", onclick: () => node.remove() }, "Remove"));
  return node;
}

async function load() {
  const [fields, targets] = await Promise.all([get("/api/contact-fields"), get("/api/tickets/targets")]);
  $("#field-rows").replaceChildren(...fields.fields.map(row));
  for (const [priority, minutes] of Object.entries(targets.targets)) $(`#tg-${priority}`).value = minutes;
}

$("#add-field").addEventListener("click", () => $("#field-rows").append(row()));

$("#fields-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const fields = $$(".field-row", $("#field-rows")).map((node) => {
    const [name, kind, choices] = node.querySelectorAll("input, select");
    return {
      name: name.value.trim(), kind: kind.value,
      choices: kind.value === "choice" ? choices.value.split(",").map((c) => c.trim()).filter(Boolean) : [],
    };
  });
  try {
    await put("/api/contact-fields", { fields });
    clearErrors(form, $("#fields-errors"));
    toast("Fields saved");
    await load();
  } catch (error) {
    showErrors(form, error, $("#fields-errors"));
  }
});

$("#targets-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = Object.fromEntries(["low", "medium", "high", "urgent"].map((p) => [p, Number($(`#tg-${p}`).value)]));
  try {
    await put("/api/tickets/targets", body);
    clearErrors(form, $("#targets-errors"));
    toast("Due times saved");
  } catch (error) {
    showErrors(form, error, $("#targets-errors"));
  }
});

load();
