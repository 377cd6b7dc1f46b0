// @ts-check
/** Integration health: consumer lag, outbox backlog, dead letters (replay, discard), and the
 * panels of connect (integration exceptions, webhooks) once the gateway serves them. */

import { ApiError, gql } from "../api.js";
import { announce, errorBox, fill, h, panel, table } from "../dom.js";
import { time } from "../format.js";

const STATUS = `query IntegrationStatus { integrationStatus { settled
  consumers { stream name pending ackPending redelivered }
  outboxes { service unpublished oldestAgeSeconds }
  deadLetters { service consumer pending replayRequested } } }`;
const DEAD = `query DeadLetters { deadLetters { id service consumer stream subject eventId error deliveries status createdAt } }`;
const REPLAY = `mutation Replay($service: String!, $ids: [ID!]!) { replayDeadLetters(service: $service, ids: $ids) }`;
const DISCARD = `mutation Discard($service: String!, $ids: [ID!]!) { discardDeadLetters(service: $service, ids: $ids) }`;
const REFRESH_MS = 5000;
const AFTER_ACTION_MS = 10000; // refresh every second for a while after a replay or discard

/**
 * Panels that need the connect service (DESIGN.md §7). Each asks for its data; while the
 * gateway does not know the field yet (GRAPHQL_VALIDATION_FAILED), it says so.
 */
const CONNECT_PANELS = [
  {
    title: "Integration exceptions",
    query: "query Exceptions { integrationExceptions(first: 50, status: OPEN) { edges { node { id source externalId reason status } } } }",
    rows: (/** @type {any} */ d) => d.integrationExceptions.edges.map((/** @type {any} */ e) => [e.node.source, e.node.externalId, e.node.reason, e.node.status]),
    columns: ["Source", "External id", "Reason", "Status"],
  },
  {
    title: "Webhook endpoints",
    query: "query Endpoints { webhookEndpoints { id url description } }",
    rows: (/** @type {any} */ d) => d.webhookEndpoints.map((/** @type {any} */ w) => [w.url, w.description || ""]),
    columns: ["URL", "Description"],
  },
];

/** One sentence: is everything where it should be, and if not, where does it wait? @param {any} status */
function summary(status) {
  if (status.settled) return "Settled: every event is where it should be.";
  const sum = (/** @type {any[]} */ rows, /** @type {(r: any) => number} */ f) => rows.reduce((n, r) => n + f(r), 0);
  const waiting = [
    [sum(status.outboxes, (o) => o.unpublished), "unpublished in outboxes"],
    [sum(status.consumers, (c) => c.pending + c.ackPending), "on their way to consumers"],
    [sum(status.deadLetters, (d) => d.pending + d.replayRequested), "dead letters awaiting a decision"],
  ].filter(([n]) => Number(n) > 0);
  return `Not settled: ${waiting.map(([n, what]) => `${n} ${what}`).join(", ") || "events in flight"}.`;
}

