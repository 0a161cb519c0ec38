// Admin: users and agents (create, role, disable, password, skills and queues, SIP password).
import { get, patch, post, put } from "../api.js";
import { $, clearErrors, el, pageData, showErrors, toast } from "../ui.js";

const data = pageData();
let queues = [];
let profileUser = null;

async function load() {
  const [users, queueReply] = await Promise.all([get("/api/users"), get("/api/queues")]);
  queues = queueReply.queues.map((q) => q.name);
  $("#users").replaceChildren(...users.users.map(row));
}

function row(user) {
  const self = user.id === data.user.id;
  const role = el("select", { "aria-label": `Role of ${user.username}`, disabled: self },
    data.roles.map((r) => el("option", { value: r, selected: r === user.role }, r)));
  role.addEventListener("change", () => change(user, { role: role.value }));
  return el("tr", { class: user.disabled ? "disabled" : "", "data-testid": `user-${user.username}` },
    el("td", {}, el("div", {}, el("b", {}, user.display_name)), el("div", { class: "small muted" }, user.username)),
    el("td", {}, role),
    el("td", {}, el("button", { class: "small", onclick: () => openProfile(user) }, "Skills & queues")),
    el("td", {}, user.disabled ? el("span", { class: "badge bad" }, "disabled") : el("span", { class: "badge ok" }, "active")),
    el("td", {}, el("div", { class: "actions" },
      el("button", { class: "small", disabled: self, onclick: () => change(user, { disabled: !user.disabled }) }, user.disabled ? "Enable" : "Disable"),
      el("button", { class: "small", onclick: () => resetPassword(user) }, "Password…"),
      el("button", { class: "small", onclick: () => resetSip(user) }, "New SIP password"))));
}

async function change(user, body) {
  try {
    await patch(`/api/users/${user.id}`, body);
    toast("Saved");
  } catch (error) {
    toast(Object.values(error.fields)[0] || error.message, "error");
  }
  await load();
}

async function resetPassword(user) {
  const password = prompt(`New password for ${user.username} (at least 8 characters). Their sessions will end.`);
  if (password) await change(user, { password });
}

async function resetSip(user) {
  if (!confirm(`Give ${user.username}'s softphone a new SIP password? Their phone registers again by itself.`)) return;
  try {
    await post(`/api/users/${user.id}/sip-password`);
    toast("New SIP password set");
  } catch (error) {
    toast(error.message, "error");
  }
}

async function openProfile(user) {
  profileUser = user;
  $("#profile-title").textContent = `${user.display_name}: skills and queues`;
  clearErrors($("#profile-form"), $("#profile-errors"));
  try {
    const profile = await get(`/api/users/${user.id}/agent`);
    $("#pf-skills").value = Object.entries(profile.skills).map(([k, v]) => `${k}: ${v}`).join("\n");
    $("#pf-queues").replaceChildren(...queues.map((q) => el("label", { class: "check" },
      el("input", { type: "checkbox", value: q, checked: profile.queues.includes(q) }), q)));
    $("#profile-dialog").showModal();
  } catch (error) {
    toast(error.status === 404 ? `${user.username} is not an agent` : error.message, "error");
  }
}

$("#profile-close").addEventListener("click", () => $("#profile-dialog").close());
$("#profile-save").addEventListener("click", async () => {
  const skills = {};
  for (const line of $("#pf-skills").value.split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) skills[line.slice(0, at).trim()] = Number(line.slice(at + 1).trim());
  }
  const chosen = [...$("#pf-queues").querySelectorAll("input:checked")].map((i) => i.value);
  try {
    await put(`/api/users/${profileUser.id}/agent`, { skills, queues: chosen });
    $("#profile-dialog").close();
    toast("Agent saved");
  } catch (error) {
    showErrors($("#profile-form"), error, $("#profile-errors"));
  }
});

$("#new-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = Object.fromEntries(new FormData(form).entries());
  try {
    await post("/api/users", body);
    form.reset();
    clearErrors(form, $("#new-user-errors"));
    toast(`User ${body.username} created`);
    await load();
  } catch (error) {
    showErrors(form, error, $("#new-user-errors"));
  }
});

load();
