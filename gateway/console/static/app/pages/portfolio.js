// @ts-check
/** Portfolio: per currency backlog, recognized, billed, unbilled, deferred, margin; aging; by month. */

import { gql } from "../api.js";
import { barChart } from "../charts.js";
import { amount, errorBox, fill, h, panel } from "../dom.js";
import { entityChoices, entityField, dateField, filterBar } from "../filters.js";
import { compactMoney, moneyFormat, monthEnd, monthLabel, today } from "../format.js";

// gateway/console/graphql: the documents the gateway trusts, by operation name.
const QUERY = "Portfolio";
// Cumulative recognized and billed at each month end ($d0 … $d6); the chart shows each month's
// increase.
const MONTHS = 6;
const BY_MONTH = "PortfolioByMonth";

const FIGURES = [
  ["backlog", "Backlog", "Contract value not yet recognized"],
  ["recognized", "Recognized", "Revenue recognized to date"],
  ["billed", "Billed", "Invoiced, excluding tax"],
  ["unbilled", "Unbilled", "Recognized, not yet invoiced"],
  ["deferred", "Deferred", "Invoiced ahead of recognition"],
  ["margin", "Margin", "Recognized less cost"],
];
const BUCKETS = [
  ["current", "Current"],
  ["overdue1To30", "1–30 days"],
  ["overdue31To60", "31–60 days"],
  ["overdue61To90", "61–90 days"],
  ["overdueOver90", "Over 90 days"],
];

/** @param {HTMLElement} main @param {import("../main.js").PageContext} ctx */
export async function render(main, ctx) {
  const asOf = ctx.query.get("asOf") || today();
  const entity = ctx.query.get("entity") || "";
  const costs = ctx.viewer.seesCosts;
  const figures = h("div", { class: "currencies", "aria-busy": "true" }, h("p", { class: "loading" }, "Loading figures…"));
  const aging = h("div", { class: "charts" });
  const months = h("div", { class: "charts" }, h("p", { class: "loading" }, "Loading months…"));
  const filters = h("div", {});
  fill(
    main,
    h("h1", { tabindex: -1 }, "Portfolio"),
    filters,
    panel("By currency", h("p", { class: "hint" }, "Currencies are never added together."), figures),
    panel("Receivables aging", aging),
    panel("Recognized vs billed by month", months),
  );
  /** @type {Array<() => void>} */
  const charts = [];
  ctx.onLeave(() => charts.forEach((destroy) => destroy()));
  entityChoices(ctx.viewer).then((entities) =>
    fill(
      filters,
      filterBar(
        "Portfolio filters",
        [dateField("asOf", "As of", asOf), entityField(entities, entity)],
        (q) => ctx.navigate(`/?${q}`),
      ),
    ),
  );

  const data = await gql(QUERY, { asOf, entity: entity || null, costs });
  const rows = data.portfolio.byCurrency;
  figures.removeAttribute("aria-busy");
  fill(
    figures,
    rows.length ? null : h("p", { class: "empty" }, "No engagements in scope."),
    rows.map((/** @type {any} */ row) =>
      h(
        "section",
        { class: "currency", "aria-label": `${row.currency} figures`, dataset: { currency: row.currency } },
        h("h3", {}, row.currency, h("span", { class: "muted" }, ` · ${row.engagements} engagements`)),
        h(
          "dl",
          { class: "figures" },
          FIGURES.filter(([key]) => key !== "margin" || costs).map(([key, label, help]) =>
            h("div", { class: "figure-tile", dataset: { figure: key } }, h("dt", { title: help }, label), h("dd", {}, amount(row[key]))),
          ),
        ),
      ),
    ),
  );
  for (const row of rows) {
    const buckets = row.receivablesAging;
    if (!buckets) continue;
    const chart = barChart({
      title: `${row.currency} receivables by days past due (total ${moneyFormat(row.currency).format(buckets.total.amount)})`,
      labels: BUCKETS.map(([, label]) => label),
      series: [{ label: "Open balance", values: BUCKETS.map(([key]) => Number(buckets[key].amount)) }],
      format: (v) => moneyFormat(row.currency).format(v),
      tick: compactMoney(row.currency),
    });
    charts.push(chart.destroy);
    aging.append(chart.element);
  }
  if (!aging.childElementCount) aging.append(h("p", { class: "empty" }, "No open receivables."));
  ctx.ready();

  try {
    const ends = Array.from({ length: MONTHS + 1 }, (_, i) => (i === MONTHS ? asOf : monthEnd(asOf, i - MONTHS)));
    /** @type {Record<string, unknown>} */
    const variables = { entity: entity || null };
    ends.forEach((d, i) => (variables[`d${i}`] = d));
    const history = await gql(BY_MONTH, variables);
    fill(months);
    for (const row of rows) {
      /** @param {number} i @param {"recognized"|"billed"} field */
      const at = (i, field) => {
        const found = history[`m${i}`].byCurrency.find((/** @type {any} */ c) => c.currency === row.currency);
        return found ? Number(found[field].amount) : 0;
      };
      const span = Array.from({ length: MONTHS }, (_, i) => i + 1);
      const chart = barChart({
        title: `${row.currency} recognized vs billed, by month`,
        labels: span.map((i) => monthLabel(ends[i])),
        series: [
          { label: "Recognized", values: span.map((i) => at(i, "recognized") - at(i - 1, "recognized")) },
          { label: "Billed", values: span.map((i) => at(i, "billed") - at(i - 1, "billed")) },
        ],
        format: (v) => moneyFormat(row.currency).format(v),
        tick: compactMoney(row.currency),
      });
      charts.push(chart.destroy);
      months.append(chart.element);
    }
  } catch (error) {
    fill(months, errorBox(error));
  }
}
