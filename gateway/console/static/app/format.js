// @ts-check
/** Amounts per currency (never summed across currencies), percentages and dates. */

/** @typedef {{amount: string, currency: string}} Money */

/** @type {Map<string, Intl.NumberFormat>} */
const formatters = new Map();

/** @param {string} currency */
export function moneyFormat(currency) {
  let found = formatters.get(currency);
  if (!found) {
    found = new Intl.NumberFormat(undefined, { style: "currency", currency });
    formatters.set(currency, found);
  }
  return found;
}

/** @type {Map<string, Intl.NumberFormat>} */
const compacts = new Map();

/** Short amounts for chart axes: "€400K". @param {string} currency */
export function compactMoney(currency) {
  let found = compacts.get(currency);
  if (!found) {
    found = new Intl.NumberFormat(undefined, { style: "currency", currency, notation: "compact" });
    compacts.set(currency, found);
  }
  const format = found;
  return (/** @type {number} */ value) => format.format(value);
}

/**
 * The amount in its currency's format; the exact decimal string goes in, so nothing is rounded
 * through a float.
 * @param {Money | null | undefined} m
 */
export function money(m) {
  if (!m) return "—";
  // @ts-ignore: Intl.NumberFormat formats decimal strings exactly (ECMA-402 2023)
  return moneyFormat(m.currency).format(m.amount);
}

/** A money cell: formatted text, with the exact amount for tests and copy-paste. @param {Money|null|undefined} m */
export function moneyData(m) {
  return m ? { amount: m.amount, currency: m.currency } : {};
}

/** @param {string|number|null|undefined} value @param {number} [digits] */
export function percent(value, digits = 1) {
  if (value === null || value === undefined || value === "") return "—";
  return `${Number(value).toFixed(digits)} %`;
}

/** @param {string|number|null|undefined} value */
export function hours(value) {
  if (value === null || value === undefined || value === "") return "—";
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(Number(value));
}

const dates = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const times = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A calendar date (YYYY-MM-DD). @param {string|null|undefined} iso */
export function date(iso) {
  return iso ? dates.format(new Date(`${iso}T00:00:00Z`)) : "—";
}

/** An instant, in the reader's time zone. @param {string} iso */
export function time(iso) {
  return times.format(new Date(iso));
}

/** Today as YYYY-MM-DD (the reader's calendar). */
export function today() {
  const now = new Date();
  return isoDate(new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())));
}

/** @param {Date} d a UTC midnight */
export function isoDate(d) {
  return d.toISOString().slice(0, 10);
}

/** The last day of the month `offset` months from the month of iso. @param {string} iso @param {number} offset */
export function monthEnd(iso, offset) {
  const [y, m] = iso.split("-").map(Number);
  return isoDate(new Date(Date.UTC(y, m + offset, 0)));
}

/** "Oct 2026" for YYYY-MM-DD. @param {string} iso */
export function monthLabel(iso) {
  return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" }).format(
    new Date(`${iso}T00:00:00Z`),
  );
}

/** "weftwork.project.time_entry.approved.v1" → "project · time entry approved". @param {string} type */
export function eventName(type) {
  const parts = type.split(".");
  if (parts.length < 5) return type;
  return `${parts[1]} · ${parts.slice(2, -1).join(" ").replaceAll("_", " ")}`;
}
