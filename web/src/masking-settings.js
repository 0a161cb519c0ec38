// Number masking on the integrations page: the roles that see callers' numbers masked, and
// whether webhooks carry them masked.
import { get, put } from "./api.js";
import { $, $$, clearErrors, loadInto, showErrors, toast } from "./ui.js";

function show(masking) {
  for (const box of $$("#masking-roles input")) box.checked = masking.roles.includes(box.value);
  $("#masking-webhooks").checked = masking.webhooks;
}

export async function mountMasking() {
  $("#masking-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const reply = await put("/api/masking", {
        roles: $$("#masking-roles input").filter((box) => box.checked).map((box) => box.value),
        webhooks: $("#masking-webhooks").checked,
      });
      clearErrors(form, $("#masking-errors"));
      show(reply.masking);
      toast("Masking saved");
    } catch (error) {
      showErrors(form, error, $("#masking-errors"));
    }
  });
  await loadInto($("#masking-form"), async () => show((await get("/api/masking")).masking));
}
