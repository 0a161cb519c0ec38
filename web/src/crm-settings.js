// The external CRM's settings on the integrations page: lookup url, token (never shown back),
// timeout, cache, field mapping, "open in CRM" url, and a lookup to try them.
import { get, put } from "./api.js";
import { $, clearErrors, loadInto, showErrors, toast } from "./ui.js";

function show(crm) {
  $("#crm-lookup-url").value = crm.lookup_url || "";
  $("#crm-token").value = "";
  $("#crm-token").placeholder = crm.token_set ? "(saved: type to replace)" : "";
  $("#crm-token-clear").checked = false;
  $("#crm-timeout").value = crm.timeout_ms;
  $("#crm-cache").value = crm.cache_s;
  $("#crm-mapping").value = Object.entries(crm.mapping).map(([k, v]) => `${k}: ${v}`).join("\n");
  $("#crm-open-url").value = crm.open_url || "";
}

function mapping() {
  const out = {};
  for (const line of $("#crm-mapping").value.split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

export async function mountCrmSettings() {
  $("#crm-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = {
      lookup_url: $("#crm-lookup-url").value.trim() || null,
      timeout_ms: Number($("#crm-timeout").value),
      cache_s: Number($("#crm-cache").value),
      mapping: mapping(),
      open_url: $("#crm-open-url").value.trim() || null,
    };
    if ($("#crm-token-clear").checked) body.token = null;
    else if ($("#crm-token").value) body.token = $("#crm-token").value;
    try {
      const reply = await put("/api/crm-link", body);
      clearErrors(form, $("#crm-errors"));
      show(reply.crm);
      toast("CRM saved");
    } catch (error) {
      showErrors(form, error, $("#crm-errors"));
    }
  });
  $("#crm-try").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("#crm-try-result");
    try {
      const found = await get(`/api/crm-link/lookup?number=${encodeURIComponent($("#crm-try-number").value)}`);
      out.textContent = JSON.stringify(found, null, 2);
    } catch (error) {
      out.textContent = error.message;
    }
    out.hidden = false;
  });
  await loadInto($("#crm-form"), async () => show((await get("/api/crm-link")).crm));
}
