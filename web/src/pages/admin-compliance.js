// Admin: compliance settings (calling hours in the callee's zone, attempts and retry delays,
// do-not-call dispositions, the per-number callback cap) and a number's check.
import { get, put } from "../api.js";
import { $, clearErrors, el, showErrors, toast } from "../ui.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function fill(settings) {
  const hours = settings.hours;
  $("#co-hours-on").checked = !!hours;
  if (hours) {
    $("#co-start").value = hours.start;
    $("#co-end").value = hours.end;
  }
  const days = new Set(hours ? hours.days : DAYS);
  $("#co-days").replaceChildren(el("legend", {}, "Days"), ...DAYS.map((d) => el("label", { class: "inline" },
    el("input", { type: "checkbox", value: d, checked: days.has(d), "data-testid": `day-${d}` }), ` ${d}`)));
  $("#co-zone").value = settings.fallback_zone;
  $("#co-region").value = settings.region;
  $("#co-max").value = settings.max_attempts;
  $("#co-cap").value = settings.callback_daily_cap ?? "";
  $("#co-busy").value = settings.retry_minutes.busy;
  $("#co-noanswer").value = settings.retry_minutes["no-answer"];
  $("#co-machine").value = settings.retry_minutes.machine;
  $("#co-dnc").value = settings.dnc_dispositions.join(", ");
}

function body() {
  const days = [...document.querySelectorAll("#co-days input:checked")].map((i) => i.value);
  const cap = $("#co-cap").value.trim();
  return {
    hours: $("#co-hours-on").checked ? { start: $("#co-start").value, end: $("#co-end").value, days } : null,
    fallback_zone: $("#co-zone").value.trim(),
    region: $("#co-region").value.trim(),
    max_attempts: Number($("#co-max").value),
    retry_minutes: { busy: Number($("#co-busy").value), "no-answer": Number($("#co-noanswer").value), machine: Number($("#co-machine").value) },
    dnc_dispositions: $("#co-dnc").value.split(",").map((s) => s.trim()).filter(Boolean),
    callback_daily_cap: cap ? Number(cap) : null,
  };
}

$("#compliance-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    const reply = await put("/api/compliance/settings", body());
    clearErrors(form, $("#compliance-errors"));
    fill(reply.settings);
    toast("Compliance settings saved");
  } catch (error) {
    showErrors(form, error, $("#compliance-errors"));
  }
});

$("#check-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const reply = await get(`/api/compliance/check?number=${encodeURIComponent($("#ck-number").value.trim())}`);
    $("#check-result").textContent = `${reply.allowed ? "Allowed" : "Refused"}: ${reply.message}`;
  } catch (error) {
    $("#check-result").textContent = error.message;
  }
});

// The fields stay disabled until filled in: a change made before would be overwritten.
get("/api/compliance/settings").then((reply) => {
  fill(reply.settings);
  $("#compliance-fields").disabled = false;
}, (error) => {
  $("#compliance-errors").textContent = `The settings could not be read: ${error.message}`;
});
