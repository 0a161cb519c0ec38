// Reports: a period's figures per queue, agent, day and hour, from /api/reports; each table
// also downloads as CSV (/api/reports/csv), for the period on screen.
import { ApiError, get, put } from "../api.js";
import { $, duration, el } from "../ui.js";

// Days and hours of the link's time zone, else the tenant's default (an admin sets it below),
// else the browser's (a Dubai center reads Dubai's days).
const asked = new URLSearchParams(location.search);
let tenantZone = null;  // read at start (below)
let ZONE = asked.get("tz") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const day = (date) => date.toLocaleDateString("sv-SE", { timeZone: ZONE }); // YYYY-MM-DD
const pct = (share) => (share === null ? "–" : `${Math.round(share * 100)}%`);
const secs = (value) => (value === null ? "–" : duration(value));

function showError(text) {
  const box = $("#rep-errors");
  box.hidden = !text;
  box.textContent = text || "";
}

function cells(values) {
  return values.map((value, i) => el("td", { class: i ? "num" : "row-name" }, String(value)));
}

function segment(kind, bottom, height) {
  // Through the style object: the pages' CSP refuses style attributes.
  const part = el("span", { class: kind });
  Object.assign(part.style, { bottom: `${bottom}%`, height: `${height}%` });
  return part;
}

// An evaluation average and how many evaluations make it (acd/figures.py CallScores).
function score(row) {
  return row.evaluations ? `${row.average_evaluation}% (${row.evaluations})` : "–";
}

function render(report) {
  $("#rep-summary").textContent = `${report.from === report.to ? report.from : `${report.from} to ${report.to}`} · ${report.tz}`;
  const queues = report.queues.map((q) => el("tr", { dataset: { queue: q.queue } }, ...cells([
    q.queue, q.offered, q.answered, q.abandoned, q.timed_out, q.left_empty, q.transferred,
    pct(q.service_level), secs(q.average_answer_wait), secs(q.average_abandon_wait),
    secs(q.longest_wait), secs(q.average_talk), secs(q.average_handle),
    q.average_mes ?? "–", pct(q.poor_quality_share), score(q)])));
  $("#rep-queue-rows").replaceChildren(...(queues.length ? queues
    : [el("tr", {}, el("td", { colspan: 16, class: "empty" }, "No calls in this period."))]));
  const agents = report.agents.map((a) => el("tr", { dataset: { agent: a.agent_user_id } }, ...cells([
    a.name, a.offered, a.answered, a.missed, a.transfers, secs(a.talk), secs(a.average_talk),
    secs(a.wrapup), secs(a.average_handle), secs(a.paused), a.outbound_placed,
    a.outbound_connected, secs(a.outbound_talk),
    a.average_mes ?? "–", pct(a.poor_quality_share), score(a)])));
  $("#rep-agent-rows").replaceChildren(...(agents.length ? agents
    : [el("tr", {}, el("td", { colspan: 16, class: "empty" }, "No agent activity in this period."))]));
  const days = report.days.map((d) => el("tr", { dataset: { day: d.day } }, ...cells([
    d.day, d.offered, d.answered, d.abandoned, pct(d.service_level)])));
  $("#rep-day-rows").replaceChildren(...(days.length ? days
    : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No calls in this period."))]));
  const busiest = Math.max(1, ...report.hours.map((h) => h.offered));
  $("#rep-hours").replaceChildren(...report.hours.map((h) => el("div", {
    class: "hour", title: `${String(h.hour).padStart(2, "0")}:00 · offered ${h.offered}, answered ${h.answered}, abandoned ${h.abandoned}`,
  },
  el("div", { class: "bar" },
    segment("answered", 0, (100 * h.answered) / busiest),
    segment("abandoned", (100 * h.answered) / busiest, (100 * h.abandoned) / busiest)),
  el("div", { class: "label" }, String(h.hour)))));
}

async function show() {
  const params = new URLSearchParams();
  for (const name of ["from", "to"]) {
    const value = $(`#r-${name}`).value;
    if (value) params.set(name, value);
  }
  params.set("tz", ZONE);
  for (const table of ["queues", "agents", "days", "hours"]) {
    $(`#csv-${table}`).href = `/api/reports/csv?${params}&table=${table}`;
  }
  history.replaceState(null, "", `${location.pathname}?${params}`);  // a link to this period
  try {
    render(await get(`/api/reports?${params}`));
    showError("");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showError(Object.values(error.fields).join(" ") || error.message);
  }
}

function period(days) {
  const today = new Date();
  $("#r-to").value = day(today);
  $("#r-from").value = day(new Date(today.getTime() - (days - 1) * 86400_000));
  show();
}

$("#rep-period").addEventListener("submit", (event) => { event.preventDefault(); show(); });
$("#rep-today").addEventListener("click", () => period(1));
$("#rep-week").addEventListener("click", () => period(7));
async function start() {
  tenantZone = await get("/api/reports/settings").then((r) => r.settings.timezone, () => null);
  ZONE = asked.get("tz") || tenantZone || ZONE;
  if (zoneForm) zoneForm.timezone.value = tenantZone || "";
  // A period from a link, else today.
  if (asked.get("from")) {
    $("#r-from").value = asked.get("from");
    $("#r-to").value = asked.get("to") || asked.get("from");
    show();
  } else {
    period(1);
  }
}

// Admins: the tenant's default time zone of reports (GET/PUT /api/reports/settings).
const zoneForm = $("#rep-zone");
if (zoneForm) {
  zoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#rep-zone-error");
    error.textContent = "";
    try {
      const reply = await put("/api/reports/settings", { timezone: zoneForm.timezone.value.trim() });
      location.search = `?tz=${encodeURIComponent(reply.settings.timezone)}`;
    } catch (failure) {
      error.textContent = failure.fields?.timezone ? `Time zone ${failure.fields.timezone}` : failure.message;
    }
  });
}

start();
