// Preview dialling on the agent's page: the running preview campaigns of the agent's queues;
// "Next lead" reserves one and shows it with the campaign's script; the agent calls it from
// their phone or skips it with a reason (POST /api/campaigns/{id}/preview/...).
import { get, post } from "./api.js";
import { el } from "./ui.js";

export function mountCampaignPreview(root, { beforeCall }) {
  let campaigns = [];
  let lead = null;
  const select = el("select", { "aria-label": "Campaign", "data-testid": "preview-campaign" });
  const card = el("div", { class: "preview-lead", "data-testid": "preview-lead" });
  const error = el("div", { class: "field-error", role: "alert", "data-testid": "preview-error" });
  const next = el("button", { class: "small primary", type: "button", "data-testid": "preview-next", onclick: () => fetchNext() }, "Next lead");
  root.replaceChildren(
    el("div", { class: "panel-head" }, el("h2", { id: "preview-title" }, "Preview dialling"), select, next),
    card, error);

  const current = () => campaigns.find((c) => String(c.id) === select.value);

  function show(reply) {
    lead = reply.lead;
    error.textContent = "";
    if (!lead) {
      card.replaceChildren(el("p", { class: "muted" }, "No lead is due in this campaign now."));
      return;
    }
    const script = reply.script;
    const fields = Object.entries(lead.custom_fields || {}).map(([k, v]) => el("li", {}, `${k}: ${v}`));
    const reason = el("input", { "aria-label": "Why skip", placeholder: "Why skip (required)", "data-testid": "preview-reason" });
    card.replaceChildren(
      el("h3", { "data-testid": "preview-name" }, lead.name || lead.number),
      el("p", {}, lead.number, lead.attempts > 1 ? ` · attempt ${lead.attempts}` : ""),
      fields.length ? el("ul", { class: "plain-list small" }, ...fields) : "",
      script ? el("div", { class: "preview-script", "data-testid": "preview-script" },
        el("strong", {}, script.headline), script.opening ? el("p", {}, script.opening) : "",
        script.main_points?.length ? el("ul", {}, ...script.main_points.map((p) => el("li", {}, p))) : "") : "",
      el("div", { class: "dialog-actions" },
        el("button", { class: "primary", type: "button", "data-testid": "preview-call", onclick: () => call() }, "Call"),
        reason,
        el("button", { type: "button", "data-testid": "preview-skip", onclick: () => skip(reason.value.trim()) }, "Skip")));
  }

  async function fetchNext() {
    const campaign = current();
    if (!campaign) return;
    try {
      show(await post(`/api/campaigns/${campaign.id}/preview/next`));
    } catch (e) {
      error.textContent = e.message;
    }
  }

  async function call() {
    if (!lead) return;
    try {
      beforeCall?.();
      await post(`/api/campaigns/${current().id}/preview/${lead.attempt_id}/call`);
      card.replaceChildren(el("p", { "data-testid": "preview-calling" }, `Calling ${lead.name || lead.number}…`));
      lead = null;
    } catch (e) {
      error.textContent = e.message;
    }
  }

  async function skip(reason) {
    if (!lead) return;
    if (!reason) {
      error.textContent = "Say why you skip this lead";
      return;
    }
    try {
      await post(`/api/campaigns/${current().id}/preview/${lead.attempt_id}/skip`, { reason });
      await fetchNext();
    } catch (e) {
      error.textContent = e.message;
    }
  }

  async function load() {
    try {
      campaigns = (await get("/api/me/campaigns")).campaigns;
    } catch {
      campaigns = [];
    }
    root.hidden = campaigns.length === 0;
    select.replaceChildren(...campaigns.map((c) => el("option", { value: c.id }, c.name)));
  }

  load();
}
