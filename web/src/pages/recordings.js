// Recordings: filter the tenant's recordings, play them with a seeking player and download them.
// Audio and downloads always go through /api/recordings/{id}/audio|download, which check the
// session and write an access row for every request.
import { ApiError, get } from "../api.js";
import { $, dateTime, duration, el } from "../ui.js";
import { mountTranscript } from "../transcript.js";
import { mountEvaluation } from "../evaluate.js";
import { qualityView } from "../call-quality.js";

const PAGE = 50;
const state = { rows: [], offset: 0, more: false, filters: {}, playing: null };

function showError(text) {
  const box = $("#rec-errors");
  box.hidden = !text;
  box.textContent = text || "";
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function options(select, items, label) {
  const first = select.options[0];
  select.replaceChildren(first, ...items.map(([value, text]) => el("option", { value }, text || label(value))));
}

async function loadChoices() {
  // Filters are a help, not a need: a list that fails to load leaves its select at "Any".
  const [agents, queues, dispositions] = await Promise.allSettled([
    get("/api/agents"), get("/api/queues"), get("/api/dispositions?all=true"),
  ]);
  if (agents.status === "fulfilled") {
    options($("#f-agent"), agents.value.agents.map((a) => [String(a.user_id), a.name]).sort((a, b) => a[1].localeCompare(b[1])));
  }
  if (queues.status === "fulfilled") {
    options($("#f-queue"), queues.value.queues.map((q) => [q.name, q.name]));
  }
  if (dispositions.status === "fulfilled") {
    options($("#f-disposition"), dispositions.value.dispositions.map((d) => [d.name, d.name]));
  }
}

function filtersFromForm() {
  const form = new FormData($("#rec-filters"));
  const filters = {};
  for (const [key, value] of form.entries()) if (value) filters[key] = value;
  return filters;
}

function play(row) {
  const player = $("#player");
  state.playing = row.id;
  // The stream route answers Range requests (206), so the player can seek anywhere.
  player.src = row.audio_url;
  player.dataset.recordingId = row.id;
  const link = $("#player-download");
  link.href = row.download_url;
  link.hidden = false;
  $("#player-label").textContent = `${dateTime(row.started_at)} · ${row.agent_name || "–"} · ${row.from_number || ""} · ${duration(row.duration_seconds)}`;
  const started = player.play();
  if (started && started.catch) {
    started.catch((error) => {
      // An autoplay refusal is fine (the user presses play); anything else is worth saying.
      if (error && error.name !== "NotAllowedError" && error.name !== "AbortError") {
        showError(`The recording cannot be played: ${error.message}`);
      }
    });
  }
  transcript.show(row.id);
  evaluation.show(row);
  showQuality(row);
  renderRows();
}

async function showQuality(row) {
  const box = $("#player-quality");
  box.replaceChildren();
  if (row.kind && row.kind !== "call") return;
  const view = await qualityView(row.call_id);
  if (view && state.playing === row.id) box.replaceChildren(view);
}

const evaluation = mountEvaluation();

// A search result opens its recording at the line found.
const transcript = mountTranscript($("#player"), async (recordingId, at) => {
  const { recording } = await get(`/api/recordings/${encodeURIComponent(recordingId)}`);
  play(recording);
  $("#player").currentTime = at;
});

$("#player").addEventListener("error", () => {
  if ($("#player").src) showError("The recording cannot be played (it may have been deleted by retention).");
});

function renderRows() {
  const rows = state.rows.map((row) => el("tr", { "data-testid": `rec-${row.id}`, class: state.playing === row.id ? "playing" : "" },
    el("td", {}, dateTime(row.started_at)),
    el("td", {}, row.agent_name || "–"),
    el("td", {}, row.queue || "–"),
    el("td", {}, row.from_number || "–"),
    el("td", {}, row.disposition || "–"),
    el("td", { class: "num" }, duration(row.duration_seconds)),
    el("td", { class: "num" }, size(row.size_bytes)),
    el("td", { class: "actions" },
      el("button", { class: "small primary", "data-testid": "play", onclick: () => play(row) }, "Play"),
      el("a", { class: "button small", href: row.download_url, download: "", "data-testid": "download" }, "Download"))));
  $("#rec-rows").replaceChildren(...rows);
  $("#rec-empty").hidden = rows.length > 0;
  $("#rec-more").hidden = !state.more;
  const count = `${rows.length}${state.more ? "+" : ""}`;
  $("#rec-summary").textContent = rows.length ? `${count} recording${rows.length === 1 && !state.more ? "" : "s"}` : "";
}

async function load(append = false) {
  showError("");
  if (!append) { state.offset = 0; state.filters = filtersFromForm(); }
  const params = new URLSearchParams({ ...state.filters, limit: String(PAGE), offset: String(state.offset) });
  try {
    const reply = await get(`/api/recordings?${params}`);
    state.rows = append ? [...state.rows, ...reply.recordings] : reply.recordings;
    state.offset += reply.recordings.length;
    state.more = reply.recordings.length === PAGE;
  } catch (error) {
    if (!append) state.rows = [];
    state.more = false;
    if (error instanceof ApiError && error.status === 403) {
      showError("Your organisation does not let agents hear recordings.");
    } else if (error instanceof ApiError && error.status === 400) {
      showError(Object.entries(error.fields).map(([k, v]) => `${k}: ${v}`).join(" · ") || error.message);
    } else {
      showError(`The recordings could not be loaded: ${error.message}`);
    }
  }
  renderRows();
}

$("#rec-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
$("#rec-filters").addEventListener("reset", () => setTimeout(() => load(), 0));
$("#rec-more").addEventListener("click", () => load(true));

loadChoices().finally(() => load());
