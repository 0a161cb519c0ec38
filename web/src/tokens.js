// API tokens on the integrations page: list (last use), make (shown once), revoke.
import { del, get, post } from "./api.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "./ui.js";

export async function loadTokens() {
  const reply = await get("/api/tokens");
  $("#tokens").replaceChildren(...reply.tokens.map(tokenRow));
}

const STATE_BADGE = { active: "badge ok", expired: "badge warn", revoked: "badge" };

function tokenRow(item) {
  const overlap = item.old_valid_until ? el("div", { class: "small muted" }, `old secret until ${dateTime(item.old_valid_until)}`) : null;
  return el("tr", { class: item.active ? "" : "disabled", "data-testid": `token-${item.name}` },
    el("td", {}, item.name), el("td", {}, item.role), el("td", {}, el("code", {}, `${item.prefix}…`), overlap),
    el("td", {}, item.last_used_at ? dateTime(item.last_used_at) : "never"),
    el("td", { "data-testid": "token-expires" }, item.expires_at ? dateTime(item.expires_at) : "never"),
    el("td", {}, el("span", { class: STATE_BADGE[item.state] || "badge", "data-testid": "token-state" }, item.state)),
    el("td", {}, item.active ? [
      el("button", { class: "small", "data-testid": "token-rotate", onclick: () => rotate(item) }, "Rotate"),
      el("button", { class: "small", onclick: async () => { await del(`/api/tokens/${item.id}`); toast("Revoked"); await loadTokens(); } }, "Revoke"),
    ] : ""));
}

async function rotate(item) {
  const made = await post(`/api/tokens/${item.id}/rotate`, {});
  $("#token-value").textContent = made.token;
  $("#token-once").hidden = false;
  toast(`New secret for ${item.name}; the old one works until ${dateTime(made.old_valid_until)}`);
  await loadTokens();
}

export function mountTokens() {
  $("#new-token").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const expires = $("#nt-expires").value;
      const made = await post("/api/tokens", { name: $("#nt-name").value, role: $("#nt-role").value, ...(expires ? { expires_on: expires } : {}) });
      $("#token-value").textContent = made.token;
      $("#token-once").hidden = false;
      form.reset();
      clearErrors(form, $("#new-token-errors"));
      await loadTokens();
    } catch (error) {
      showErrors(form, error, $("#new-token-errors"));
    }
  });
  return loadTokens();
}
