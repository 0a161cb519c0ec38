// Evaluations: the list of evaluations with their scores (an agent sees their own; supervisors
// and up every agent's, with averages per agent), one evaluation's answers and comments, the
// agent's acknowledge / dispute, and the scorecards (admins edit them, supervisors read them:
// ../scorecard-editor.js).
import { ApiError, get, post } from "../api.js";
import { $, dateTime, el, pageData, toast } from "../ui.js";
import { verdict } from "../evaluate.js";
import { scorecardEditor } from "../scorecard-editor.js";

const RANKS = { agent: 0, supervisor: 1, manager: 2, admin: 3 };
const me = pageData().user || {};
const rank = RANKS[me.role] ?? 0;
const state = { rows: [], open: null };

function answerText(question, answer) {
  if (!answer) return "–";
  if (question.kind === "yes-no") return answer.value ? "yes" : "no";
  if (question.kind === "scale") return `${answer.value} / ${question.scale}`;
  return String(answer.value);
}

function averages() {
  // Per agent over the evaluations listed (a failed one counts as 0, as its score says).
  const by = new Map();
  for (const row of state.rows) {
    const key = row.agent_name || "–";
    const item = by.get(key) || { total: 0, count: 0 };
    item.total += row.score; item.count += 1;
    by.set(key, item);
  }
  return [...by.entries()].map(([name, { total, count }]) => `${name}: ${(total / count).toFixed(1)}% over ${count}`).join(" · ");
}

function renderRows() {
  $("#ev-rows").replaceChildren(...state.rows.map((row) => el("tr", {
    "data-testid": `ev-${row.id}`, class: state.open === row.id ? "playing" : "", tabindex: "0",
    onclick: () => open(row.id), onkeydown: (event) => { if (event.key === "Enter") open(row.id); },
  },
  el("td", {}, dateTime(row.created_at)),
  el("td", {}, row.agent_name || "–"),
  el("td", {}, row.scorecard),
  el("td", { class: row.failed ? "eval-failed" : "num" }, verdict(row)),
  el("td", { "data-testid": "ev-status" }, row.status),
  el("td", {}, row.evaluator_name || "–"))));
  $("#ev-empty").hidden = state.rows.length > 0;
  $("#ev-summary").textContent = state.rows.length ? `${state.rows.length} evaluation${state.rows.length === 1 ? "" : "s"}` : "";
  $("#ev-averages").textContent = rank >= RANKS.supervisor && state.rows.length ? `Average per agent: ${averages()}` : "";
}

function detail(evaluation) {
  const parts = [el("p", {}, el("strong", { class: evaluation.failed ? "eval-failed" : "", "data-testid": "ev-score" }, verdict(evaluation)),
    ` · ${evaluation.scorecard} · ${evaluation.agent_name || "–"} · scored by ${evaluation.evaluator_name || "–"} on ${dateTime(evaluation.updated_at)}`),
  el("p", { class: "small" }, el("a", { href: `/recordings#${evaluation.recording_id}` }, "The recording"), ` · status: ${evaluation.status}`)];
  evaluation.form.sections.forEach((section, index) => {
    const scored = evaluation.sections[index] || {};
    parts.push(el("h3", {}, `${section.title}: ${scored.percent ?? "–"}%`));
    const list = el("dl", {});
    for (const question of section.questions) {
      const answer = evaluation.answers[question.id];
      const auto = answer && answer.auto !== null && answer.auto !== undefined;
      list.append(el("dt", {}, question.text, question.critical ? el("span", { class: "badge critical" }, "critical") : null,
        auto ? el("span", { class: "badge auto", title: answer.why }, answer.auto === answer.value ? "auto" : "auto, changed") : null),
      el("dd", { "data-testid": `ev-answer-${question.id}` }, answerText(question, answer)));
      if (answer && answer.comment) list.append(el("p", { class: "comment", "data-testid": `ev-comment-${question.id}` }, answer.comment));
    }
    parts.push(list);
  });
  if (evaluation.comment) parts.push(el("p", {}, el("strong", {}, "Comment: "), evaluation.comment));
  if (evaluation.agent_comment) parts.push(el("p", { "data-testid": "ev-agent-comment" }, el("strong", {}, "Agent: "), evaluation.agent_comment));
  return parts;
}

async function open(id) {
  state.open = id;
  renderRows();
  try {
    const { evaluation } = await get(`/api/evaluations/${id}`);
    $("#ev-detail").replaceChildren(...detail(evaluation));
    $("#ev-reply").hidden = !(evaluation.agent_user_id === me.id && evaluation.status === "submitted");
    $("#ev-reply-errors").textContent = "";
  } catch (error) {
    $("#ev-detail").replaceChildren(el("p", { class: "message error" }, error.message));
  }
}

async function load() {
  const agent = $("#ev-agent").value;
  const query = agent ? `?${new URLSearchParams({ agent })}` : "";
  try {
    state.rows = (await get(`/api/evaluations${query}`)).evaluations;
  } catch (error) {
    state.rows = [];
    toast(`The evaluations could not be loaded: ${error.message}`, "error");
  }
  renderRows();
  const wanted = Number(location.hash.slice(1));
  if (wanted && state.rows.some((row) => row.id === wanted)) open(wanted);
}

async function answer(move) {
  const comment = $("#ev-reply-comment").value;
  try {
    await post(`/api/evaluations/${state.open}/${move}`, { comment });
    toast(move === "acknowledge" ? "Acknowledged" : "Disputed: your supervisor sees your comment");
    $("#ev-reply-comment").value = "";
    await load();
    await open(state.open);
  } catch (error) {
    $("#ev-reply-errors").textContent = error instanceof ApiError && Object.keys(error.fields).length
      ? Object.values(error.fields).join(" · ") : error.message;
  }
}
$("#ev-acknowledge").addEventListener("click", () => answer("acknowledge"));
$("#ev-dispute").addEventListener("click", () => answer("dispute"));
$("#ev-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });

async function start() {
  if (rank >= RANKS.supervisor) {
    $("#ev-filters").hidden = false;
    try {
      const { agents } = await get("/api/agents");
      $("#ev-agent").append(...agents.map((a) => el("option", { value: String(a.user_id) }, a.name)));
    } catch { /* the filter is a help */ }
  }
  if (rank >= RANKS.supervisor) scorecardEditor({ canEdit: rank >= RANKS.admin }).start();
  await load();
}
start();
