// Webhooks on the integrations page: subscriptions (state, pause, resume), their delivery log
// (status, response code, duration, next try) and replay.
import { del, get, patch, post } from "./api.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "./ui.js";

const STATE = { active: "ok", failing: "warn", paused: "bad" };

export async function loadWebhooks() {
  const reply = await get("/api/webhooks");
  const boxes = $("#nw-events");
  if (boxes.querySelectorAll("input").length === 0) {
    boxes.append(...reply.events.map((event) => el("label", { class: "check", title: event.summary },
      el("input", { type: "checkbox", name: "events", value: event.name }), event.name)));
  }
  const dropped = $("#hooks-dropped");
  dropped.hidden = !reply.dropped_events;
  dropped.textContent = `${reply.dropped_events} events were dropped since the start: the sending queue was full.`;
  $("#webhooks").replaceChildren(...(reply.webhooks.length
    ? reply.webhooks.map(hookCard) : [el("p", { class: "muted" }, "No webhooks yet.")]));
}

function hookCard(hook) {
  const log = el("tbody", {});
  const card = el("div", { class: "panel", "data-testid": `webhook-${hook.id}` },
    el("div", { class: "panel-head" },
      el("strong", { class: "hook-url" }, hook.url),
      el("span", { class: `badge ${STATE[hook.state]}`, "data-testid": "webhook-state" }, hook.state)),
    hook.paused_reason ? el("p", { class: "small", role: "alert" }, `Paused ${dateTime(hook.paused_at)}: ${hook.paused_reason}`) : "",
    el("p", { class: "small muted" }, hook.events.join(", ")),
    el("div", { class: "actions" },
      hook.state === "paused"
        ? el("button", { class: "small", onclick: () => setActive(hook, true) }, "Resume")
        : el("button", { class: "small", onclick: () => setActive(hook, false) }, "Pause"),
      el("button", { class: "small", onclick: () => showLog(hook, log) }, "Deliveries"),
      el("button", { class: "small", onclick: async () => { await del(`/api/webhooks/${hook.id}`); await loadWebhooks(); } }, "Delete")),
    el("div", { class: "log-scroll" }, el("table", { class: "small" },
      el("thead", {}, el("tr", {}, ...["Event", "Created", "Status", "Code", "Time", "Attempts", "Next try", ""].map((h) => el("th", {}, h)))),
      log)));
  return card;
}

async function setActive(hook, active) {
  await patch(`/api/webhooks/${hook.id}`, { active });
  toast(active ? "Resumed" : "Paused");
  await loadWebhooks();
}

async function showLog(hook, body) {
  const reply = await get(`/api/webhooks/${hook.id}/deliveries`);
  body.replaceChildren(...reply.deliveries.map((item) => el("tr", { "data-testid": `delivery-${item.id}` },
    el("td", {}, item.event), el("td", {}, dateTime(item.created_at)),
    el("td", {}, el("span", { class: `badge ${item.status === "delivered" ? "ok" : item.status === "failed" ? "bad" : "warn"}` }, item.status)),
    el("td", {}, item.response_code ?? (item.error ? "–" : "")), el("td", {}, item.duration_ms !== null ? `${item.duration_ms} ms` : ""),
    el("td", {}, item.attempts), el("td", {}, item.next_try_at ? dateTime(item.next_try_at) : ""),
    el("td", {}, el("button", { class: "small", title: item.error || "", onclick: async () => {
      await post(`/api/webhooks/${hook.id}/deliveries/${item.id}/replay`);
      toast("Sent again");
      await showLog(hook, body);
    } }, "Replay")))));
}

export function mountWebhooks() {
  $("#new-webhook").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const events = [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value);
    try {
      const made = await post("/api/webhooks", { url: $("#nw-url").value, events });
      $("#secret-value").textContent = made.secret;
      $("#secret-once").hidden = false;
      form.reset();
      clearErrors(form, $("#new-webhook-errors"));
      await loadWebhooks();
    } catch (error) {
      showErrors(form, error, $("#new-webhook-errors"));
    }
  });
  return loadWebhooks();
}
