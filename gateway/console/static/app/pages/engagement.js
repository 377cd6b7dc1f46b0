// @ts-check
/** One engagement: terms, budget burn, milestones, invoices, revenue and its live timeline. */

import { gql } from "../api.js";
import { barChart } from "../charts.js";
import { amount, errorBox, fill, h, panel, table } from "../dom.js";
import { date, eventName, hours, percent, time, today } from "../format.js";
import { completion, healthFlags } from "../health.js";
import { subscribe } from "../live.js";

// gateway/console/graphql: the documents the gateway trusts, by operation name.
const QUERY = "Engagement";
const LIVE = "EngagementEvents";
const TIMELINE = "Timeline";
const MODELS = { TIME_AND_MATERIALS: "Time and materials", FIXED_FEE: "Fixed fee", MILESTONE: "Milestone" };

/** @param {HTMLElement} main @param {import("../main.js").PageContext} ctx */
export async function render(main, ctx) {
  const id = ctx.params.id;
  const costs = ctx.viewer.seesCosts;
  const heading = h("h1", { tabindex: -1 }, "Engagement");
  fill(main, h("p", { class: "crumbs" }, h("a", { href: "/engagements" }, "← Engagements")), heading, h("p", { class: "loading" }, "Loading engagement…"));
  // The timeline (three services' lineage) is asked for in parallel and drawn when it comes.
  const timelineLoaded = gql(TIMELINE, { id }).catch((/** @type {Error} */ error) => error);
  const data = await gql(QUERY, { id, costs });
  const e = data.engagement;
  if (!e) {
    fill(main, heading, h("p", {}, "No such engagement, or it is outside your legal entities."), h("a", { href: "/engagements" }, "All engagements"));
    ctx.ready();
    return;
  }
  fill(heading, h("span", { class: "code" }, e.code), " ", e.name);
  document.title = `${e.code} · Weftwork`;
  const flags = healthFlags(e, today());
  const live = h("span", { class: "live", dataset: { live: "connecting" } }, "Connecting…");
  const timelineList = h("ol", { class: "timeline", "aria-label": "Events, newest first", tabindex: 0, "aria-busy": "true" });
  /** @type {Map<string, any>} */
  const events = new Map();
  /** @param {any[]} found @param {boolean} fresh */
  const addEvents = (found, fresh) => {
    for (const event of found) {
      if (events.has(event.id)) continue;
      events.set(event.id, event);
      const item = h(
        "li",
        { class: fresh ? "event fresh" : "event", dataset: { type: event.type, id: event.id, actor: event.actor || "" } },
        h("time", { datetime: event.time }, time(event.time)),
        h("span", { class: "event-name" }, eventName(event.type)),
        h("span", { class: "muted" }, `${event.source.replace("/weftwork/", "")} · v${event.aggregateVersion}${event.published ? "" : " · waiting in outbox"}`),
        // Who did the step (the audit trail's actor); an event-driven one names whom it was for.
        event.actor ? h("span", { class: "muted actor" }, `by ${event.actor}${event.onBehalfOf ? ` for ${event.onBehalfOf}` : ""}`) : null,
      );
      // Newest first: insert before the first older event.
      const older = [...timelineList.children].find((li) => {
        const t = li.querySelector("time")?.getAttribute("datetime") || "";
        return t < event.time;
      });
      timelineList.insertBefore(item, older || null);
    }
    count.textContent = `${events.size} events`;
  };
  const count = h("span", { class: "muted" }, "Loading events…");

  const rev = e.revenue;
  const burnChart = barChart({
    title: "Budget burn against completion",
    labels: ["Budget hours burned", "Work complete", ...(rev?.percentComplete ? ["Percent complete (revenue)"] : [])],
    series: [
      {
        label: "Percent",
        values: [
          Number(e.budget.burnPercent || 0),
          completion(e, today()) || 0,
          ...(rev?.percentComplete ? [Number(rev.percentComplete) * (Number(rev.percentComplete) <= 1 ? 100 : 1)] : []),
        ],
      },
    ],
    format: (v) => percent(v, 0),
    horizontal: true,
    height: 160,
  });
  ctx.onLeave(burnChart.destroy);

  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "/engagements" }, "← Engagements")),
    heading,
    h(
      "p",
      { class: "subtitle" },
      e.customer?.name || "—",
      ` · ${e.legalEntity} · ${MODELS[/** @type {keyof typeof MODELS} */ (e.billingModel)] || e.billingModel} · `,
      h("span", { class: `status status-${e.status.toLowerCase()}` }, e.status.toLowerCase()),
      flags.length ? h("ul", { class: "flags inline" }, flags.map((f) => h("li", { class: `flag flag-${f.key}`, title: f.detail }, `${f.label}: ${f.detail}`))) : null,
    ),
    h(
      "div",
      { class: "grid-2" },
      panel(
        "Terms",
        h(
          "dl",
          { class: "terms" },
          term("Contract value", e.billingModel === "TIME_AND_MATERIALS" ? "time and materials, at the rate card" : amount(e.contractValue)),
          term("Dates", `${date(e.startDate)} – ${date(e.endDate)}`),
          term("Budget", e.budget.hours ? `${hours(e.budget.hours)} h` : "—"),
          term("Payment terms", `${e.paymentTermsDays} days`),
          term("Expense markup", percent(e.expenseMarkupPercent, 0)),
          term("Opportunity", `${e.opportunity.system} ${e.opportunity.externalId}`),
          term("Set up in", ["project", "billing", "revenue"].filter((s) => e.setup[s]).join(", ")),
        ),
        table(
          "Rate card",
          [{ label: "Role" }, { label: "Bill rate", num: true }, ...(costs ? [{ label: "Cost rate", num: true }] : [])],
          e.rateCard.map((/** @type {any} */ r) => [
            r.role,
            amount({ amount: r.billRate, currency: e.currency }),
            ...(costs ? [amount({ amount: r.costRate, currency: e.currency })] : []),
          ]),
        ),
      ),
      panel(
        "Revenue position",
        rev
          ? h(
              "dl",
              { class: "figures" },
              tile("Recognized", amount(rev.recognized)),
              tile("Billed", amount(rev.billed)),
              tile("Unbilled", amount(rev.unbilled)),
              tile("Deferred", amount(rev.deferred)),
              costs ? tile("Cost", amount(rev.cost)) : null,
              costs ? tile("Margin", h("span", {}, amount(rev.margin), rev.marginPercent ? ` (${percent(rev.marginPercent)})` : "")) : null,
            )
          : h("p", { class: "empty" }, "Revenue has not set this engagement up yet."),
        h("h3", {}, "Budget burn"),
        h("p", { class: "hint" }, `${hours(e.budget.approvedHours)} h approved${e.budget.hours ? ` of ${hours(e.budget.hours)} h` : ""}.`),
        burnChart.element,
      ),
    ),
    panel(
      "Milestones",
      table(
        "Milestones",
        [{ label: "Milestone" }, { label: "Amount", num: true }, { label: "Due" }, { label: "Status" }, { label: "Completed" }],
        e.milestones.map((/** @type {any} */ m) => [m.name, amount(m.amount), date(m.dueDate), m.status.toLowerCase(), date(m.completedOn)]),
        { empty: "No milestones." },
      ),
    ),
    panel(
      "Invoices",
      table(
        "Invoices",
        [{ label: "Number" }, { label: "Status" }, { label: "Issued" }, { label: "Due" }, { label: "Total", num: true }, { label: "Balance", num: true }],
        e.invoices.map((/** @type {any} */ i) => [
          i.number || "draft",
          i.status.toLowerCase().replace("_", " ") + (i.creditNoteNumber ? ` (${i.creditNoteNumber})` : ""),
          date(i.issueDate),
          date(i.dueDate),
          amount(i.total),
          amount(i.balance),
        ]),
        { empty: "Nothing billed yet." },
      ),
    ),
    panel("Timeline", h("p", { class: "timeline-head" }, live, " ", count), timelineList),
  );
  ctx.ready();

  let left = false;
  ctx.onLeave(() => (left = true));
  const past = await timelineLoaded;
  if (left) return; // the reader moved on: no socket for a page that is gone
  if (past instanceof Error) timelineList.before(errorBox(past));
  else addEvents(past.engagement?.timeline || [], false);
  timelineList.removeAttribute("aria-busy");
  const refetch = async () => addEvents((await gql(TIMELINE, { id })).engagement?.timeline || [], true);
  const stop = subscribe(LIVE, { id }, {
    next: (payload) => addEvents([payload.engagementEvents], true),
    state: (s) => {
      live.dataset.live = s;
      live.textContent = s === "live" ? "Live" : s === "connecting" ? "Connecting…" : "Offline, reconnecting";
      // Live events are at most once: what happened before the socket listened (or while it
      // was down) comes from the timeline.
      if (s === "live") refetch().catch(() => {});
    },
  });
  ctx.onLeave(stop);
}

/** @param {string} label @param {any} value */
function term(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

/** @param {string} label @param {any} value */
function tile(label, value) {
  return h("div", { class: "figure-tile" }, h("dt", {}, label), h("dd", {}, value));
}
