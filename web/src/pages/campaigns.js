// Campaigns: the list, a live dashboard of the one picked (redrawn on campaign:changed and its
// queue's agents' agent:state; a slow poll only while the feed is down), start / pause / stop,
// the attempts' CSV, and (admins) the form that makes or changes one.
import { get, post, put } from "../api.js";
import { Feed } from "../feed.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "../ui.js";

const SLOW_POLL_MS = 10000; // while the feed is down only
let selected = null;
let drawing = null; // the dashboard's request under way
let again = false; // events came while it was under way: one more after it
const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;

function tile(label, value, testid) {
  return el("div", { class: "tile", "data-testid": testid }, el("div", { class: "muted small" }, label), el("strong", {}, String(value)));
}

async function command(what) {
  if (!selected) return;
  try {
    await post(`/api/campaigns/${selected.id}/${what}`);
    toast(`Campaign ${what === "stop" ? "stopped" : what === "pause" ? "paused" : "started"}`);
  } catch (error) {
    toast(error.message, "error");
  }
  await load();
}

async function refresh() {
  if (!selected) return;
  let dash;
  try {
    dash = await get(`/api/campaigns/${selected.id}/dashboard`);
  } catch (error) {
    return;
  }
  const t = dash.today, w = dash.window, a = dash.agents;
  $("#dash-title").textContent = dash.campaign.name;
  $("#dash-state").textContent = `${dash.campaign.state} · ${dash.campaign.settings.mode} · target ${pct(dash.campaign.settings.abandon_target)}`;
  $("#dash-tiles").replaceChildren(
    tile("Dialling now", t.dialling, "tile-dialling"),
    tile("Dialled today", t.dialled, "tile-dialled"),
    tile("Connected", t.connected, "tile-connected"),
    tile("Abandoned", `${t.abandoned} (${pct(t.abandon_rate)})`, "tile-abandoned"),
    tile("Abandon rate, last hour", pct(w.abandon_rate), "tile-window"),
    tile("Machines", t.machines, "tile-machines"),
    tile("Busy / no answer", `${t.busy} / ${t.no_answer}`, "tile-unanswered"),
    tile("Agents busy / idle", `${(a["on-call"] || 0) + (a.ringing || 0) + (a["wrap-up"] || 0)} / ${a.available || 0}`, "tile-agents"),
    tile("Occupancy", pct(dash.occupancy), "tile-occupancy"),
    tile("Leads left", dash.leads_left, "tile-leads"));
  const attempts = await get(`/api/campaigns/${selected.id}/attempts`);
  $("#attempts").replaceChildren(...attempts.attempts.map((x) => el("tr", {},
    el("td", {}, dateTime(x.placed_at)), el("td", {}, x.number), el("td", {}, x.result || "dialling"),
    el("td", {}, x.amd || ""), el("td", {}, x.talk_s == null ? "" : `${Math.round(x.talk_s)} s`),
    el("td", {}, x.disposition || ""), el("td", {}, x.reason || ""))));
}

// A burst of events (a predictive tick places several calls) is one redraw after the one under way.
function redraw() {
  if (!selected) return;
  if (drawing) { again = true; return; }
  drawing = refresh().catch(() => {}).finally(() => {
    drawing = null;
    if (again) { again = false; redraw(); }
  });
}

function pick(campaign) {
  selected = campaign;
  $("#dashboard-panel").hidden = false;
  $("#dash-csv").href = `/api/campaigns/${campaign.id}/attempts.csv`;
  if ($("#campaign-form")) fillForm(campaign);
  redraw();
}

async function load() {
  const reply = await get("/api/campaigns");
  $("#campaigns").replaceChildren(...(reply.campaigns.length ? reply.campaigns.map((c) => el("tr", { "data-testid": "campaign-row" },
    el("td", {}, el("button", { class: "link", type: "button", onclick: () => pick(c) }, c.name)),
    el("td", {}, c.settings.mode), el("td", { "data-testid": "campaign-state" }, c.state), el("td", {}, c.settings.queue),
    el("td", {}, el("button", { class: "small", type: "button", onclick: () => pick(c) }, "Dashboard"))))
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No campaign yet."))]));
  if (selected) {
    const again = reply.campaigns.find((c) => c.id === selected.id);
    if (again) selected = again;
    redraw();
  }
}

// --- the form (admins) ------------------------------------------------------------------------

const NUMBERS = ["max_attempts", "retry_busy", "retry_no_answer", "retry_machine"];

function fillForm(campaign) {
  const s = campaign?.settings;
  $("#form-title").textContent = campaign ? `Change ${campaign.name}` : "New campaign";
  const form = $("#campaign-form");
  form.elements.name.value = campaign?.name || "";
  if (s) {
    form.elements.list_id.value = String(s.list_id);
    form.elements.queue.value = s.queue;
    form.elements.mode.value = s.mode;
    form.elements.abandon_target.value = String(+(s.abandon_target * 100).toFixed(2));
    form.elements.abandon_message.value = s.abandon_message;
    form.elements.amd.value = String(s.amd);
    form.elements.machine_action.value = s.machine_action;
    form.elements.machine_message.value = s.machine_message || "";
    for (const name of NUMBERS) form.elements[name].value = String(s[name]);
    form.elements.script.value = s.script || "";
    form.elements.caller_id.value = s.caller_id || "";
  }
  clearErrors(form, $("#campaign-errors"));
}

function formBody(form) {
  const f = form.elements;
  const body = {
    name: f.name.value.trim(), list_id: Number(f.list_id.value), queue: f.queue.value, mode: f.mode.value,
    abandon_target: Number(f.abandon_target.value) / 100, abandon_message: f.abandon_message.value.trim(),
    amd: f.amd.value === "true", machine_action: f.machine_action.value,
  };
  for (const name of NUMBERS) body[name] = Number(f[name].value);
  for (const name of ["machine_message", "script", "caller_id"]) if (f[name].value.trim()) body[name] = f[name].value.trim();
  return body;
}

async function setUpForm() {
  const form = $("#campaign-form");
  if (!form) return;
  const [lists, queues] = await Promise.all([get("/api/leads/lists"), get("/api/queues")]);
  $("#cp-list").replaceChildren(...lists.lists.map((l) => el("option", { value: l.id }, `${l.name} (${l.total})`)));
  $("#cp-queue").replaceChildren(...queues.queues.map((q) => el("option", { value: q.name }, q.name)));
  $("#new-campaign").addEventListener("click", () => { selected = null; fillForm(null); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const reply = selected ? await put(`/api/campaigns/${selected.id}`, formBody(form)) : await post("/api/campaigns", formBody(form));
      toast(`Campaign ${reply.campaign.name} saved`);
      await load();
      pick(reply.campaign);
    } catch (error) {
      showErrors(form, error, $("#campaign-errors"));
    }
  });
}

$("#dash-start").addEventListener("click", () => command("start"));
$("#dash-pause").addEventListener("click", () => command("pause"));
$("#dash-stop").addEventListener("click", () => command("stop"));
const feed = new Feed(["campaign:changed", "agent:state"], {
  onSync: load, // (re)subscribed or fell behind: the list and the dashboard again
  onEvent(topic, p) {
    if (topic === "campaign:changed") {
      if (p.change === "state") { load(); return; }
      if (selected && p.campaign_id === selected.id) redraw();
    } else if (topic === "agent:state" && selected && (p.queues || []).includes(selected.settings.queue)) {
      redraw(); // its agents busy / idle, occupancy
    }
  },
});
setUpForm().then(load).then(() => feed.start());
setInterval(() => { if (!feed.connected) redraw(); }, SLOW_POLL_MS);
