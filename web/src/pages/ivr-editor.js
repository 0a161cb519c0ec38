// Admin: the IVR flow editor. The validator's problems are marked on their lines: a red line
// number in the gutter and the message at the end of the line, drawn on a backdrop that scrolls
// with the textarea (amber for warnings, which do not refuse the flow). Tab indents inside the
// text; Esc then Tab leaves it (no keyboard trap).
import { ApiError, get, post, put } from "../api.js";
import { Feed } from "../feed.js";
import { $, el, toast } from "../ui.js";

const text = $("#flow-text");
const gutter = $("#gutter");
const backdrop = $("#backdrop");
let problems = [];
let current = null;
let validateTimer = null;
let tabLeaves = false; // after Esc, Tab moves the focus on instead of indenting

const TEMPLATE = `flows:
  main:
    description: A new flow
    dids: ["+15555550100"]
    entry: hello
    prompts:
      hello:
        en: Hello, thank you for calling.
    nodes:
      hello:
        kind: play
        prompts: hello
        next: bye
      bye:
        kind: hangup
`;

function render() {
  const lines = text.value.split("\n");
  const byLine = new Map();
  for (const p of problems) {
    if (!byLine.has(p.line)) byLine.set(p.line, []);
    byLine.get(p.line).push(p);
  }
  // A line with an error is red; one with only warnings amber.
  const mark = (n) => (byLine.get(n).every((p) => p.warning) ? "warn" : "bad");
  gutter.replaceChildren(...lines.map((_, i) => el("div", {
    class: byLine.has(i + 1) ? mark(i + 1) : "",
    title: byLine.has(i + 1) ? byLine.get(i + 1).map((p) => p.message).join("\n") : null,
  }, i + 1)));
  backdrop.replaceChildren(...lines.map((line, i) => el("div", byLine.has(i + 1)
    ? { class: mark(i + 1), "data-msg": byLine.get(i + 1).map((p) => p.message).join(" · "), "data-testid": `problem-line-${i + 1}` }
    : {}, line || " ")));
  $("#problems").replaceChildren(...problems.map((p) => el("li", { class: p.warning ? "warn" : "", "data-testid": "problem" },
    el("button", { type: "button", class: "link", onclick: () => jump(p) },
      el("code", {}, `${p.line}:${p.column}`), p.warning ? `warning: ${p.message}` : p.message))));
  syncScroll();
}

function syncScroll() {
  gutter.scrollTop = text.scrollTop;
  backdrop.scrollTop = text.scrollTop;
  backdrop.scrollLeft = text.scrollLeft;
}

function jump(problem) {
  const lines = text.value.split("\n");
  let offset = 0;
  for (let i = 0; i < problem.line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
  offset += Math.max(0, problem.column - 1);
  text.focus();
  text.setSelectionRange(offset, offset);
  text.scrollTop = Math.max(0, (problem.line - 5) * 20);
  syncScroll();
}

function status(message, kind) {
  $("#flow-status").replaceChildren(message ? el("div", { class: `message ${kind}` }, message) : "");
}

function flowName() {
  return $("#flow-name").value.trim();
}

async function validate() {
  const name = flowName() || "draft";
  try {
    const reply = await post(`/api/ivr/flows/${encodeURIComponent(name)}/validate`, { yaml: text.value });
    problems = reply.problems;
    const warnings = problems.filter((p) => p.warning).length;
    const errors = problems.length - warnings;
    const noted = warnings ? ` (${warnings} warning${warnings === 1 ? "" : "s"})` : "";
    status(reply.valid ? `No problems found${noted}.` : `${errors} problem${errors === 1 ? "" : "s"} found${noted}.`, reply.valid ? "ok" : "error");
  } catch (error) {
    problems = [];
    status(error.message, "error");
  }
  render();
}

async function apply() {
  const name = flowName();
  if (!name) { status("Give the flow a name first.", "error"); return; }
  try {
    const reply = await put(`/api/ivr/flows/${encodeURIComponent(name)}`, { yaml: text.value });
    problems = [];
    current = name;
    $("#flow-version").textContent = `version ${reply.flow.version}`;
    status(`Applied: ${name} version ${reply.flow.version} now routes new calls.`, "ok");
    await loadList();
  } catch (error) {
    if (error instanceof ApiError && error.body.problems) {
      problems = error.body.problems;
      status(`${error.message}.`, "error");
    } else {
      status(error.fields?.yaml || error.message, "error");
    }
  }
  render();
}

async function open(name) {
  const reply = await get(`/api/ivr/flows/${encodeURIComponent(name)}`);
  current = name;
  $("#flow-name").value = name;
  $("#flow-version").textContent = `version ${reply.flow.version}`;
  text.value = reply.flow.yaml_text;
  problems = [];
  status("", "");
  render();
  await loadList();
}

async function loadList() {
  const reply = await get("/api/ivr/flows");
  $("#flow-list").replaceChildren(...(reply.flows.length ? reply.flows.map((f) =>
    el("li", { class: f.name === current ? "active" : "" },
      el("button", { type: "button", onclick: () => open(f.name), "data-testid": `flow-${f.name}`, "aria-current": f.name === current ? "true" : null },
        el("span", {}, f.name), el("span", { class: "small muted" }, `v${f.version}`)))) : [el("li", { class: "muted" }, "No flows yet")]));
}

function newFlow() {
  current = null;
  $("#flow-name").value = "";
  $("#flow-version").textContent = "new";
  text.value = TEMPLATE;
  problems = [];
  status("", "");
  render();
  loadList();
}

text.addEventListener("input", () => {
  render();
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 800);
});
text.addEventListener("scroll", syncScroll);
text.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    tabLeaves = true;
    status("Tab now leaves the editor; type anything to indent with Tab again.", "info");
    return;
  }
  if (event.key === "Tab" && !tabLeaves && !event.shiftKey) {
    event.preventDefault();
    const { selectionStart: start, selectionEnd: end } = text;
    text.setRangeText("  ", start, end, "end");
    render();
    return;
  }
  if (event.key !== "Tab" && event.key !== "Shift") tabLeaves = false;
});
text.addEventListener("blur", () => { tabLeaves = false; });
$("#validate-flow").addEventListener("click", validate);
$("#apply-flow").addEventListener("click", apply);
$("#new-flow").addEventListener("click", newFlow);

new Feed(["ivr:updated"], {
  onSync: loadList,
  onEvent(_topic, payload) {
    if (payload.name === current) toast(`${payload.name} was updated to version ${payload.version}`);
    loadList();
  },
}).start();
newFlow();
