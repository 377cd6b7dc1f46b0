// @ts-check
/** Utilization: billable hours over capacity per person, and the bench. */

import { gql } from "../api.js";
import { barChart } from "../charts.js";
import { fill, h, panel, table } from "../dom.js";
import { dateField, entityChoices, entityField, filterBar } from "../filters.js";
import { hours, monthEnd, percent, today } from "../format.js";

const QUERY = "Utilization"; // gateway/console/graphql/Utilization.graphql
// Below this billable share a person is on the bench: available for new work.
const BENCH_BELOW = 50;

/** @param {HTMLElement} main @param {import("../main.js").PageContext} ctx */
export async function render(main, ctx) {
  const to = ctx.query.get("to") || today();
  const from = ctx.query.get("from") || monthEnd(to, -3).replace(/\d\d$/, "01");
  const entity = ctx.query.get("entity") || "";
  const filters = h("div", {});
  const chartBox = h("div", { class: "charts" }, h("p", { class: "loading" }, "Loading people…"));
  const benchBox = h("div", {});
  const tableBox = h("div", {});
  fill(
    main,
    h("h1", { tabindex: -1 }, "Utilization"),
    filters,
    h("div", { class: "grid-2 wide-left" }, panel("Billable utilization", chartBox), panel("The bench", benchBox)),
    panel("People", tableBox),
  );
  entityChoices(ctx.viewer).then((entities) =>
    fill(
      filters,
      filterBar(
        "Utilization filters",
        [dateField("from", "From", from), dateField("to", "To", to), entityField(entities, entity)],
        (q) => ctx.navigate(`/utilization?${q}`),
      ),
    ),
  );
  const people = (await gql(QUERY, { from, to, entity: entity || null })).utilization;
  const sorted = [...people].sort((a, b) => Number(b.utilizationPercent) - Number(a.utilizationPercent));
  const chart = barChart({
    title: `Billable hours as % of capacity, ${from} to ${to}`,
    labels: sorted.map((p) => p.name),
    series: [{ label: "Billable %", values: sorted.map((p) => Number(p.utilizationPercent)) }],
    format: (v) => percent(v, 0),
    horizontal: true,
  });
  ctx.onLeave(chart.destroy);
  fill(chartBox, sorted.length ? chart.element : h("p", { class: "empty" }, "Nobody in scope."));
  const bench = sorted.filter((p) => Number(p.utilizationPercent) < BENCH_BELOW).reverse();
  fill(
    benchBox,
    h("p", { class: "hint" }, `People under ${BENCH_BELOW} % billable in the period, least utilized first.`),
    bench.length
      ? h("ul", { class: "bench" }, bench.map((p) => h("li", {}, h("span", {}, p.name), h("span", { class: "muted" }, ` ${p.homeEntity} · ${percent(p.utilizationPercent, 0)}`))))
      : h("p", { class: "empty" }, "Nobody is on the bench."),
  );
  fill(
    tableBox,
    table(
      "People",
      [
        { label: "Person" },
        { label: "Home entity" },
        { label: "Capacity h", num: true },
        { label: "Approved h", num: true },
        { label: "Billable h", num: true },
        { label: "Billable %", num: true },
      ],
      sorted.map((p) => [p.name, p.homeEntity, hours(p.capacityHours), hours(p.approvedHours), hours(p.billableHours), percent(p.utilizationPercent)]),
    ),
  );
  ctx.ready();
}
