// The scorecard editor of the evaluations page: a form over a scorecard's definition (sections of
// questions, each with its weight, critical flag, kind, scale or choices, and the insight a
// yes/no question answers itself from), the API's refusals ({"field.path": "message"}) shown
// beside the field they name, a live total of the weights, save / discard, the JSON behind it as
// an advanced mode; supervisors and managers read the same scorecards without changing them.
// The API is the one judge of a scorecard (evaluations/model.py): the form checks nothing itself.
import { ApiError, get, post, put } from "./api.js";
import { $, el, pageData, toast } from "./ui.js";

const DATA = pageData();
const KINDS = DATA.kinds || ["yes-no", "scale", "choice"];
const FIGURES = DATA.figures || [];
const KIND_NAMES = { "yes-no": "Yes / no", scale: "Scale", choice: "Choice" };

// --- pure: the draft and what is sent --------------------------------------------------------

/** A question id from its text ("Greeted the customer" -> "greeted-the-customer"), unique. */
export function slugId(text, taken) {
  const base = text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 36).replace(/-+$/, "") || "question";
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
  return id;
}

function draftQuestion(q) {
  const auto = q.auto || null;
  return {
    id: q.id ?? "", text: q.text ?? "", kind: q.kind ?? "yes-no", weight: q.weight ?? 1,
    critical: Boolean(q.critical), scale: q.scale ?? 5,
    choices: (q.choices || []).map((c) => ({ label: c.label ?? "", score: c.score ?? 0 })),
    // The source of an automatic answer, and both sources' fields (kept while the admin
    // switches between them; only the chosen one is sent).
    source: !auto ? "" : (auto.category !== null && auto.category !== undefined ? "category" : "figure"),
    category: auto?.category ?? "", found: auto?.found ?? true,
    figure: auto?.figure ?? FIGURES[0] ?? "", at_most: auto?.at_most ?? "", at_least: auto?.at_least ?? "",
    newId: false, // a new question's id follows its text until the admin types one
  };
}

/** The editable copy of a stored definition (or of a blank scorecard). */
export function draftOf(definition) {
  const d = definition || {};
  return {
    name: d.name ?? "", description: d.description ?? "", active: d.active ?? true,
    sections: (d.sections || []).map((s) => ({ title: s.title ?? "", questions: (s.questions || []).map(draftQuestion) })),
  };
}

export function blankScorecard() {
  const draft = draftOf({ sections: [{ title: "", questions: [] }] });
  draft.sections[0].questions.push(newQuestion(draft));
  return draft;
}

export function questionIds(draft) {
  return new Set(draft.sections.flatMap((s) => s.questions.map((q) => q.id)));
}

export function newQuestion(draft) {
  return { ...draftQuestion({ id: slugId("", questionIds(draft)) }), newId: true };
}

const bound = (value) => (value === "" || value === null || value === undefined ? undefined : value);

/** The body the API takes: each question with the fields of its kind only, in the draft's
 * order, so that a refusal's path ("sections.1.questions.0.weight") names a field of the form. */
export function bodyOf(draft) {
  return {
    name: draft.name, description: draft.description, active: draft.active,
    sections: draft.sections.map((s) => ({
      title: s.title,
      questions: s.questions.map((q) => {
        const out = { id: q.id, text: q.text, kind: q.kind, weight: q.weight, critical: q.critical };
        if (q.kind === "scale") out.scale = q.scale;
        if (q.kind === "choice") out.choices = q.choices.map((c) => ({ label: c.label, score: c.score }));
        if (q.kind === "yes-no" && q.source === "category") out.auto = { category: q.category, found: q.found };
        if (q.kind === "yes-no" && q.source === "figure") {
          out.auto = { figure: q.figure };
          if (bound(q.at_most) !== undefined) out.auto.at_most = q.at_most;
          if (bound(q.at_least) !== undefined) out.auto.at_least = q.at_least;
        }
        return out;
      }),
    })),
  };
}

