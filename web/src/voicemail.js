// The voicemail inbox (GET /api/voicemails): messages per queue and agent, new or heard, a
// player (audited), mark heard/new, call back (the page's own dial: the agent's outbound call),
// take or assign, delete (supervisors and up). Agents see their mailbox, their queues' and what
// is assigned to them. Used by the agent page and the /voicemail page.
import { del, get, put } from "./api.js";
import { $, dateTime, duration, el, toast } from "./ui.js";

/** Mount the inbox in `root` (which holds [data-vm-list], [data-vm-count] and the filter
 *  selects [data-vm-status], [data-vm-mailbox]). `me`: {id, role}; `dial(number)`: a call back
 *  through the page's phone (left out: no Call back button); `agents`: [[id, name]] to assign. */
export function mountInbox(root, { me, dial, agents = [] }) {
  const list = $("[data-vm-list]", root);
  const count = $("[data-vm-count]", root);
  const statusFilter = $("[data-vm-status]", root);
  const mailboxFilter = $("[data-vm-mailbox]", root);
  const supervisor = me.role !== "agent";
  let items = [];

  function query() {
    const params = new URLSearchParams();
    if (statusFilter?.value) params.set("status", statusFilter.value);
    const box = mailboxFilter?.value || "";
    if (box === "general") params.set("mailbox_kind", "general");
    else if (box) {
      const [kind, name] = box.split(":");
      params.set("mailbox_kind", kind);
      params.set("mailbox", name);
    }
    return params.toString();
  }

  let asked = 0; // only the latest request's answer is drawn (a filter changed meanwhile)
  async function refresh() {
    const mine = ++asked;
    let answer;
    try {
      answer = (await get(`/api/voicemails?${query()}`)).voicemails;
    } catch (error) {
      if (mine !== asked) return;
      list.replaceChildren(el("li", { class: "empty" }, `Voicemail cannot be read: ${error.message}`));
      return;
    }
    if (mine !== asked) return;
    items = answer;
    const fresh = items.filter((v) => v.status === "new").length;
    count.textContent = items.length ? `${fresh} new · ${items.length} shown` : "";
    list.replaceChildren(...(items.length ? items.map(row)
      : [el("li", { class: "empty" }, "No voicemail here.")]));
  }

  function row(v) {
    const error = el("div", { class: "field-error", role: "alert" });
    const heard = v.status === "heard";
    const player = el("audio", { controls: true, preload: "none", src: v.audio_url, "data-testid": "vm-audio",
      "aria-label": `Voicemail from ${v.from_number}` });
    const assign = supervisor && agents.length
      ? el("select", { class: "small", "aria-label": "Assign to", "data-testid": "vm-assign",
        onchange: (e) => setAssignee(v, e.target.value ? Number(e.target.value) : null, error) },
      el("option", { value: "" }, "Nobody"),
      ...agents.map(([id, name]) => el("option", { value: id, selected: String(v.assigned_user_id) === String(id) }, name)))
      : null;
    return el("li", { class: `vm-item${heard ? "" : " new"}`, dataset: { testid: "vm-item", id: v.id, status: v.status } },
      el("div", { class: "vm-main" },
        el("div", {},
          el("span", { class: `badge${heard ? "" : " warn"}`, "data-testid": "vm-status" }, v.status),
          " ", el("strong", {}, v.from_number || "unknown caller")),
        el("div", { class: "small muted" },
          `${v.mailbox_label} · ${dateTime(v.started_at)} · ${duration(v.duration_seconds)}`,
          v.assigned_name ? ` · for ${v.assigned_name}` : "")),
      player,
      el("div", { class: "vm-actions" },
        dial && v.from_number ? el("button", { class: "small primary", "data-testid": "vm-call", onclick: () => callBack(v, error) }, "Call back") : null,
        el("button", { class: "small", "data-testid": "vm-mark", onclick: () => mark(v, heard ? "new" : "heard", error) }, heard ? "Mark new" : "Mark heard"),
        !supervisor && v.assigned_user_id !== me.id
          ? el("button", { class: "small", "data-testid": "vm-take", onclick: () => setAssignee(v, me.id, error) }, "Take") : null,
        assign,
        supervisor ? el("button", { class: "small danger", "data-testid": "vm-delete", onclick: () => remove(v, error) }, "Delete") : null),
      error);
  }

  async function mark(v, status, error) {
    error.textContent = "";
    try {
      await put(`/api/voicemails/${v.id}/status`, { status });
      await refresh();
    } catch (failure) { error.textContent = failure.message; }
  }

  async function setAssignee(v, userId, error) {
    error.textContent = "";
    try {
      await put(`/api/voicemails/${v.id}/assignee`, { user_id: userId });
      toast(userId === me.id ? "Voicemail taken" : "Voicemail assigned");
      await refresh();
    } catch (failure) { error.textContent = failure.message; }
  }

  async function callBack(v, error) {
    error.textContent = "";
    // The call is the agent's own outbound call (POST /api/calls/dial: the dialling policy,
    // compliance and caller ID apply); the message counts as heard once called back.
    await dial(v.from_number);
    if (v.status === "new") await mark(v, "heard", error);
  }

  async function remove(v, error) {
    if (!window.confirm(`Delete the voicemail from ${v.from_number}?`)) return;
    error.textContent = "";
    try {
      await del(`/api/voicemails/${v.id}`);
      toast("Voicemail deleted");
      await refresh();
    } catch (failure) { error.textContent = failure.message; }
  }

  statusFilter?.addEventListener("change", refresh);
  mailboxFilter?.addEventListener("change", refresh);
  refresh();
  return { refresh };
}

/** Fill the mailbox filter: every queue, the general mailbox, and the user's own. */
export function fillMailboxes(select, queues, me) {
  const first = select.options[0];
  select.replaceChildren(first,
    ...queues.map((q) => el("option", { value: `queue:${q}` }, `Queue ${q}`)),
    el("option", { value: `agent:${me.username}` }, "My mailbox"),
    me.role !== "agent" ? el("option", { value: "general" }, "General") : null);
}
