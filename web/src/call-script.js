// The agent page's call script: beside the call box while the agent talks to the caller, the script of the call
// (its IVR path's, its queue's, or the default) filled with the contact's, call's and IVR's values.
import { get } from "./api.js";
import { $, el } from "./ui.js";

/** callId(): the call being talked (null: none). Returns {update()} for the page to call when
 * its call changes. */
export function mountCallScript({ callId }) {
  const body = el("div", { "data-testid": "call-script-body" });
  const panel = el("section", { class: "panel", id: "call-script-panel", "data-testid": "call-script", hidden: true, "aria-labelledby": "call-script-title" },
    el("div", { class: "panel-head" }, el("h2", { id: "call-script-title" }, "Script")), body);
  // After the (hidden while talking) wrap-up panel: the column keeps its spacing.
  $("#disposition-panel")?.after(panel);
  let shownFor = null;

  function render(script) {
    const parts = [el("h3", { "data-testid": "call-script-title" }, script.headline)];
    if (script.opening) parts.push(el("p", { "data-testid": "call-script-opening" }, script.opening));
    if (script.main_points.length) parts.push(el("ul", {}, script.main_points.map((p) => el("li", {}, p))));
    if (script.objections.length) {
      parts.push(el("h3", {}, "Objections"), el("dl", { class: "kv" },
        script.objections.flatMap(([objection, reply]) => [el("dt", {}, objection), el("dd", {}, reply)])));
    }
    if (script.closing) parts.push(el("h3", {}, "Closing"), el("p", {}, script.closing));
    if (script.missing.length) parts.push(el("p", { class: "small muted" }, `Not known for this call: ${script.missing.join(", ")}`));
    body.replaceChildren(...parts);
  }

  return {
    async update() {
      const id = callId();
      if (id === shownFor) return;
      shownFor = id;
      if (!id) { panel.hidden = true; return; }
      try {
        const reply = await get(`/api/calls/${encodeURIComponent(id)}/script`);
        if (shownFor !== id) return; // another call came meanwhile
        panel.hidden = !reply.script;
        if (reply.script) render(reply.script);
      } catch {
        panel.hidden = true; // a script is a help: the call goes on without it
        if (shownFor === id) shownFor = null; // the next update of the call tries again
      }
    },
  };
}
