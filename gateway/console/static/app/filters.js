// @ts-check
/** Page filters kept in the address (linkable, back/forward work): dates, entity, status. */

import { gql } from "./api.js";
import { h } from "./dom.js";

const ENTITIES_KEY = "weftwork.entities";

/**
 * The legal entities the viewer may filter by: their token's, or (for "*") those engagements
 * are booked in.
 * @param {{entities: string[]}} viewer
 * @returns {Promise<string[]>}
 */
export async function entityChoices(viewer) {
  if (!viewer.entities.includes("*")) return viewer.entities;
  const kept = sessionStorage.getItem(ENTITIES_KEY);
  if (kept) return JSON.parse(kept);
  const data = await gql("Entities");
  const found = [...new Set(data.engagements.edges.map((/** @type {any} */ e) => e.node.legalEntity))].sort();
  sessionStorage.setItem(ENTITIES_KEY, JSON.stringify(found));
  return /** @type {string[]} */ (found);
}

/**
 * A filter bar: its fields, submitted into the address (and so into the page).
 * @param {string} label
 * @param {HTMLElement[]} fields
 * @param {(query: URLSearchParams) => void} apply
 */
export function filterBar(label, fields, apply) {
  const form = h(
    "form",
    {
      class: "filters",
      "aria-label": label,
      onsubmit: (/** @type {SubmitEvent} */ event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const [key, value] of new FormData(/** @type {HTMLFormElement} */ (event.target))) {
          if (value) query.set(key, String(value));
        }
        apply(query);
      },
    },
    ...fields,
    h("button", { type: "submit" }, "Apply"),
  );
  return form;
}

/** @param {string} name @param {string} label @param {string} value @param {Record<string, any>} [attrs] */
export function dateField(name, label, value, attrs = {}) {
  return h("label", { class: "field" }, h("span", {}, label), h("input", { type: "date", name, value, required: true, ...attrs }));
}

/**
 * @param {string} name @param {string} label @param {string} value
 * @param {Array<[string, string]>} options value, text
 */
export function selectField(name, label, value, options) {
  return h(
    "label",
    { class: "field" },
    h("span", {}, label),
    h("select", { name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))),
  );
}

/** @param {string[]} entities @param {string} value */
export function entityField(entities, value) {
  return selectField("entity", "Legal entity", value, [["", "All entities"], ...entities.map((e) => /** @type {[string, string]} */ ([e, e]))]);
}
