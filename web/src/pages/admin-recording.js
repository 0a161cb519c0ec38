// Managers and admins: which calls each queue records; admins: how long recordings are kept and
// whether agents may play their own.
import { get, put } from "../api.js";
import { $, clearErrors, el, pageData, showErrors, toast } from "../ui.js";

const MODES = [["none", "None"], ["all", "All calls"], ["on-demand", "On demand"], ["sample", "A sample"]];
const isAdmin = pageData().user.role === "admin";

async function load() {
  const [policies, rules] = await Promise.all([get("/api/recording/policies"), get("/api/recording/rules")]);
  $("#rec-policies").replaceChildren(...(policies.policies.length
    ? policies.policies.map(row) : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No queues yet"))]));
  $("#rr-days").value = rules.rules.retention_days ?? "";
  $("#rr-own").checked = rules.rules.agents_hear_own;
  for (const input of $("#rec-rules").elements) input.disabled = !isAdmin;
  $("#rr-hint").hidden = isAdmin;
}

function row(policy) {
  const mode = el("select", { "aria-label": `${policy.queue}: records`, "data-testid": `mode-${policy.queue}` },
    ...MODES.map(([value, label]) => el("option", { value, selected: value === policy.mode }, label)));
  const share = el("input", {
    type: "number", min: 0, max: 100, step: "any", value: policy.sample_percent,
    "aria-label": `${policy.queue}: share of calls recorded (%)`, "data-testid": `share-${policy.queue}`,
  });
  const showShare = () => { share.disabled = mode.value !== "sample"; };
  mode.addEventListener("change", showShare);
  showShare();
  const save = el("button", {
    type: "button", class: "small", "data-testid": `save-${policy.queue}`,
    onclick: async () => {
      try {
        await put(`/api/recording/policies/${encodeURIComponent(policy.queue)}`,
          { mode: mode.value, sample_percent: Number(share.value || 0) });
        toast(`${policy.queue}: saved`);
      } catch (error) {
        const [field, message] = Object.entries(error.fields || {})[0] || [];
        toast(field ? `${field} ${message}` : error.message, "error");
      }
    },
  }, "Save");
  return el("tr", { "data-testid": `policy-${policy.queue}` },
    el("td", {}, policy.queue), el("td", {}, mode), el("td", {}, share), el("td", {}, save));
}

$("#rec-rules").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const days = $("#rr-days").value.trim();
  try {
    await put("/api/recording/rules", { retention_days: days ? Number(days) : null, agents_hear_own: $("#rr-own").checked });
    clearErrors(form, $("#rec-rules-errors"));
    toast("Saved");
  } catch (error) {
    showErrors(form, error, $("#rec-rules-errors"));
  }
});

load();
