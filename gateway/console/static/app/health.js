// @ts-check
/** Health flags of an engagement, from what the API returns (DESIGN.md §8). */

const BURN_MARGIN = 15; // percentage points of budget burned ahead of the work completed
const UNBILLED_DAYS = 45; // unbilled work with no invoice issued for this long is old

/** Days between two YYYY-MM-DD dates. @param {string} from @param {string} to */
function days(from, to) {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000;
}

/**
 * How complete the work is, in %: the completed share of milestone amounts where there are
 * milestones, else the share of the engagement's dates elapsed.
 * @param {any} e @param {string} asOf
 * @returns {number | null}
 */
export function completion(e, asOf) {
  const total = (e.milestones || []).reduce((/** @type {number} */ s, /** @type {any} */ m) => s + Number(m.amount.amount), 0);
  if (total > 0) {
    const done = e.milestones.filter((/** @type {any} */ m) => m.status === "COMPLETED");
    return (100 * done.reduce((/** @type {number} */ s, /** @type {any} */ m) => s + Number(m.amount.amount), 0)) / total;
  }
  if (!e.startDate || !e.endDate) return null;
  const span = days(e.startDate, e.endDate);
  return span > 0 ? Math.max(0, Math.min(100, (100 * days(e.startDate, asOf)) / span)) : null;
}

/**
 * @typedef {{key: string, label: string, detail: string}} Flag
 * @param {any} e an engagement with budget, milestones, invoices and revenue
 * @param {string} asOf YYYY-MM-DD
 * @returns {Flag[]}
 */
export function healthFlags(e, asOf) {
  /** @type {Flag[]} */
  const flags = [];
  const burn = e.budget?.burnPercent === null || e.budget?.burnPercent === undefined ? null : Number(e.budget.burnPercent);
  const done = completion(e, asOf);
  if (burn !== null && done !== null && burn - done > BURN_MARGIN) {
    flags.push({ key: "burn", label: "Burn ahead", detail: `${burn.toFixed(0)} % of budget burned, ${done.toFixed(0)} % complete` });
  }
  const overdue = (e.invoices || []).filter(
    (/** @type {any} */ i) =>
      (i.status === "ISSUED" || i.status === "PARTIALLY_PAID") && i.dueDate && i.dueDate < asOf && Number(i.balance.amount) > 0,
  );
  if (overdue.length) {
    flags.push({ key: "overdue", label: "Overdue", detail: `${overdue.length} invoice${overdue.length > 1 ? "s" : ""} past due` });
  }
  const unbilled = Number(e.revenue?.unbilled?.amount || 0);
  if (unbilled > 0) {
    const issued = (e.invoices || []).map((/** @type {any} */ i) => i.issueDate).filter(Boolean).sort();
    const since = issued.length ? issued[issued.length - 1] : e.startDate;
    if (since && days(since, asOf) > UNBILLED_DAYS) {
      flags.push({ key: "unbilled", label: "Old unbilled", detail: `work unbilled, last invoice ${Math.round(days(since, asOf))} days ago` });
    }
  }
  return flags;
}
