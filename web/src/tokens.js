// API tokens on the integrations page: list (last use), make (shown once), revoke.
import { del, get, post } from "./api.js";
import { $, clearErrors, dateTime, el, showErrors, toast } from "./ui.js";

export async function loadTokens() {
  const reply = await get("/api/tokens");
  $("#tokens").replaceChildren(...reply.tokens.map(tokenRow));
}

function tokenRow(item) {
  return el("tr", { class: item.active ? "" : "disabled", "data-testid": `token-${item.name}` },
    el("td", {}, item.name), el("td", {}, item.role), el("td", {}, el("code", {}, `${item.prefix}…`)),
    el("td", {}, item.last_used_at ? dateTime(item.last_used_at) : "never"),
    el("td", {}, item.active ? el("span", { class: "badge ok" }, "active") : el("span", { class: "badge" }, "revoked")),
    el("td", {}, item.active
      ? el("button", { class: "small", onclick: async () => { await del(`/api/tokens/${item.id}`); toast("Revoked"); await loadTokens(); } }, "Revoke")
      : ""));
}

export function mountTokens() {
  $("#new-token").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const made = await post("/api/tokens", { name: $("#nt-name").value, role: $("#nt-role").value });
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
