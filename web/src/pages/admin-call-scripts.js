// Admin: call scripts (per queue or IVR node): edit, save as a new version, restore, retire.
import { del, get, post, put } from "../api.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "../ui.js";

let selected = null;
const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);
const listed = (text) => text.split(",").map((l) => l.trim()).filter(Boolean);

function fillForm(script) {
  const body = script?.body || { headline: "", queues: [], ivr_nodes: [], opening: "", main_points: [], objections: [], closing: "" };
  $("#sc-name").value = script?.name || "";
  $("#sc-name").readOnly = !!script;
  $("#sc-title").value = body.headline;
  $("#sc-queues").value = body.queues.join(", ");
  $("#sc-nodes").value = body.ivr_nodes.join(", ");
  $("#sc-opening").value = body.opening;
  $("#sc-points").value = body.main_points.join("\n");
  $("#sc-objections").value = body.objections.map((o) => `${o.objection} | ${o.reply}`).join("\n");
  $("#sc-closing").value = body.closing;
  $("#retire-script").hidden = !script || script.retired;
  clearErrors($("#script-form"), $("#script-errors"));
}

async function showVersions(name) {
  const reply = await get(`/api/call-scripts/${encodeURIComponent(name)}`);
  $("#script-versions").replaceChildren(...reply.versions.map((v, i) => el("li", { "data-testid": "script-version" },
    el("div", { class: "when" }, `v${v.version} · ${dateTime(v.saved_at)} · ${v.saved_by || ""}${v.retired ? " · retired" : ""}`),
    el("div", { class: "what" }, v.body.headline, " ",
      i > 0 ? el("button", { class: "small", type: "button", onclick: () => restore(name, v.version) }, "Restore") : ""))));
}

async function restore(name, version) {
  await post(`/api/call-scripts/${encodeURIComponent(name)}/restore`, { version });
  toast(`Version ${version} restored as the newest`);
  await load(name);
}

async function load(focus) {
  const reply = await get("/api/call-scripts");
  $("#script-list").replaceChildren(...(reply.scripts.length ? reply.scripts.map((s) => el("li", {},
    el("button", { type: "button", "data-testid": "script-item", onclick: () => pick(s) },
      el("span", {}, s.body.headline, el("span", { class: "muted small" }, ` · ${s.name} v${s.version}${s.retired ? " · retired" : ""}`)),
      el("span", { class: "muted small" }, [...s.body.queues, ...s.body.ivr_nodes].join(", ") || "default"))))
    : [el("li", { class: "muted" }, "No script yet.")]));
  const chosen = reply.scripts.find((s) => s.name === (focus || selected?.name));
  if (chosen) await pick(chosen);
}

async function pick(script) {
  selected = script;
  fillForm(script);
  await showVersions(script.name);
}

$("#new-script").addEventListener("click", () => { selected = null; fillForm(null); $("#script-versions").replaceChildren(); });

$("#script-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const name = $("#sc-name").value.trim();
  const body = {
    headline: $("#sc-title").value, queues: listed($("#sc-queues").value), ivr_nodes: listed($("#sc-nodes").value),
    opening: $("#sc-opening").value.trim(), main_points: lines($("#sc-points").value),
    objections: lines($("#sc-objections").value).map((line) => {
      const at = line.indexOf("|");
      return at < 0 ? { objection: line, reply: "" } : { objection: line.slice(0, at).trim(), reply: line.slice(at + 1).trim() };
    }),
    closing: $("#sc-closing").value.trim(),
  };
  try {
    const reply = await put(`/api/call-scripts/${encodeURIComponent(name)}`, body);
    toast(`Saved as version ${reply.script.version}`);
    await load(name);
  } catch (error) {
    showErrors(form, error, $("#script-errors"));
  }
});

$("#retire-script").addEventListener("click", async () => {
  if (!selected) return;
  await del(`/api/call-scripts/${encodeURIComponent(selected.name)}`);
  toast("Script retired");
  await load(selected.name);
});

load();
