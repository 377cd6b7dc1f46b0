// @ts-check
/** Engagements: a table with health flags, filters and paging; a row opens the engagement. */

import { gql } from "../api.js";
import { amount, fill, h, panel, table } from "../dom.js";
import { dateField, entityChoices, entityField, filterBar, selectField } from "../filters.js";
import { percent, today } from "../format.js";
import { healthFlags } from "../health.js";

const PAGE = 25;
// gateway/console/graphql: the documents the gateway trusts, by operation name. Invoices
// only feed the health flags: asked for after the table is on screen.
const QUERY = "Engagements";
const INVOICES = "EngagementInvoices";

const MODELS = { TIME_AND_MATERIALS: "T&M", FIXED_FEE: "Fixed fee", MILESTONE: "Milestone" };

/** @param {HTMLElement} main @param {import("../main.js").PageContext} ctx */
export async function render(main, ctx) {
  const q = ctx.query;
  const status = q.get("status") || "ACTIVE";
  const entity = q.get("entity") || "";
  const flagged = q.get("flagged") === "1";
  const after = q.get("after") || null;
  const asOf = q.get("asOf") || today();
  const costs = ctx.viewer.seesCosts;
  const filters = h("div", {});
  const results = h("div", { "aria-busy": "true" }, h("p", { class: "loading" }, "Loading engagements…"));
  fill(main, h("h1", { tabindex: -1 }, "Engagements"), filters, panel("Engagements", results));
  entityChoices(ctx.viewer).then((entities) =>
    fill(
      filters,
      filterBar(
        "Engagement filters",
        [
          selectField("status", "Status", status, [["ACTIVE", "Active"], ["COMPLETED", "Completed"], ["ALL", "All"]]),
          entityField(entities, entity),
          dateField("asOf", "Health as of", asOf),
          h("label", { class: "field check" }, h("input", { type: "checkbox", name: "flagged", value: "1", checked: flagged }), h("span", {}, "Needs attention only")),
        ],
        (query) => ctx.navigate(`/engagements?${query}`),
      ),
    ),
  );

  const variables = { first: PAGE, after, status: status === "ALL" ? null : status, entity: entity || null };
  // In parallel; only the health flags wait for it (a failure there must not fail the page).
  const invoicesLoaded = gql(INVOICES, variables).catch((/** @type {Error} */ error) => error);
  const data = await gql(QUERY, { ...variables, costs });
  const nodes = data.engagements.edges.map((/** @type {any} */ e) => e.node);
  /** @type {Map<string, HTMLElement>} */
  const healthCells = new Map();
  const healthCell = (/** @type {string} */ id) => {
    const cell = h("span", { class: "muted", "aria-busy": "true" }, "…");
    healthCells.set(id, cell);
    return cell;
  };
  const shown = nodes.map((/** @type {any} */ e) => ({ e }));
  const columns = [
    { label: "Engagement" },
    { label: "Customer" },
    { label: "Entity" },
    { label: "Model" },
    { label: "Contract value", num: true },
    { label: "Burn", num: true },
    { label: "Recognized", num: true },
    { label: "Billed", num: true },
    { label: "Unbilled", num: true },
    ...(costs ? [{ label: "Margin %", num: true }] : []),
    { label: "Health" },
  ];
  const rows = shown.map((/** @type {any} */ { e }) => [
    h("a", { href: `/engagements/${encodeURIComponent(e.id)}` }, h("span", { class: "code" }, e.code), " ", e.name),
    e.customer?.name || "—",
    e.legalEntity,
    MODELS[/** @type {keyof typeof MODELS} */ (e.billingModel)] || e.billingModel,
    e.billingModel === "TIME_AND_MATERIALS" ? h("span", { class: "muted" }, "T&M") : amount(e.contractValue),
    percent(e.budget.burnPercent, 0),
    amount(e.revenue?.recognized),
    amount(e.revenue?.billed),
    amount(e.revenue?.unbilled),
    ...(costs ? [e.revenue?.marginPercent ? percent(e.revenue.marginPercent) : "—"] : []),
    healthCell(e.id),
  ]);
  const pageInfo = data.engagements.pageInfo;
  const count = h("span", { class: "muted" }, `${shown.length} shown`);
  const next = new URLSearchParams(q);
  next.set("after", pageInfo.endCursor || "");
  results.removeAttribute("aria-busy");
  const rowIds = shown.map((/** @type {any} */ x) => x.e.id);
  fill(
    results,
    table("Engagements", columns, rows, {
      empty: "No engagements match.",
      rowAttrs: (i) => ({ dataset: { engagement: rowIds[i] } }),
    }),
    h(
      "nav",
      { class: "pager", "aria-label": "Pages of engagements" },
      after ? h("button", { type: "button", onclick: () => history.back() }, "← Previous") : null,
      count,
      pageInfo.hasNextPage ? h("a", { href: `/engagements?${next}`, class: "button" }, "Next →") : null,
    ),
  );
  ctx.ready();

  const invoices = await invoicesLoaded;
  if (invoices instanceof Error) {
    healthCells.forEach((cell) => cell.replaceWith(h("span", { class: "error-text" }, "flags unavailable")));
    return;
  }
  const withInvoices = new Map(invoices.engagements.edges.map((/** @type {any} */ e) => [e.node.id, e.node.invoices]));
  let attention = 0;
  for (const { e } of shown) {
    const flags = healthFlags({ ...e, invoices: withInvoices.get(e.id) || [] }, asOf);
    const cell = /** @type {HTMLElement} */ (healthCells.get(e.id));
    const row = cell.closest("tr");
    if (flags.length) attention += 1;
    else if (flagged && row) row.hidden = true;
    cell.replaceWith(
      flags.length
        ? h("ul", { class: "flags" }, flags.map((f) => h("li", { class: `flag flag-${f.key}`, title: f.detail }, f.label, h("span", { class: "visually-hidden" }, `: ${f.detail}`))))
        : h("span", { class: "ok" }, "OK"),
    );
  }
  if (flagged) fill(count, `${attention} of ${shown.length} on this page need attention`);
  results.dataset.health = "ready";
}
