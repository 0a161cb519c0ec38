// Voicemail: the inbox of every mailbox the user may read (agents: theirs, their queues' and
// what is assigned to them), filtered by mailbox and status, live on voicemail:changed.
import { get } from "../api.js";
import { Feed } from "../feed.js";
import { $, pageData } from "../ui.js";
import { fillMailboxes, mountInbox } from "../voicemail.js";

const me = pageData().user;

async function start() {
  const [queues, agents] = await Promise.allSettled([get("/api/queues"), get("/api/agents")]);
  const names = queues.status === "fulfilled" ? queues.value.queues.map((q) => q.name) : [];
  fillMailboxes($("#vm-mailbox"), names, me);
  const people = agents.status === "fulfilled"
    ? agents.value.agents.map((a) => [a.user_id, a.name]).sort((a, b) => a[1].localeCompare(b[1])) : [];
  const inbox = mountInbox($("#voicemail-inbox"), { me, agents: people });
  new Feed(["voicemail:changed"], { onSync: inbox.refresh, onEvent: inbox.refresh }).start();
}

start();
