// Small DOM and formatting helpers shared by every page (no framework).

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Build an element: el("td", {class: "x", dataset: {id: 1}, onclick: fn}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function pageData() {
  const node = document.getElementById("page-data");
  return node ? JSON.parse(node.textContent) : {};
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function secondsSince(iso, now = Date.now()) {
  return iso ? (now - Date.parse(iso)) / 1000 : null;
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }) + " " +
    d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function toast(text, kind = "info") {
  const area = document.getElementById("toasts");
  if (!area) return;
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  area.append(node);
  setTimeout(() => node.remove(), 5000);
}

/** A banner that stays until cleared: banner("sip", "Phone connection lost", "error"). */
export function banner(key, text, kind = "warn") {
  const area = document.getElementById("banners");
  if (!area) return;
  let node = area.querySelector(`[data-banner="${key}"]`);
  if (!text) { node?.remove(); return; }
  if (!node) {
    node = el("div", { class: `message ${kind}`, dataset: { banner: key, testid: `banner-${key}` }, role: "alert" });
    area.append(node);
  }
  node.className = `message ${kind}`;
  node.textContent = text;
}

/** Show an API error's field messages next to the form's inputs (by name) and in `summary`. */
export function showErrors(form, error, summary) {
  for (const node of $$(".invalid", form)) node.classList.remove("invalid");
  const fields = error?.fields || {};
  const lines = [];
  for (const [name, message] of Object.entries(fields)) {
    const input = form?.querySelector(`[name="${CSS.escape(name.split(".")[0])}"]`);
    if (input) input.classList.add("invalid");
    lines.push(`${name}: ${message}`);
  }
  if (!lines.length && error) lines.push(error.message || String(error));
  if (summary) summary.textContent = lines.join(" · ");
}

export function clearErrors(form, summary) {
  for (const node of $$(".invalid", form)) node.classList.remove("invalid");
  if (summary) summary.textContent = "";
}

/**
 * Fill a settings form from the server without losing what the user types: its fields stay
 * disabled (aria-busy) until `load` has run, so an answer arriving late (the page's other
 * requests queue ahead of it) cannot overwrite an edit. Call it synchronously at mount.
 */
export async function loadInto(form, load) {
  const fields = Array.from(form.elements).filter((field) => !field.disabled);
  for (const field of fields) field.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    await load();
  } finally {
    for (const field of fields) field.disabled = false;
    form.removeAttribute("aria-busy");
  }
}
