// The agent page's "Create ticket": a button in the call box and one in the wrap-up panel, and a
// dialog pre-filled from the call (the server adds the caller's contact, links the call, and
// takes the agent's notes as the description unless the agent writes one).
import { post } from "./api.js";
import { $, clearErrors, el, showErrors, toast } from "./ui.js";
import { PRIORITIES } from "./tickets-ui.js";

/** callId(): the call on the line or in wrap-up (null: none); notes(): the wrap-up notes typed
 * so far; contactName(): the card's contact. Returns {update()} for the page to call when its
 * call changes. */
export function mountTicketBox({ callId, notes, contactName }) {
  const subject = el("input", { id: "tk-subject", name: "subject", maxlength: 200, "data-testid": "ticket-subject" });
  const priority = el("select", { id: "tk-priority", name: "priority", "data-testid": "ticket-priority" },
    PRIORITIES.map((p) => el("option", { value: p, selected: p === "medium" }, p)));
  const description = el("textarea", { id: "tk-description", name: "description", rows: 4, "data-testid": "ticket-description" });
  const errors = el("div", { class: "field-error", role: "alert" });
  const context = el("p", { class: "small muted" });
  const form = el("form", { method: "dialog" },
    el("h2", {}, "Create ticket"), context,
    el("label", { for: "tk-subject" }, "Subject"), subject,
    el("label", { for: "tk-priority" }, "Priority"), priority,
    el("label", { for: "tk-description" }, "Description (your notes)"), description, errors,
    el("div", { class: "dialog-actions" },
      el("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
      el("button", { type: "submit", class: "primary", "data-testid": "ticket-create" }, "Create ticket")));
  const dialog = el("dialog", { "data-testid": "ticket-dialog" }, form);
  document.body.append(dialog);
  const made = el("span", { "data-testid": "ticket-made", hidden: true });

  let forCall = null;
  function open() {
    forCall = callId();
    if (!forCall) return;
    const who = contactName();
    subject.value = "";
    subject.placeholder = who ? `Call from ${who}` : "Call from the caller";
    description.value = notes() || "";
    context.textContent = who ? `For ${who}; the call is linked.` : "The call is linked; the caller's contact too if known.";
    clearErrors(form, errors);
    dialog.showModal();
    subject.focus();
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const reply = await post(`/api/calls/${encodeURIComponent(forCall)}/ticket`, {
        subject: subject.value.trim() || null, priority: priority.value, description: description.value,
      });
      dialog.close();
      const ticket = reply.ticket;
      made.replaceChildren(el("a", { href: `/tickets/${ticket.id}`, "data-testid": "ticket-link", target: "_blank", rel: "noopener" },
        `Ticket #${ticket.id}: ${ticket.subject}`));
      made.hidden = false;
      toast(`Ticket #${ticket.id} created`);
    } catch (error) {
      showErrors(form, error, errors);
    }
  });

  const button = (testid) => el("button", { type: "button", class: "small", "data-testid": testid, hidden: true, onclick: open }, "Create ticket");
  const inCallBox = button("create-ticket");
  const inWrapup = button("create-ticket-wrapup");
  // rec-row: the call box's own row style (this module has no stylesheet on the agent page).
  $("#call-box")?.append(el("div", { class: "rec-row" }, inCallBox, made));
  $("#disposition-form .dialog-actions")?.prepend(inWrapup);
  const buttons = [inCallBox, inWrapup];
  let shownFor = null;
  return {
    update() {
      const id = callId();
      for (const button of buttons) button.hidden = !id;
      if (id !== shownFor) { made.hidden = true; shownFor = id; }
    },
  };
}