/** Points per section and in all (a weight not yet a number counts 0). */
export function weights(draft) {
  const sections = draft.sections.map((s) => s.questions.reduce(
    (sum, q) => sum + (typeof q.weight === "number" && Number.isFinite(q.weight) ? q.weight : 0), 0));
  return { sections, total: sections.reduce((a, b) => a + b, 0) };
}

const share = (points, total) => (total > 0 ? `${Math.round((100 * points) / total)}%` : "–");
const points = (n) => `${Number.isInteger(n) ? n : n.toFixed(1)} point${n === 1 ? "" : "s"}`;

/** Where a refusal shows: the field it names, else the nearest enclosing part of the form that
 * has a place for errors ("sections.0.questions.2.choices" -> the question's choices). */
export function errorHome(path, has) {
  const parts = path.split(".");
  while (parts.length) {
    const candidate = parts.join(".");
    if (has(candidate)) return candidate;
    parts.pop();
  }
  return null;
}

/** An automatic answer's source in words: "category greeting found", "interruptions at most 2". */
export function autoText(auto) {
  if (!auto) return "";
  if (auto.category !== null && auto.category !== undefined) {
    return `category ${auto.category} ${auto.found === false ? "never said" : "found"}`;
  }
  const bounds = [];
  if (auto.at_least !== null && auto.at_least !== undefined) bounds.push(`at least ${auto.at_least}`);
  if (auto.at_most !== null && auto.at_most !== undefined) bounds.push(`at most ${auto.at_most}`);
  return `${auto.figure} ${bounds.join(" and ")}`;
}

function kindText(q) {
  if (q.kind === "scale") return `scale 0-${q.scale}`;
  if (q.kind === "choice") return `choice: ${q.choices.map((c) => `${c.label} ${c.score}%`).join(" · ")}`;
  return "yes / no";
}

// --- the editor ------------------------------------------------------------------------------

