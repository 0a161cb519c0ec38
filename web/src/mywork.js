// The agent's "My work": call tasks, follow-ups and other features' work (GET /api/me/work, a
// merge of sources), the earliest due first, with click-to-call. A task's call goes through
// POST /api/tasks/{id}/call (compliance first: the reason shows on the item when refused); a
// task is finished with its outcome, or put back after an unanswered attempt.
import { get, post, put } from "./api.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "./ui.js";

const REFRESH_MS = 30_000;
const UNANSWERED = [["busy", "Busy"], ["no-answer", "No answer"], ["machine", "Machine"]];

/** Mount the list in `root`; `beforeCall()` readies the phone for the call about to ring it,
 *  `dial(number)` places an agent call for items that are no task (e.g. a callback). */
export function mountMyWork(root, { beforeCall, dial }) {
  const list = $("[data-work-list]", root);
  const count = $("[data-work-count]", root);
  let items = [];

  async function refresh() {
    try {
      items = (await get("/api/me/work")).items;
    } catch (error) {
      list.replaceChildren(el("li", { class: "empty" }, `My work cannot be read: ${error.message}`));
      return;
    }
    render();
  }

  function render() {
    const due = items.filter((item) => item.due).length;
    count.textContent = items.length ? `${due} due · ${items.length} in all` : "";
    if (!items.length) {
      list.replaceChildren(el("li", { class: "empty" }, "Nothing to call: tasks and follow-ups show here."));
      return;
    }
    list.replaceChildren(...items.map(row));
  }

  function row(item) {
    const error = el("div", { class: "field-error", role: "alert", "data-testid": "work-error" });
    const taskId = item.detail?.task_id;
    const attempts = item.detail?.attempts ? ` · ${item.detail.attempts} attempt(s)` : "";
    const node = el("li", { class: `work-item${item.due ? " due" : ""}`, dataset: { testid: "work-item", kind: item.kind, id: item.id } },
      el("div", { class: "work-main" },
        el("div", {},
          el("span", { class: `badge${item.due ? " warn" : ""}` }, item.kind),
          " ", el("strong", {}, item.name || item.number)),
        el("div", { class: "small muted" },
          item.name ? `${item.number} · ` : "", `due ${dateTime(item.due_at)}`, attempts,
          item.status === "in_progress" ? " · in progress" : "")),
      el("div", { class: "work-actions" },
        el("button", { class: "small primary", "data-testid": "work-call", onclick: () => call(item, error) }, "Call"),
        taskId ? el("button", { class: "small", "data-testid": "work-done", onclick: () => toggle(form) }, "Done") : null,
        taskId ? el("select", { class: "small", "aria-label": "Nobody answered", "data-testid": "work-unanswered", onchange: (e) => unanswered(item, e.target, error) },
          el("option", { value: "" }, "No answer…"), ...UNANSWERED.map(([v, label]) => el("option", { value: v }, label))) : null),
      error);
    const form = taskId ? doneForm(item, error) : null;
    if (form) node.append(form);
    return node;
  }

  function toggle(form) {
    form.hidden = !form.hidden;
    if (!form.hidden) $("input", form).focus();
  }

  function doneForm(item, error) {
    const form = el("form", { class: "work-done", hidden: true },
      el("input", { name: "outcome", "aria-label": "Outcome", placeholder: "Outcome (required): sale, not interested…", "data-testid": "work-outcome" }),
      el("button", { class: "small primary", type: "submit", "data-testid": "work-done-save" }, "Finish"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        await post(`/api/tasks/${item.detail.task_id}/done`, { outcome: form.outcome.value });
        toast("Task done");
        await refresh();
      } catch (failure) {
        form.outcome.classList.add("invalid");
        error.textContent = failure.fields?.outcome ? `Outcome ${failure.fields.outcome}` : failure.message;
      }
    });
    return form;
  }

  async function call(item, error) {
    error.textContent = "";
    if (!item.detail?.task_id) {
      const owner = item.detail?.call_id ? { call_id: item.detail.call_id }
        : item.detail?.contact_id ? { contact_id: item.detail.contact_id } : undefined;
      await dial(item.number, owner);
      // A voicemail called back from My work is heard (the inbox shows it so).
      if (item.kind === "voicemail") await put(`/api/voicemails/${item.id}/status`, { status: "heard" }).catch(() => {});
      return;
    }
    beforeCall();
    try {
      await post(`/api/tasks/${item.detail.task_id}/call`, {});
      toast(`Calling ${item.name || item.number}…`);
      await refresh();
    } catch (failure) {
      // The agent sees why: do-not-call, calling hours, attempts, or the phone.
      error.textContent = failure.message;
    }
  }

  async function unanswered(item, select, error) {
    if (!select.value) return;
    error.textContent = "";
    try {
      const reply = await post(`/api/tasks/${item.detail.task_id}/unanswered`, { result: select.value });
      toast(reply.task.status === "cancelled" ? "No more attempts: task closed" : `Due again ${dateTime(reply.task.due_at)}`);
      await refresh();
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  // A task by hand: the agent's own, due now unless they pick a time (their local time).
  const newForm = $("[data-work-new]", root);
  newForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const errors = $("[data-work-new-errors]", root);
    clearErrors(newForm, errors);
    const due = newForm.due_at.value ? new Date(newForm.due_at.value).toISOString() : undefined;
    try {
      await post("/api/tasks", { number: newForm.number.value, ...(newForm.name.value ? { name: newForm.name.value } : {}), ...(due ? { due_at: due } : {}) });
      newForm.reset();
      toast("Task added");
      await refresh();
    } catch (failure) {
      showErrors(newForm, failure, errors);
    }
  });

  $("[data-work-refresh]", root).addEventListener("click", refresh);
  refresh();
  setInterval(refresh, REFRESH_MS);
  return { refresh };
}
