// @ts-check
/** Building the page from data: text is always set as text, never parsed as HTML. */

import { money } from "./format.js";

/**
 * An element with attributes, listeners (on…) and children (strings, nodes, null skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined|false|Array<Node|string|null|undefined|false>)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = String(value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {any[]} children */
function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. @param {Element} el @param {...any} children */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A table in a focusable, scrollable region (keyboard users can scroll it sideways on a phone).
 * @param {string} label
 * @param {Array<{label: string, num?: boolean}>} columns
 * @param {Array<Array<Node|string|number|null>>} rows
 * @param {{empty?: string, caption?: string, rowAttrs?: (index: number) => Record<string, any>}} [options]
 */
export function table(label, columns, rows, options = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
  const body = rows.length
    ? rows.map((cells, index) =>
        h(
          "tr",
          options.rowAttrs ? options.rowAttrs(index) : {},
          cells.map((cell, i) => h("td", { class: columns[i]?.num ? "num" : null, "data-label": columns[i]?.label || null }, cell)),
        ),
      )
    : [h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, options.empty || "Nothing to show."))];
  return h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": label, tabindex: 0 },
    h("table", {}, options.caption ? h("caption", {}, options.caption) : null, h("thead", {}, head), h("tbody", {}, body)),
  );
}

/** A titled section of a page. @param {string} title @param {...any} children */
export function panel(title, ...children) {
  const id = "p-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/** Announce to screen readers (the status region). @param {string} message */
export function announce(message) {
  const status = document.getElementById("status");
  if (status) status.textContent = message;
}

/** A page's error, in words. @param {unknown} error */
export function errorBox(error) {
  const message = error instanceof Error ? error.message : String(error);
  return h("p", { class: "error", role: "alert" }, message);
}

/** An amount in its currency, carrying the exact decimal. @param {{amount: string, currency: string}|null|undefined} m */
export function amount(m) {
  return m
    ? h("span", { class: "amount", dataset: { amount: m.amount, currency: m.currency } }, money(m))
    : h("span", { class: "muted" }, "—");
}