export function scorecardEditor({ canEdit }) {
  const state = {
    cards: [], picked: "", draft: null, saved: "", json: false, errors: {}, categories: [],
  };
  const form = $("#sc-form");
  const fieldsArea = $("#sc-fields");
  const summary = $("#sc-errors");

  const dirty = () => canEdit && state.draft !== null && JSON.stringify(bodyOf(state.draft)) !== state.saved;
  const pickedCard = () => state.cards.find((c) => String(c.id) === state.picked);

  function refreshStatus() {
    const changed = dirty();
    $("#sc-status").textContent = changed ? "Unsaved changes" : "";
    $("#sc-discard").disabled = !changed && !state.json;
  }

  function refreshWeights() {
    if (!state.draft) return;
    const { sections, total } = weights(state.draft);
    $("#sc-total").replaceChildren(
      el("strong", {}, `Total weight: ${points(total)}`),
      total > 0 ? ` · ${sections.map((p, i) => `${state.draft.sections[i].title || `Section ${i + 1}`} ${share(p, total)}`).join(" · ")}`
        : " · no question weighs anything: every score would be empty");
    $("#sc-total").classList.toggle("warn", total <= 0);
    sections.forEach((p, i) => {
      const node = fieldsArea.querySelector(`[data-testid="sc-section-weight-${i}"]`);
      if (node) node.textContent = `${points(p)} · ${share(p, total)} of the score`;
    });
    state.draft.sections.forEach((s, i) => s.questions.forEach((q, j) => {
      const node = fieldsArea.querySelector(`[data-testid="sc-share-${i}-${j}"]`);
      const w = typeof q.weight === "number" && Number.isFinite(q.weight) ? q.weight : 0;
      if (node) node.textContent = `${share(w, total)} of the score`;
    }));
  }

  function changed(path) {
    if (path && state.errors[path] !== undefined) {
      delete state.errors[path];
      const home = fieldsArea.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
      if (home) home.textContent = "";
      const input = fieldsArea.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (input) { input.classList.remove("invalid"); input.removeAttribute("aria-invalid"); }
    }
    refreshWeights();
    refreshStatus();
  }

  // A change of the form's shape (added, removed, moved, another kind or source) draws it again;
  // the errors named by position no longer fit it.
  function reshape(move) {
    move();
    state.errors = {};
    summary.textContent = "";
    render();
  }

  const fid = (path) => `sc-f-${path.replaceAll(".", "-")}`;
  const errorNode = (path) => el("div", { class: "field-error", "data-error-for": path, "data-testid": `sc-error-${path}`, id: `${fid(path)}-error` });

  // A labelled input bound to `target[key]`: text, number (a number, or "" while empty), a
  // select or a checkbox; its path names it in the API's refusals.
  function field(label, path, target, key, { type = "text", options = null, wide = false, hint = "", onchange = null } = {}) {
    const id = fid(path);
    const attrs = { id, "data-path": path, "data-testid": `sc-${path}`, "aria-describedby": `${id}-error` };
    let input;
    if (options) {
      input = el("select", attrs, ...options.map(([value, text]) => el("option", { value }, text)));
      input.value = String(target[key]);
    } else if (type === "checkbox") {
      input = el("input", { ...attrs, type: "checkbox" });
      input.checked = Boolean(target[key]);
    } else if (type === "textarea") {
      input = el("textarea", { ...attrs, rows: 2 });
      input.value = target[key];
    } else {
      input = el("input", { ...attrs, type, ...(type === "number" ? { step: "any", inputmode: "decimal" } : {}) });
      input.value = target[key] === null || target[key] === undefined ? "" : String(target[key]);
    }
    input.disabled = !canEdit;
    const read = () => {
      if (type === "checkbox") return input.checked;
      if (type === "number") return input.value === "" ? "" : Number(input.value);
      if (options && key === "found") return input.value === "true";
      return input.value;
    };
    input.addEventListener(options || type === "checkbox" ? "change" : "input", () => {
      target[key] = read();
      if (onchange) onchange(input);
      changed(path);
    });
    if (state.errors[path]) { input.classList.add("invalid"); input.setAttribute("aria-invalid", "true"); }
    const error = errorNode(path);
    if (state.errors[path]) error.textContent = state.errors[path];
    if (type === "checkbox") {
      return el("div", { class: `sc-field sc-check${wide ? " wide" : ""}` }, el("label", { class: "check", for: id }, input, label), hint ? el("div", { class: "small muted" }, hint) : null, error);
    }
    return el("div", { class: `sc-field${wide ? " wide" : ""}` }, el("label", { for: id }, label), input, hint ? el("div", { class: "small muted" }, hint) : null, error);
  }

  function mover(list, index, what, testid) {
    if (!canEdit) return null;
    const swap = (to) => reshape(() => { [list[index], list[to]] = [list[to], list[index]]; });
    return el("span", { class: "sc-movers" },
      el("button", { type: "button", class: "small", "aria-label": `Move the ${what} up`, title: "Move up", disabled: index === 0, "data-testid": `${testid}-up`, onclick: () => swap(index - 1) }, "↑"),
      el("button", { type: "button", class: "small", "aria-label": `Move the ${what} down`, title: "Move down", disabled: index === list.length - 1, "data-testid": `${testid}-down`, onclick: () => swap(index + 1) }, "↓"),
      el("button", { type: "button", class: "small", "aria-label": `Remove the ${what}`, "data-testid": `${testid}-remove`, onclick: () => reshape(() => list.splice(index, 1)) }, "Remove"));
  }

  function choiceRows(q, base, i, j) {
    const rows = q.choices.map((c, k) => el("div", { class: "sc-choice", "data-testid": `sc-choice-${i}-${j}-${k}` },
      field("Choice", `${base}.choices.${k}.label`, c, "label"),
      field("Worth (% of the question)", `${base}.choices.${k}.score`, c, "score", { type: "number" }),
      mover(q.choices, k, "choice", `sc-choice-${i}-${j}-${k}`)));
    return el("div", { class: "sc-choices" }, el("div", { class: "small muted" }, "Each choice earns its share of the question's weight: 100% the whole weight, 0% nothing."),
      ...rows, errorNode(`${base}.choices`),
      canEdit ? el("button", { type: "button", class: "small", "data-testid": `sc-add-choice-${i}-${j}`, onclick: () => reshape(() => q.choices.push({ label: "", score: 0 })) }, "+ Add a choice") : null);
  }

  function autoFields(q, base) {
    const parts = [field("Answered automatically", `${base}.auto`, q, "source", {
      options: [["", "No: the supervisor answers"], ["category", "From a keyword category"], ["figure", "From a figure of the call"]],
      onchange: () => reshape(() => {}),
    })];
    if (q.source === "category") {
      const input = field("Category", `${base}.auto.category`, q, "category");
      input.querySelector("input").setAttribute("list", "sc-categories");
      parts.push(input, field("Yes when the category is", `${base}.auto.found`, q, "found", { options: [["true", "found"], ["false", "never said"]] }));
    } else if (q.source === "figure") {
      parts.push(field("Figure", `${base}.auto.figure`, q, "figure", { options: FIGURES.map((f) => [f, f]) }),
        field("Yes when at least", `${base}.auto.at_least`, q, "at_least", { type: "number" }),
        field("Yes when at most", `${base}.auto.at_most`, q, "at_most", { type: "number" }));
    }
    return el("div", { class: "sc-auto" }, ...parts);
  }

  function questionCard(section, q, i, j) {
    const base = `sections.${i}.questions.${j}`;
    const idField = field("Id", `${base}.id`, q, "id", { onchange: () => { q.newId = false; } });
    const textField = field("Question", `${base}.text`, q, "text", {
      wide: true,
      onchange: () => {
        if (!q.newId) return;
        const taken = questionIds(state.draft); taken.delete(q.id);
        q.id = slugId(q.text, taken);
        const input = idField.querySelector("input");
        input.value = q.id;
        changed(`${base}.id`);
      },
    });
    const kindField = field("Answer", `${base}.kind`, q, "kind", { options: KINDS.map((k) => [k, KIND_NAMES[k] || k]), onchange: () => reshape(() => {}) });
    const byKind = q.kind === "scale" ? el("div", { class: "sc-auto" }, field("Scale from 0 to", `${base}.scale`, q, "scale", { type: "number" }))
      : q.kind === "choice" ? choiceRows(q, base, i, j) : autoFields(q, base);
    return el("li", { class: "sc-question", "data-testid": `sc-question-${i}-${j}` },
      el("div", { class: "sc-question-head" }, el("strong", {}, `Question ${j + 1}`), mover(section.questions, j, "question", `sc-question-${i}-${j}`)),
      el("div", { class: "sc-grid" }, textField, idField, kindField,
        el("div", { class: "sc-field" }, field("Weight (points)", `${base}.weight`, q, "weight", { type: "number" }),
          el("div", { class: "small muted", "data-testid": `sc-share-${i}-${j}` })),
        field("Critical", `${base}.critical`, q, "critical", { type: "checkbox" })),
      byKind, errorNode(base));
  }

  function render() {
    const draft = state.draft;
    if (!draft) { fieldsArea.replaceChildren(); return; }
    const sections = draft.sections.map((section, i) => el("fieldset", { class: "sc-section", "data-testid": `sc-section-${i}` },
      el("legend", {}, `Section ${i + 1}`),
      el("div", { class: "sc-section-head" },
        field("Section title", `sections.${i}.title`, section, "title"),
        el("span", { class: "small muted sc-section-weight", "data-testid": `sc-section-weight-${i}` }),
        mover(draft.sections, i, "section", `sc-section-${i}`)),
      el("ol", { class: "sc-questions" }, ...section.questions.map((q, j) => questionCard(section, q, i, j))),
      errorNode(`sections.${i}.questions`), errorNode(`sections.${i}`),
      canEdit ? el("button", { type: "button", class: "small", "data-testid": `sc-add-question-${i}`, onclick: () => reshape(() => section.questions.push(newQuestion(draft))) }, "+ Add a question") : null));
    fieldsArea.replaceChildren(
      el("div", { class: "sc-grid sc-card-fields" },
        field("Name", "name", draft, "name", { wide: true }),
        field("In use", "active", draft, "active", { type: "checkbox", hint: "Supervisors pick it to score calls; a retired one stays with its evaluations." }),
        field("Description", "description", draft, "description", { type: "textarea", wide: true })),
      ...sections, errorNode("sections"),
      canEdit ? el("button", { type: "button", "data-testid": "sc-add-section", onclick: () => reshape(() => draft.sections.push({ title: "", questions: [newQuestion(draft)] })) }, "+ Add a section") : null);
    refreshWeights();
    refreshStatus();
  }

  function readView(card) {
    const d = card.definition;
    const draft = draftOf(d);
    const { sections, total } = weights(draft);
    return [
      el("p", { class: "small muted" }, d.description || "", d.description ? " · " : "", card.active ? "In use" : "Retired", ` · ${points(total)} in all. Only admins change scorecards.`),
      ...d.sections.map((s, i) => el("section", { class: "sc-read-section" },
        el("h3", {}, `${s.title} · ${points(sections[i])} · ${share(sections[i], total)}`),
        el("ul", { class: "sc-read" }, ...s.questions.map((q) => el("li", { "data-testid": `sc-read-${q.id}` },
          el("span", {}, q.text),
          el("span", { class: "small muted" }, ` ${kindText(draftQuestion(q))} · ${points(q.weight)}`),
          q.critical ? el("span", { class: "badge critical" }, "critical") : null,
          q.auto ? el("span", { class: "badge auto" }, `auto: ${autoText(q.auto)}`) : null))))),
    ];
  }

  function load(picked) {
    state.picked = picked;
    state.json = false;
    state.errors = {};
    summary.textContent = "";
    const card = pickedCard();
    $("#sc-pick").value = picked;
    if (!canEdit) {
      $("#sc-read").replaceChildren(...(card ? readView(card) : [el("p", { class: "small muted" }, "No scorecard yet.")]));
      return;
    }
    state.draft = card ? draftOf(card.definition) : blankScorecard();
    state.saved = JSON.stringify(bodyOf(state.draft)); // a blank one untouched is no change
    $("#sc-save").textContent = card ? "Save the scorecard" : "Create the scorecard";
    showMode();
    render();
  }

  function showMode() {
    form.hidden = state.json;
    $("#sc-json-area").hidden = !state.json;
    $("#sc-advanced").textContent = state.json ? "Back to the form" : "Edit as JSON";
    $("#sc-advanced").setAttribute("aria-pressed", String(state.json));
    $("#sc-json-error").textContent = "";
  }

  function toggleJson() {
    if (!state.json) {
      $("#sc-json").value = JSON.stringify(bodyOf(state.draft), null, 2);
      state.json = true;
    } else {
      let parsed;
      try { parsed = JSON.parse($("#sc-json").value); } catch (error) {
        $("#sc-json-error").textContent = `Not JSON: ${error.message}`;
        return;
      }
      try { state.draft = draftOf(parsed); } catch {
        $("#sc-json-error").textContent = "The form cannot show this JSON (sections and their questions must be lists): save it as it is to read the API's answer, or correct it.";
        return;
      }
      state.json = false;
      state.errors = {};
      summary.textContent = "";
      render();
    }
    showMode();
    refreshStatus();
  }

  function showRefusal(error) {
    state.errors = {};
    const fields = error instanceof ApiError ? error.fields : {};
    if (state.json || !Object.keys(fields).length) {
      summary.replaceChildren(el("strong", {}, "Not saved: "), Object.keys(fields).length
        ? Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join(" · ") : error.message);
      return;
    }
    const has = (path) => fieldsArea.querySelector(`[data-error-for="${CSS.escape(path)}"]`) !== null;
    const elsewhere = [];
    for (const [path, message] of Object.entries(fields)) {
      const home = errorHome(path, has);
      if (home === null) { elsewhere.push(`${path}: ${message}`); continue; }
      state.errors[home] = state.errors[home] ? `${state.errors[home]} · ${message}` : message;
    }
    render();
    const count = Object.keys(fields).length;
    summary.replaceChildren(el("strong", {}, "Not saved: "),
      `${count} problem${count === 1 ? "" : "s"}, shown beside ${count === 1 ? "its field" : "their fields"}.`,
      elsewhere.length ? ` ${elsewhere.join(" · ")}` : "");
    const first = fieldsArea.querySelector(".field-error:not(:empty)");
    if (first) {
      const input = fieldsArea.querySelector(`[data-path="${CSS.escape(first.dataset.errorFor)}"]`);
      (input || first).scrollIntoView({ block: "center" });
      if (input) input.focus({ preventScroll: true });
    }
  }

  async function save() {
    let body;
    if (state.json) {
      try { body = JSON.parse($("#sc-json").value); } catch (error) {
        $("#sc-json-error").textContent = `Not JSON: ${error.message}`;
        return;
      }
    } else {
      body = bodyOf(state.draft);
    }
    const button = $("#sc-save");
    button.disabled = true;
    try {
      const { scorecard } = state.picked ? await put(`/api/scorecards/${state.picked}`, body) : await post("/api/scorecards", body);
      toast(`Scorecard “${scorecard.name}” saved`);
      await loadCards();
      load(String(scorecard.id));
      $("#sc-status").textContent = "Saved";
    } catch (error) {
      showRefusal(error);
    } finally {
      button.disabled = false;
    }
  }

  async function loadCards() {
    state.cards = (await get("/api/scorecards")).scorecards;
    const options = state.cards.map((c) => el("option", { value: String(c.id) }, `${c.name}${c.active ? "" : " (retired)"}`));
    $("#sc-pick").replaceChildren(...(canEdit ? [el("option", { value: "" }, "A new scorecard")] : []), ...options);
  }

  function pick() {
    const wanted = $("#sc-pick").value;
    if (dirty() && !window.confirm("Leave this scorecard? Your changes are not saved.")) {
      $("#sc-pick").value = state.picked;
      return;
    }
    load(wanted);
  }

  async function start() {
    $("#sc-panel").hidden = false;
    $("#sc-edit").hidden = !canEdit;
    $("#sc-read").hidden = canEdit;
    $("#sc-pick").addEventListener("change", pick);
    if (canEdit) {
      $("#sc-save").addEventListener("click", save);
      $("#sc-discard").addEventListener("click", () => load(state.picked));
      $("#sc-advanced").addEventListener("click", toggleJson);
      form.addEventListener("submit", (event) => { event.preventDefault(); save(); });
      $("#sc-json").addEventListener("input", refreshStatus);
      window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });
      get("/api/analytics/rules").then(({ rules }) => {
        $("#sc-categories").replaceChildren(...(rules.categories || []).map((c) => el("option", { value: c.name })));
      }).catch(() => { /* the list is a help: any name may be typed */ });
    }
    try {
      await loadCards();
    } catch (error) {
      summary.textContent = `The scorecards could not be loaded: ${error.message}`;
      return;
    }
    load(canEdit ? "" : (state.cards[0] ? String(state.cards[0].id) : ""));
  }

  return { start };
}
