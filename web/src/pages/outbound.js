// Outbound work for supervisors: lead lists (counts by status, CSV export, import with the
// report of bad rows by line), the do-not-call list, and every refused dial with its reason.
import { get, post } from "../api.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "../ui.js";

const MAX_FILE = 2_000_000; // the API's bound (characters)

async function loadLists() {
  const reply = await get("/api/leads/lists");
  $("#lead-lists").replaceChildren(...(reply.lists.length ? reply.lists.map((item) =>
    el("tr", { "data-testid": "lead-list" },
      el("td", {}, item.name), el("td", {}, item.total),
      ...["new", "open", "done", "cancelled"].map((s) => el("td", {}, item.counts[s])),
      el("td", {}, el("a", { href: `/api/leads/lists/${item.id}/export`, download: "" }, "CSV"))))
    : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No lead list yet: import one."))]));
}

async function loadRefusals() {
  const reply = await get("/api/compliance/refusals?limit=100");
  $("#refusals").replaceChildren(...(reply.refusals.length ? reply.refusals.map((r) =>
    el("tr", { "data-testid": "refusal" },
      el("td", {}, dateTime(r.at)), el("td", {}, r.number || ""), el("td", {}, r.by || "–"),
      el("td", {}, el("span", { class: "badge" }, r.reason)), el("td", {}, r.message)))
    : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No dial refused."))]));
}

async function loadDnc() {
  const reply = await get("/api/dnc?limit=50");
  $("#dnc-total").textContent = `${reply.total} number(s) on the list`;
  $("#dnc-list").replaceChildren(...reply.entries.map((e) =>
    el("li", {}, el("strong", {}, e.number), " ", el("span", { class: "small muted" }, [e.source, e.reason].filter(Boolean).join(" · ")))));
}

$("#import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const errors = $("#import-errors");
  clearErrors(form, errors);
  const file = $("#im-file").files[0];
  if (!file) return;
  if (file.size > MAX_FILE * 4) { errors.textContent = "csv: the file is too large"; return; }
  const column = $("#im-number").value.trim();
  try {
    const reply = await post("/api/leads/lists", {
      name: $("#im-name").value, csv: await file.text(), ...(column ? { mapping: { number: column } } : {}),
    });
    const r = reply.report;
    $("#import-report").replaceChildren(
      el("p", {}, `${r.imported} imported of ${r.rows} rows: ${r.invalid} invalid, ${r.duplicates} duplicate(s).`),
      el("ul", { class: "plain-list small" }, r.problems.map((p) => el("li", {}, `line ${p.line}: ${p.column}: ${p.message}`))));
    form.reset();
    toast("List imported");
    await loadLists();
  } catch (error) {
    showErrors(form, error, errors);
  }
});

$("#dnc-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  clearErrors(form, $("#dnc-errors"));
  try {
    const reply = await post("/api/dnc", { numbers: [$("#dnc-number").value], ...($("#dnc-reason").value ? { reason: $("#dnc-reason").value } : {}) });
    toast(reply.added ? "Added to the do-not-call list" : "Already on the list");
    form.reset();
    await loadDnc();
  } catch (error) {
    showErrors(form, error, $("#dnc-errors"));
  }
});

$("#refusals-refresh").addEventListener("click", loadRefusals);
loadLists();
loadRefusals();
loadDnc();
