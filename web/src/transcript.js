// The transcript of the recording being played: its lines per speaker (agent, customer), the
// one being heard highlighted as the player goes, a click on a line seeks there; the call's
// insights (talk time per side, sentiment, categories, hot lead) above it; and a search across
// the tenant's transcripts whose results open their recording. Supervisors and up: the API
// answers agents 403, and the panel then stays hidden.
import { ApiError, get } from "./api.js";
import { $, duration, el } from "./ui.js";

const SPEAKERS = { agent: "Agent", customer: "Customer" };

function stamp(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function feeling(score) {
  if (score === null || score === undefined) return "–";
  const word = score >= 0.05 ? "positive" : score <= -0.05 ? "negative" : "neutral";
  return `${word} (${score.toFixed(2)})`;
}

function insightsView(insights) {
  const talk = insights.talk || {};
  const lead = insights.lead || {};
  const categories = (insights.categories || []).map((c) => c.category);
  return el("dl", { class: "insights", "data-testid": "insights" },
    el("dt", {}, "Talk"), el("dd", {}, `agent ${duration(talk.agent || 0)} · customer ${duration(talk.customer || 0)} · silence ${duration(insights.non_talk || 0)}`),
    el("dt", {}, "Overtalk"), el("dd", {}, `${(insights.overtalk || 0).toFixed(1)} s, ${insights.interruptions || 0} interruption(s)`),
    el("dt", {}, "Sentiment"), el("dd", {}, `agent ${feeling(insights.sentiment?.agent)} · customer ${feeling(insights.sentiment?.customer)}`),
    el("dt", {}, "Categories"), el("dd", {}, categories.length ? categories.join(", ") : "none"),
    el("dt", {}, "Lead"), el("dd", { "data-testid": "lead" }, lead.hot ? el("strong", { class: "hot" }, `hot lead (${lead.score})`) : String(lead.score ?? "–")));
}

export function mountTranscript(player, openRecording) {
  const panel = $("#transcript-panel");
  const box = $("#transcript-lines");
  const note = $("#transcript-note");
  let lines = [];
  let shown = -1;

  function highlight() {
    const now = player.currentTime;
    // The line being heard: the last one started (a pause between lines keeps it lit).
    let index = -1;
    for (let i = 0; i < lines.length; i += 1) if (lines[i].start <= now + 0.05) index = i;
    if (index === shown) return;
    box.querySelectorAll(".line.current").forEach((node) => node.classList.remove("current"));
    shown = index;
    const node = index >= 0 ? box.children[index] : null;
    if (node) {
      node.classList.add("current");
      node.scrollIntoView({ block: "nearest" });
    }
  }
  player.addEventListener("timeupdate", highlight);
  player.addEventListener("seeked", highlight);

  async function show(recordingId) {
    lines = [];
    shown = -1;
    box.replaceChildren();
    $("#transcript-insights").replaceChildren();
    panel.hidden = false;
    note.textContent = "Loading the transcript…";
    try {
      const { transcript } = await get(`/api/recordings/${encodeURIComponent(recordingId)}/transcript`);
      if (transcript.status !== "done") {
        note.textContent = `Not transcribed: ${transcript.error || transcript.status}`;
        return;
      }
      lines = transcript.lines;
      note.textContent = lines.length ? `${transcript.engine}, ${transcript.language}: click a line to hear it.` : "Nobody spoke in this recording.";
      box.replaceChildren(...lines.map((line, index) => el("button", {
        type: "button", class: `line ${line.speaker}`, "data-testid": `line-${index}`,
        onclick: () => { player.currentTime = line.start; if (player.paused) player.play().catch(() => {}); },
      }, el("span", { class: "when" }, stamp(line.start)), el("span", { class: "who" }, SPEAKERS[line.speaker] || line.speaker), el("span", { class: "said" }, line.text))));
      highlight();
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) { panel.hidden = true; return; }
      note.textContent = error instanceof ApiError && error.status === 404
        ? "No transcript yet: recordings are transcribed a little after the call."
        : `The transcript could not be loaded: ${error.message}`;
      return;
    }
    try {
      const { insights } = await get(`/api/recordings/${encodeURIComponent(recordingId)}/insights`);
      $("#transcript-insights").replaceChildren(insightsView(insights));
    } catch { /* a voicemail has no insights */ }
  }

  $("#transcript-search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = new FormData(event.target).get("q");
    const results = $("#transcript-results");
    try {
      const reply = await get(`/api/transcripts/search?${new URLSearchParams({ q })}`);
      results.replaceChildren(...reply.results.map((hit) => el("li", {},
        el("button", { type: "button", class: "link", onclick: () => openRecording(hit.recording_id, hit.start) },
          `${SPEAKERS[hit.speaker] || hit.speaker} at ${stamp(hit.start)}: ${hit.text}`))));
      if (!reply.results.length) results.replaceChildren(el("li", { class: "muted" }, "No transcript holds these words."));
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) { $("#transcript-search").hidden = true; return; }
      results.replaceChildren(el("li", { class: "muted" }, error instanceof ApiError && error.status === 400 ? "Type a word to search for." : error.message));
    }
  });

  return { show };
}