/** @param {HTMLElement} main @param {import("../main.js").PageContext} ctx */
export async function render(main, ctx) {
  const v = ctx.viewer;
  if (!v.readsIntegrations) {
    // integrationStatus and dead letters are for admin and finance (DESIGN.md §7).
    fill(
      main,
      h("h1", { tabindex: -1 }, "Integration health"),
      h("p", { class: "hint" }, "Integration health is for admin and finance."),
    );
    ctx.ready();
    return;
  }
  const readsLetters = (v.roles.includes("admin") || v.roles.includes("finance")) && v.entities.includes("*");
  const mayReplay = v.mutations.includes("replayDeadLetters");
  const mayDiscard = v.mutations.includes("discardDeadLetters");
  const settled = h("p", { class: "settled" }, "…");
  const consumers = h("div", {});
  const outboxes = h("div", {});
  const letters = h("div", {});
  const connect = CONNECT_PANELS.map((p) => ({ ...p, box: h("div", {}, h("p", { class: "loading" }, "Loading…")) }));
  fill(
    main,
    h("h1", { tabindex: -1 }, "Integration health"),
    settled,
    h("div", { class: "grid-2" }, panel("Consumer lag", consumers), panel("Outbox backlog", outboxes)),
    panel("Dead letters", letters),
    h("div", { class: "grid-2" }, connect.map((p) => panel(p.title, p.box))),
  );

  let fastUntil = 0;
  const refresh = async () => {
    const status = (await gql(STATUS)).integrationStatus;
    settled.dataset.settled = String(status.settled);
    fill(settled, summary(status));
    fill(
      consumers,
      table(
        "Consumer lag",
        [{ label: "Stream" }, { label: "Consumer" }, { label: "Pending", num: true }, { label: "Unacknowledged", num: true }, { label: "Redelivered", num: true }],
        status.consumers.map((/** @type {any} */ c) => [c.stream, c.name, c.pending, c.ackPending, c.redelivered]),
        { empty: "No consumers yet." },
      ),
    );
    fill(
      outboxes,
      table(
        "Outbox backlog",
        [{ label: "Service" }, { label: "Unpublished", num: true }, { label: "Oldest waiting", num: true }],
        status.outboxes.map((/** @type {any} */ o) => [o.service, o.unpublished, o.unpublished ? `${o.oldestAgeSeconds.toFixed(1)} s` : "—"]),
      ),
    );
    if (!readsLetters) {
      fill(
        letters,
        h("p", { class: "hint" }, "Details and actions are for admin and finance over every entity."),
        table(
          "Dead letters by consumer",
          [{ label: "Service" }, { label: "Consumer" }, { label: "Waiting", num: true }, { label: "Replay requested", num: true }],
          status.deadLetters.map((/** @type {any} */ d) => [d.service, d.consumer, d.pending, d.replayRequested]),
          { empty: "No dead letters." },
        ),
      );
      return;
    }
    const found = (await gql(DEAD)).deadLetters;
    if (letters.querySelector("[data-confirming]")) return; // never wipe an open question
    fill(
      letters,
      table(
        "Dead letters",
        [{ label: "When" }, { label: "Service" }, { label: "Consumer" }, { label: "Subject" }, { label: "Error" }, { label: "Tries", num: true }, { label: "Status" }, ...(mayReplay || mayDiscard ? [{ label: "Action" }] : [])],
        found.map((/** @type {any} */ d) => [
          time(d.createdAt),
          d.service,
          d.consumer,
          // A break opportunity after each dot: long subjects wrap at their parts.
          h("code", {}, d.subject.split(".").flatMap((/** @type {string} */ part, /** @type {number} */ i) => (i ? [".", h("wbr"), part] : [part]))),
          h("span", { class: "error-text" }, d.error.split("\n")[0].slice(0, 200)),
          d.deliveries,
          d.status.replace("_", " "),
          ...(mayReplay || mayDiscard ? [actions(d)] : []),
        ]),
        { empty: "No dead letters.", rowAttrs: (i) => ({ dataset: { deadLetter: found[i].id } }) },
      ),
    );
  };

  /** @param {any} d */
  const actions = (d) => {
    if (d.status !== "pending") return h("span", { class: "muted" }, "queued");
    const box = h("div", { class: "actions" });
    const act = async (/** @type {string} */ mutation, /** @type {string} */ done) => {
      box.querySelectorAll("button").forEach((b) => b.setAttribute("disabled", ""));
      try {
        await gql(mutation, { service: d.service, ids: [d.id] });
        announce(done);
        fastUntil = Date.now() + AFTER_ACTION_MS;
        await refresh();
      } catch (error) {
        fill(box, errorBox(error));
      }
    };
    const confirmDiscard = () => {
      box.dataset.confirming = "true";
      fill(
        box,
        h("span", {}, "Discard for good?"),
        h("button", { type: "button", class: "danger", onclick: () => act(DISCARD, "Dead letter discarded.") }, "Yes, discard"),
        h("button", { type: "button", onclick: () => { delete box.dataset.confirming; fill(box, ...buttons()); } }, "Cancel"),
      );
      /** @type {HTMLElement} */ (box.querySelector("button"))?.focus();
    };
    const buttons = () => [
      mayReplay ? h("button", { type: "button", onclick: () => act(REPLAY, "Replay requested.") }, "Replay") : null,
      mayDiscard ? h("button", { type: "button", class: "secondary", onclick: confirmDiscard }, "Discard") : null,
    ];
    return fill(box, ...buttons());
  };

  await refresh();
  ctx.ready();
  for (const p of connect) {
    gql(p.query)
      .then((data) => fill(p.box, table(p.title, p.columns.map((label) => ({ label })), p.rows(data), { empty: "None." })))
      .catch((error) =>
        fill(
          p.box,
          error instanceof ApiError && error.code === "GRAPHQL_VALIDATION_FAILED"
            ? h("p", { class: "hint" }, "Appears here once the connect service is deployed.")
            : errorBox(error),
        ),
      );
  }
  let busy = false;
  let last = Date.now();
  const timer = window.setInterval(async () => {
    const due = Date.now() < fastUntil || Date.now() - last >= REFRESH_MS;
    if (busy || document.hidden || !due) return;
    busy = true;
    last = Date.now();
    try {
      await refresh();
    } catch {
      // the next tick tries again; the page keeps the last good figures
    } finally {
      busy = false;
    }
  }, 1000);
  ctx.onLeave(() => window.clearInterval(timer));
}
