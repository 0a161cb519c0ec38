// Where a live call is at, in words (IVR node, waiting in a queue at its place, ringing an
// agent, talking, on hold, dialling out), and a supervisor's actions on a waiting call: move it
// to another queue, raise its priority, send it to voicemail, hang up. Used by the supervisor's
// live calls.
import { post } from "./api.js";
import { duration, el, secondsSince, toast } from "./ui.js";

/** The call's stage as a short sentence; `agentName(userId)` names agents. */
export function stageOf(call, agentName) {
  const queue = call.queue && !call.queue.startsWith("@") ? call.queue : null;
  const toAgent = call.queue && call.queue.startsWith("@") ? `for ${call.queue.slice(1)}` : null;
  switch (call.state) {
    case "ivr":
      return call.ivr_node ? `IVR · ${call.ivr_node}` : "IVR";
    case "queued":
    case "ringing":
      if (call.direction === "outbound" && call.position == null) return "dialling out";
      return [
        call.ringing_user_id != null ? `ringing ${agentName(call.ringing_user_id)}` : "waiting",
        queue ? `in ${queue}` : toAgent,
        call.position != null ? `#${call.position}` : null,
        call.waiting_since ? `waited ${duration(secondsSince(call.waiting_since))}` : null,
        call.priority ? `priority ${call.priority}` : null,
      ].filter(Boolean).join(" · ");
    case "held":
      return `on hold · ${agentName(call.agent_user_id)}`;
    case "consulting":
      return `consulting · ${agentName(call.agent_user_id)}`;
    case "talking":
      return `talking · ${agentName(call.agent_user_id)}`;
    default:
      return call.state;
  }
}

/** Whether a supervisor may act on the call as a waiting one (not yet with an agent). */
export function isWaiting(call) {
  return (call.state === "queued" || call.state === "ringing") && call.position != null;
}

/**
 * The actions on a waiting call: a queue to move it to, +1 priority, voicemail, hang up.
 * `queues`: the tenant's queue names; `done()`: called after an action succeeded.
 */
export function waitingActions(call, queues, done) {
  const id = encodeURIComponent(call.call_id);
  const act = async (verb, body, said) => {
    try {
      await post(`/api/calls/${id}/${verb}`, body);
      toast(said);
      done();
    } catch (error) {
      toast(error.message, "error");
    }
  };
  const others = queues.filter((name) => name !== call.queue);
  const move = el("select", {
    class: "small", "aria-label": "Move to queue", "data-testid": `move-${call.call_id}`,
    onchange: (event) => {
      const queue = event.target.value;
      if (queue) act("move", { queue }, `Moved to ${queue}`);
    },
  }, el("option", { value: "" }, "Move to…"), ...others.map((name) => el("option", { value: name }, name)));
  return [
    move,
    el("button", {
      class: "small", "data-testid": `priority-${call.call_id}`, title: "Raise its priority: it goes before the others",
      onclick: () => act("priority", { priority: Math.min(100, (call.priority || 0) + 1) }, "Priority raised"),
    }, "Priority +1"),
    el("button", {
      class: "small", "data-testid": `voicemail-${call.call_id}`, title: "The caller leaves a message in the queue's mailbox",
      onclick: () => act("voicemail", undefined, "Sent to voicemail"),
    }, "Voicemail"),
    el("button", {
      class: "small danger", "data-testid": `end-${call.call_id}`,
      onclick: () => act("hangup", undefined, "Call ended"),
    }, "Hang up"),
  ];
}
