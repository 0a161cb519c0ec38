// A call's audio quality per leg as Asterisk measured it (MES, jitter, loss, round trip), for the
// recordings page beside the player; a leg under the poor bar is marked.
import { ApiError, get } from "./api.js";
import { el } from "./ui.js";

const LEGS = { customer: "Customer", agent: "Agent" };

export async function qualityView(callId) {
  let quality;
  try {
    quality = (await get(`/api/calls/${encodeURIComponent(callId)}/quality`)).quality;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return el("p", { class: "small muted", "data-testid": "call-quality" }, "No quality figures for this call.");
    return null;
  }
  const rows = Object.entries(quality.legs).map(([leg, q]) => {
    const poor = q.min_mes !== null && q.min_mes < quality.poor_below_mes;
    return el("tr", { class: poor ? "poor" : "" },
      el("td", {}, LEGS[leg] || leg),
      el("td", { class: "num" }, q.mes === null ? "–" : `${q.mes}${poor ? " (poor)" : ""}`),
      el("td", { class: "num" }, `${q.jitter_ms} ms`),
      el("td", { class: "num" }, `${q.loss_percent}%`),
      el("td", { class: "num" }, `${q.rtt_ms} ms`));
  });
  return el("table", { class: "quality small", "data-testid": "call-quality" },
    el("thead", {}, el("tr", {}, el("th", {}, "Leg"), el("th", {}, "MES"), el("th", {}, "Jitter"), el("th", {}, "Loss"), el("th", {}, "RTT"))),
    el("tbody", {}, ...rows));
}
