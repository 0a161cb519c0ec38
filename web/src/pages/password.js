// The header's "Password" dialog on every page: change my own password (POST /api/me/password).
// The server keeps this session and ends my others.
import { post } from "../api.js";
import { $, clearErrors, showErrors, toast } from "../ui.js";

const dialog = $("#password-dialog");
const form = $("#password-form");
const errors = $("#password-errors");

$("#change-password")?.addEventListener("click", () => {
  form.reset();
  clearErrors(form, errors);
  dialog.showModal();
});
$("#password-cancel")?.addEventListener("click", () => dialog.close());

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  if (data.get("new_password") !== data.get("confirm")) {
    showErrors(form, { fields: { confirm: "is not the same as the new password" } }, errors);
    return;
  }
  try {
    const result = await post("/api/me/password", {
      current_password: data.get("current_password"),
      new_password: data.get("new_password"),
    });
    dialog.close();
    form.reset();
    const others = result.other_sessions_ended;
    toast(others ? `Password changed; ${others} other session(s) logged out.` : "Password changed.");
  } catch (error) {
    showErrors(form, error, errors);
  }
});
