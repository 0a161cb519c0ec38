// Admin: queues (strategy, timeouts, wrap-up, overflow, empty policies, MOH, escalation,
// service level formula: docs/figures.md, caller ID when transferred out: docs/dialing.md).
import { get, post, put } from "../api.js";
import { $, clearErrors, el, pageData, showErrors, toast } from "../ui.js";

const defaults = pageData().defaults;
const POLICIES = ["never", "no-members", "no-reachable", "no-available"];
let editing = null;

for (const id of ["#q-join", "#q-leave"]) {
  $(id).replaceChildren(...POLICIES.map((p) => el("option", { value: p }, p)));
}

function fill(queue) {
  editing = queue ? queue.name : null;
  const q = queue || { ...defaults, name: "" };
  $("#queue-form-title").textContent = queue ? `Queue ${queue.name}` : "New queue";
  $("#q-name").value = q.name;
  $("#q-name").disabled = !!queue;
  $("#q-strategy").value = q.strategy;
  $("#q-ring").value = q.ring_timeout;
  $("#q-retry").value = q.retry_delay;
  $("#q-wrapup").value = q.wrapup;
  $("#q-maxwait").value = q.max_wait ?? "";
  $("#q-overflow-kind").value = q.overflow ? q.overflow.kind : "";
  $("#q-overflow-target").value = q.overflow ? q.overflow.target : "";
  $("#q-join").value = q.join_empty;
  $("#q-leave").value = q.leave_empty;
  $("#q-moh").value = q.moh_class;
  $("#q-announce").value = q.announce_every ?? "";
  $("#q-autopause").value = q.autopause_after ?? "";
  $("#q-sl").value = q.service_level;
  $("#q-sl-mode").value = q.service_level_mode;
  $("#q-short").value = q.short_abandon ?? "";
  callerIdChoice(q.caller_id);
  $("#q-escalation").value = (q.escalation || []).map((s) =>
    [s.after, s.relax, s.max_penalty ?? ""].join(" ").trim()).join("\n");
  clearErrors($("#queue-form"), $("#queue-errors"));
}

const number = (id) => ($(id).value === "" ? null : Number($(id).value));

function body() {
  const overflowKind = $("#q-overflow-kind").value;
  const escalation = $("#q-escalation").value.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    const [after, relax, maxPenalty] = line.split(/\s+/).map(Number);
    return { after, relax: relax || 0, max_penalty: Number.isFinite(maxPenalty) ? maxPenalty : null };
  });
  return {
    strategy: $("#q-strategy").value,
    ring_timeout: number("#q-ring"),
    retry_delay: number("#q-retry"),
    wrapup: number("#q-wrapup"),
    max_wait: number("#q-maxwait"),
    overflow: overflowKind ? { kind: overflowKind, target: $("#q-overflow-target").value } : null,
    join_empty: $("#q-join").value,
    leave_empty: $("#q-leave").value,
    moh_class: $("#q-moh").value,
    announce_every: number("#q-announce"),
    autopause_after: number("#q-autopause"),
    service_level: number("#q-sl"),
    service_level_mode: $("#q-sl-mode").value,
    short_abandon: number("#q-short"),
    caller_id: $("#q-caller-id").value || null,
    escalation,
  };
}

// The tenant's outbound numbers (docs/dialing.md); a number the queue names that the tenant no
// longer owns stays listed, marked, so saving the queue does not drop it unseen.
let callerIds = [];
function callerIdChoice(current) {
  const options = callerIds.map((n) => el("option", { value: n.number }, `${n.label ? `${n.label} · ` : ""}${n.number}`));
  if (current && !callerIds.some((n) => n.number === current)) {
    options.push(el("option", { value: current }, `${current} (no longer one of your numbers)`));
  }
  const select = $("#q-caller-id");
  select.replaceChildren(select.options[0], ...options);
  select.value = current || "";
}

async function load() {
  const reply = await get("/api/queues");
  $("#queues").replaceChildren(...reply.queues.map((q) => el("tr", { "data-testid": `queue-${q.name}` },
    el("td", {}, el("b", {}, q.name)), el("td", {}, q.strategy), el("td", {}, `${q.ring_timeout}s`),
    el("td", {}, `${q.wrapup}s`), el("td", {}, q.max_wait ? `${q.max_wait}s` : "–"),
    el("td", {}, q.overflow ? `${q.overflow.kind} ${q.overflow.target}` : "–"),
    el("td", {}, el("button", { class: "small", onclick: () => fill(q) }, "Edit")))));
}

$("#new-queue").addEventListener("click", () => fill(null));
$("#queue-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    if (editing) await put(`/api/queues/${encodeURIComponent(editing)}`, body());
    else await post("/api/queues", { name: $("#q-name").value, ...body() });
    toast("Queue saved");
    await load();
    clearErrors(form, $("#queue-errors"));
  } catch (error) {
    showErrors(form, error, $("#queue-errors"));
  }
});

fill(null);
load();
get("/api/dialing/caller-ids").then((reply) => {
  callerIds = reply.numbers;
  callerIdChoice($("#q-caller-id").value);
});
