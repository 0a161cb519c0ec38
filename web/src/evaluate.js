// Scoring a recorded call beside its player and transcript (supervisors and up): pick a
// scorecard, its questions come pre-filled where the call's insights answer them (the reason
// shown; the supervisor may change any), a comment per question, then the score. The
// recording's earlier evaluations are listed above the form. Agents never see this panel.
import { ApiError, get, post } from "./api.js";
import { $, dateTime, el, pageData } from "./ui.js";

const RANKS = { agent: 0, supervisor: 1, manager: 2, admin: 3 };
const KINDS = { "yes-no": "yes / no", scale: "scale", choice: "choice" };

export function verdict(evaluation) {
  return evaluation.failed ? `failed (${evaluation.score}%)` : `${evaluation.score}%`;
}

function questionInput(question, auto) {
  const name = `q-${question.id}`;
  if (question.kind === "yes-no") {
    const pick = (value, label) => el("label", { class: "check" },
      el("input", { type: "radio", name, value: String(value), checked: auto ? auto.value === value : false, "data-testid": `${name}-${label.toLowerCase()}` }), label);
    return el("div", { class: "eval-choices" }, pick(true, "Yes"), pick(false, "No"));
  }
  if (question.kind === "scale") {
    const options = [el("option", { value: "" }, "–")];
    for (let n = 0; n <= question.scale; n += 1) options.push(el("option", { value: String(n) }, String(n)));
    return el("select", { name, "data-testid": name, "aria-label": question.text }, ...options);
  }
  return el("select", { name, "data-testid": name, "aria-label": question.text },
    el("option", { value: "" }, "–"), ...question.choices.map((c) => el("option", { value: c.label }, c.label)));
}

function answerOf(form, question) {
  const name = `q-${question.id}`;
  if (question.kind === "yes-no") {
    const picked = form.querySelector(`input[name="${name}"]:checked`);
    return picked ? picked.value === "true" : undefined;
  }
  const value = form.elements[name].value;
  if (value === "") return undefined;
  return question.kind === "scale" ? Number(value) : value;
}

export function mountEvaluation() {
  const panel = $("#evaluation-panel");
  const role = pageData().user?.role;
  if (!panel || RANKS[role] < RANKS.supervisor) return { show() {} };
  const select = $("#eval-scorecard");
  const form = $("#eval-form");
  const note = $("#eval-note");
  let recording = null;
  let cards = [];

  async function listDone() {
    const box = $("#eval-done");
    try {
      const { evaluations } = await get(`/api/evaluations?${new URLSearchParams({ recording: recording.id })}`);
      box.replaceChildren(...evaluations.map((e) => el("li", { "data-testid": `evaluation-${e.id}` },
        el("a", { href: `/evaluations#${e.id}` }, `${e.scorecard}: ${verdict(e)}`),
        ` · ${e.evaluator_name || ""} · ${dateTime(e.created_at)} · ${e.status}`)));
    } catch { box.replaceChildren(); }
  }

  async function render() {
    const card = cards.find((c) => String(c.id) === select.value);
    form.replaceChildren();
    if (!card) return;
    let draft = { automatic: {}, insights: false };
    try {
      draft = (await get(`/api/recordings/${encodeURIComponent(recording.id)}/evaluation-draft?scorecard_id=${card.id}`)).draft;
    } catch (error) {
      note.textContent = `The automatic answers could not be loaded: ${error.message}`;
    }
    note.textContent = draft.insights ? "Answers marked “auto” come from the call's insights: change any that is wrong." : "This call has no insights yet: answer every question.";
    for (const section of card.definition.sections) {
      form.append(el("h4", {}, section.title));
      for (const question of section.questions) {
        const auto = draft.automatic[question.id];
        form.append(el("div", { class: "eval-question", "data-testid": `question-${question.id}` },
          el("div", { class: "eval-text" }, question.text,
            el("span", { class: "small muted" }, ` · ${KINDS[question.kind]}${question.kind === "scale" ? ` 0–${question.scale}` : ""} · weight ${question.weight}`),
            question.critical ? el("span", { class: "badge critical" }, "critical") : null,
            auto ? el("span", { class: "badge auto", title: auto.why, "data-testid": `auto-${question.id}` }, `auto: ${auto.value ? "yes" : "no"}`) : null),
          auto ? el("div", { class: "small muted" }, auto.why) : null,
          questionInput(question, auto),
          el("textarea", { name: `c-${question.id}`, rows: "1", maxlength: "2000", placeholder: "Comment", "aria-label": `Comment on ${question.text}` })));
      }
    }
    form.append(el("label", { for: "eval-comment" }, "Overall comment"),
      el("textarea", { id: "eval-comment", name: "comment", rows: "2", maxlength: "2000" }),
      el("div", { class: "field-error", id: "eval-errors", "data-testid": "eval-errors" }),
      el("div", { class: "dialog-actions" }, el("button", { class: "primary", type: "submit", "data-testid": "eval-save" }, "Save the evaluation")));
    form.dataset.scorecard = String(card.id);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const card = cards.find((c) => String(c.id) === form.dataset.scorecard);
    const answers = {};
    const missing = [];
    for (const section of card.definition.sections) {
      for (const question of section.questions) {
        const value = answerOf(form, question);
        if (value === undefined) { missing.push(question.text); continue; }
        answers[question.id] = { value, comment: form.elements[`c-${question.id}`].value };
      }
    }
    const errors = $("#eval-errors");
    if (missing.length) { errors.textContent = `Answer: ${missing.join(", ")}`; return; }
    try {
      const { evaluation } = await post(`/api/recordings/${encodeURIComponent(recording.id)}/evaluations`,
        { scorecard_id: card.id, answers, comment: form.elements.comment.value });
      errors.textContent = "";
      $("#eval-result").textContent = `Saved: ${verdict(evaluation)}${evaluation.overridden.length ? ` (automatic answers changed: ${evaluation.overridden.join(", ")})` : ""}`;
      form.replaceChildren();
      select.value = "";
      listDone();
    } catch (error) {
      errors.textContent = error instanceof ApiError && Object.keys(error.fields).length
        ? Object.entries(error.fields).map(([k, v]) => `${k}: ${v}`).join(" · ") : error.message;
    }
  });
  select.addEventListener("change", render);

  async function show(row) {
    recording = row;
    panel.hidden = row.kind && row.kind !== "call";
    $("#eval-result").textContent = "";
    form.replaceChildren();
    if (!cards.length) {
      try { cards = (await get("/api/scorecards?active=true")).scorecards; } catch { cards = []; }
    }
    select.replaceChildren(el("option", { value: "" }, cards.length ? "Pick a scorecard" : "No scorecard: an admin defines them"),
      ...cards.map((c) => el("option", { value: String(c.id) }, c.name)));
    note.textContent = "";
    listDone();
  }
  return { show };
}
