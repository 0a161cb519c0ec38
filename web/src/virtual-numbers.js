// Virtual numbers on the integrations page: the tenant's pool (one number a line, with a label
// and the queue customers calling it back go to), and masked two-party mappings (make one, see
// those not expired, revoke one).
import { del, get, post, put } from "./api.js";
import { $, clearErrors, dateTime, el, loadInto, showErrors, toast } from "./ui.js";

function showPool(numbers) {
  $("#vnum-pool").value = numbers
    .map((n) => [n.number, n.label, n.queue || ""].join(", ").replace(/(, )+$/, ""))
    .join("\n");
}

function pool() {
  return $("#vnum-pool").value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const [number, label = "", queue = ""] = line.split(",").map((part) => part.trim());
    return { number, label, queue: queue || null };
  });
}

async function revoke(mapping) {
  try {
    await del(`/api/masked-calls/${mapping.id}`);
    toast(`Mapping ${mapping.reference || mapping.id} revoked`);
  } catch (error) {
    toast(error.message, "error");
  }
  await showMappings();
}

async function showMappings() {
  const { mappings } = await get("/api/masked-calls?live=true");
  const rows = mappings.map((m) => el("tr", { dataset: { testid: `vnum-mapping-${m.id}` } },
    el("td", {}, m.virtual), el("td", {}, m.party_a), el("td", {}, m.party_b),
    el("td", {}, m.reference), el("td", {}, dateTime(m.expires_at)),
    el("td", {}, el("button", { class: "small", type: "button", "data-testid": "vnum-revoke",
      onclick: () => revoke(m) }, "Revoke"))));
  $("#vnum-mappings").replaceChildren(...rows);
  $("#vnum-mappings-empty").hidden = rows.length > 0;
}

export async function mountVirtualNumbers() {
  $("#vnum-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const reply = await put("/api/virtual-numbers", { numbers: pool() });
      clearErrors(form, $("#vnum-errors"));
      showPool(reply.numbers);
      toast("Virtual numbers saved");
    } catch (error) {
      showErrors(form, error, $("#vnum-errors"));
    }
  });
  $("#vnum-map-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      await post("/api/masked-calls", {
        party_a: $("#vnum-party-a").value.trim(),
        party_b: $("#vnum-party-b").value.trim(),
        ttl_seconds: Math.round(Number($("#vnum-minutes").value) * 60),
        reference: $("#vnum-reference").value.trim(),
      });
      clearErrors(form, $("#vnum-map-errors"));
      form.reset();
      toast("Mapping made");
      await showMappings();
    } catch (error) {
      showErrors(form, error, $("#vnum-map-errors"));
    }
  });
  await loadInto($("#vnum-form"), async () => showPool((await get("/api/virtual-numbers")).numbers));
  await showMappings();
}
