// Contacts' custom fields as the tenant defines them: typed inputs (text, number, date, choice)
// and the values they give, for the contact page and the agent's card.
import { get } from "./api.js";
import { el } from "./ui.js";

export async function fieldDefinitions() {
  try {
    return (await get("/api/contact-fields")).fields;
  } catch {
    return [];
  }
}

/** A value typed by its definition: a number field's text becomes a number (the server checks
 * it), an empty text clears the field. */
export function typedValue(definitions, name, text) {
  const spec = definitions.find((d) => d.name === name);
  const raw = String(text ?? "").trim();
  if (!raw) return null;
  if (spec?.kind === "number" && raw !== "" && !Number.isNaN(Number(raw))) return Number(raw);
  return raw;
}

/** One labelled input per definition, filled from `values`; read() gives {name: value}. */
export function fieldInputs(definitions, values) {
  const inputs = definitions.map((d, i) => {
    const id = `cfv-${i}`;
    const value = values?.[d.name] ?? "";
    let input;
    if (d.kind === "choice") {
      input = el("select", { id, name: `custom_fields.${d.name}` }, el("option", { value: "" }, "–"),
        d.choices.map((c) => el("option", { value: c, selected: c === value }, c)));
    } else {
      input = el("input", { id, name: `custom_fields.${d.name}`, value: String(value),
        type: d.kind === "number" ? "number" : d.kind === "date" ? "date" : "text", step: d.kind === "number" ? "any" : undefined });
    }
    return { d, node: el("div", {}, el("label", { for: id }, d.name), input), input };
  });
  return {
    nodes: inputs.map((i) => i.node),
    read() {
      return Object.fromEntries(inputs.map(({ d, input }) => [d.name, typedValue(definitions, d.name, input.value)]));
    },
  };
}
