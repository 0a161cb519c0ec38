// Admin: dispositions (add, rename, follow-up flag, order, retire).
import { del, get, post, put } from "../api.js";
import { $, clearErrors, el, showErrors, toast } from "../ui.js";

async function load() {
  const reply = await get("/api/dispositions?all=true");
  $("#dispositions").replaceChildren(...reply.dispositions.map(row));
}

function row(item) {
  const name = el("input", { value: item.name, "aria-label": "Name" });
  const follow = el("input", { type: "checkbox", checked: item.requires_follow_up, "aria-label": "Asks for a follow-up date" });
  const position = el("input", { type: "number", value: item.position, min: 0, class: "shrink", "aria-label": "Position" });
  const save = async (active = item.active) => {
    try {
      await put(`/api/dispositions/${item.id}`, {
        name: name.value, requires_follow_up: follow.checked, position: Number(position.value), active,
      });
      toast("Saved");
      await load();
    } catch (error) {
      toast(Object.values(error.fields)[0] ? `${Object.keys(error.fields)[0]} ${Object.values(error.fields)[0]}` : error.message, "error");
    }
  };
  return el("tr", { class: item.active ? "" : "disabled", "data-testid": `disposition-${item.name}` },
    el("td", {}, position), el("td", {}, name), el("td", {}, follow),
    el("td", {}, item.active ? el("span", { class: "badge ok" }, "in use") : el("span", { class: "badge" }, "retired")),
    el("td", {}, el("div", { class: "actions" },
      el("button", { class: "small", onclick: () => save() }, "Save"),
      item.active
        ? el("button", { class: "small", onclick: async () => { await del(`/api/dispositions/${item.id}`); await load(); } }, "Retire")
        : el("button", { class: "small", onclick: () => save(true) }, "Restore"))));
}

$("#new-disposition").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    await post("/api/dispositions", { name: $("#nd-name").value, requires_follow_up: $("#nd-follow").checked });
    form.reset();
    clearErrors(form, $("#new-disposition-errors"));
    await load();
  } catch (error) {
    showErrors(form, error, $("#new-disposition-errors"));
  }
});

load();
