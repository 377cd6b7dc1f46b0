// @ts-check
/** Integration health: consumer lag, outbox backlog, dead letters (replay, discard), and
 * connect's integration exceptions (retry, dismiss) and webhook endpoints (replay failed). */

import { ApiError, gql } from "../api.js";
import { announce, errorBox, fill, h, panel, table } from "../dom.js";
import { time } from "../format.js";

// gateway/console/graphql: the documents the gateway trusts, by operation name.
const STATUS = "IntegrationStatus";
const DEAD = "DeadLetters";
const REPLAY = "Replay";
const DISCARD = "Discard";
const REFRESH_MS = 5000;
const AFTER_ACTION_MS = 10000; // refresh every second for a while after a replay or discard

// Connect (DESIGN.md §7): integration exceptions (retry, dismiss), webhook endpoints and their
// FAILED deliveries (replay).
const EXCEPTIONS = "IntegrationExceptions";
const RETRY_EXCEPTION = "RetryException";
const DISMISS_EXCEPTION = "DismissException";
const ENDPOINTS = "WebhookEndpoints";
const FAILED = "FailedDeliveries";
const REPLAY_DELIVERIES = "ReplayDeliveries";
const REPLAY_DAYS = 30; // "Replay failed" makes again the FAILED deliveries of the last 30 days

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
  const mayRetry = v.mutations.includes("retryIntegrationException");
  const mayDismiss = v.mutations.includes("dismissIntegrationException");
  const mayReplayDeliveries = v.mutations.includes("replayWebhookDeliveries");
  const loading = () => h("div", { "aria-busy": "true" }, h("p", { class: "loading" }, "Loading…"));
  const exceptions = loading();
  const endpoints = loading();
  fill(
    main,
    h("h1", { tabindex: -1 }, "Integration health"),
    settled,
    h("div", { class: "grid-2" }, panel("Consumer lag", consumers), panel("Outbox backlog", outboxes)),
    panel("Dead letters", letters),
    panel("Integration exceptions", exceptions),
    panel("Webhook endpoints", endpoints),
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

  /** Connect's panels; while the gateway does not know them yet, or connect is down, they say so. */
  const connectProblem = (/** @type {HTMLElement} */ box, /** @type {unknown} */ error) => {
    box.removeAttribute("aria-busy");
    fill(
      box,
      error instanceof ApiError && error.code === "GRAPHQL_VALIDATION_FAILED"
        ? h("p", { class: "hint" }, "Appears here once the connect service is deployed.")
        : errorBox(error),
    );
  };

  const refreshExceptions = async () => {
    let data;
    try {
      data = await gql(EXCEPTIONS);
    } catch (error) {
      if (!exceptions.querySelector("[data-confirming]")) connectProblem(exceptions, error);
      return;
    }
    if (exceptions.querySelector("[data-confirming]")) return; // never wipe a reason being typed
    /** @type {any[]} */
    const open = data.open.edges.map((/** @type {any} */ e) => e.node);
    const openIds = new Set(open.map((x) => x.id));
    // OPEN first (all of them, up to 50), then the latest settled ones.
    const rows = [...open, ...data.recent.edges.map((/** @type {any} */ e) => e.node).filter((/** @type {any} */ x) => !openIds.has(x.id))];
    const acting = mayRetry || mayDismiss;
    exceptions.removeAttribute("aria-busy");
    fill(
      exceptions,
      h(
        "p",
        { class: "settled", dataset: { settled: String(open.length === 0), open: String(open.length) } },
        open.length ? `${open.length}${data.open.pageInfo.hasNextPage ? "+" : ""} open: each needs a retry or a decision.` : "No open exceptions.",
      ),
      table(
        "Integration exceptions",
        [{ label: "When" }, { label: "Source" }, { label: "External id" }, { label: "Reason" }, { label: "Status" }, ...(acting ? [{ label: "Action" }] : [])],
        rows.map((x) => [
          x.createdAt ? time(x.createdAt) : "—",
          x.source,
          x.externalId ? h("code", {}, x.externalId) : h("span", { class: "muted" }, "—"),
          h("span", { class: "error-text" }, x.reason.split("\n")[0].slice(0, 300)),
          h("span", { class: "status" }, x.status, x.dismissReason ? h("span", { class: "muted" }, ` (${x.dismissReason})`) : null),
          ...(acting ? [exceptionActions(x)] : []),
        ]),
        { empty: "No integration exceptions.", rowAttrs: (i) => ({ dataset: { exception: rows[i].id, status: rows[i].status } }) },
      ),
    );
  };

  /** Retry, or Dismiss with a reason typed in place (no dialog, no inline script). @param {any} x */
  const exceptionActions = (x) => {
    if (x.status !== "OPEN") return h("span", { class: "muted" }, x.status === "RETRIED" ? "queued" : "—");
    const box = h("div", { class: "actions" });
    const act = async (/** @type {string} */ mutation, /** @type {Record<string, unknown>} */ variables, /** @type {string} */ done) => {
      box.querySelectorAll("button, input").forEach((b) => b.setAttribute("disabled", ""));
      try {
        await gql(mutation, variables);
        delete box.dataset.confirming;
        announce(done);
        await refreshExceptions();
      } catch (error) {
        delete box.dataset.confirming;
        fill(box, errorBox(error));
      }
    };
    const askReason = () => {
      box.dataset.confirming = "true";
      const reason = /** @type {HTMLInputElement} */ (
        h("input", { type: "text", name: "reason", required: true, maxlength: 500, autocomplete: "off", "aria-label": `Why dismiss the exception of ${x.source} ${x.externalId || ""}`.trim() })
      );
      fill(
        box,
        h(
          "form",
          {
            class: "actions",
            onsubmit: (/** @type {SubmitEvent} */ event) => {
              event.preventDefault();
              const why = reason.value.trim();
              if (!why) {
                reason.focus();
                return;
              }
              act(DISMISS_EXCEPTION, { id: x.id, reason: why }, "Exception dismissed.");
            },
          },
          h("label", { class: "muted" }, "Reason ", reason),
          h("button", { type: "submit", class: "danger" }, "Dismiss"),
          h("button", { type: "button", onclick: () => { delete box.dataset.confirming; fill(box, ...buttons()); } }, "Cancel"),
        ),
      );
      reason.focus();
    };
    const buttons = () => [
      mayRetry ? h("button", { type: "button", onclick: () => act(RETRY_EXCEPTION, { id: x.id }, "Exception queued for a retry.") }, "Retry") : null,
      mayDismiss ? h("button", { type: "button", class: "secondary", onclick: askReason }, "Dismiss") : null,
    ];
    return fill(box, ...buttons());
  };

  const refreshEndpoints = async () => {
    /** @type {any[]} */
    let found;
    /** @type {any[]} */
    let failed;
    try {
      found = (await gql(ENDPOINTS)).webhookEndpoints;
      failed = await Promise.all(found.map((w) => gql(FAILED, { id: w.id }).then((d) => d.webhookDeliveries)));
    } catch (error) {
      connectProblem(endpoints, error);
      return;
    }
    if (endpoints.querySelector("[data-busy]")) return; // a replay is on its way
    // Keep open what the reader opened.
    const opened = new Set([...endpoints.querySelectorAll("details[open]")].map((d) => /** @type {HTMLElement} */ (d).dataset.endpoint));
    endpoints.removeAttribute("aria-busy");
    fill(
      endpoints,
      table(
        "Webhook endpoints",
        [{ label: "URL" }, { label: "Event types" }, { label: "State" }, { label: "Failed deliveries" }, ...(mayReplayDeliveries ? [{ label: "Action" }] : [])],
        found.map((w, i) => {
          const list = failed[i].edges.map((/** @type {any} */ e) => e.node);
          const count = `${list.length}${failed[i].pageInfo.hasNextPage ? "+" : ""}`;
          return [
            h("span", {}, h("code", {}, w.url), w.description ? h("span", { class: "muted" }, ` ${w.description}`) : null),
            h("ul", { class: "flags" }, w.eventTypes.map((/** @type {string} */ t) => h("li", {}, h("code", {}, t)))),
            w.enabled
              ? h("span", { class: "status" }, "enabled", w.failingSince ? h("span", { class: "muted" }, ` (failing since ${time(w.failingSince)})`) : null)
              : h("span", { class: "status error-text" }, "disabled", w.disabledReason ? h("span", { class: "muted" }, ` (${w.disabledReason})`) : null),
            list.length
              ? h(
                  "details",
                  { dataset: { endpoint: w.id }, open: opened.has(w.id) },
                  h("summary", {}, `${count} failed`),
                  h(
                    "ul",
                    { class: "bench" },
                    list.map((/** @type {any} */ d) =>
                      h(
                        "li",
                        { dataset: { delivery: d.id } },
                        h("code", {}, d.eventType),
                        ` ${d.subject} · ${d.createdAt ? time(d.createdAt) : "—"} · ${d.attempts} tries`,
                        d.lastStatusCode || d.lastError ? h("div", { class: "error-text" }, [d.lastStatusCode ? `HTTP ${d.lastStatusCode} ` : "", (d.lastError || "").slice(0, 200)].join("")) : null,
                      ),
                    ),
                  ),
                )
              : h("span", { class: "muted" }, "none"),
            ...(mayReplayDeliveries ? [list.length ? replayButton(w) : h("span", { class: "muted" }, "—")] : []),
          ];
        }),
        { empty: "No webhook endpoints.", rowAttrs: (i) => ({ dataset: { endpoint: found[i].id } }) },
      ),
    );
  };

  /** @param {any} w */
  const replayButton = (w) => {
    const box = h("div", { class: "actions" });
    const replay = async () => {
      box.dataset.busy = "true";
      box.querySelectorAll("button").forEach((b) => b.setAttribute("disabled", ""));
      const since = new Date(Date.now() - REPLAY_DAYS * 86400_000).toISOString();
      try {
        const n = (await gql(REPLAY_DELIVERIES, { id: w.id, since })).replayWebhookDeliveries;
        delete box.dataset.busy;
        announce(`${n} ${n === 1 ? "delivery" : "deliveries"} queued again.`);
        await refreshEndpoints();
      } catch (error) {
        delete box.dataset.busy;
        fill(box, errorBox(error));
      }
    };
    return fill(box, h("button", { type: "button", onclick: replay, "aria-label": `Replay failed deliveries to ${w.url}` }, "Replay failed"));
  };

  const refreshConnect = () => Promise.all([refreshExceptions(), refreshEndpoints()]);

  await refresh();
  ctx.ready();
  await refreshConnect();
  let busy = false;
  let last = Date.now();
  const timer = window.setInterval(async () => {
    const due = Date.now() < fastUntil || Date.now() - last >= REFRESH_MS;
    if (busy || document.hidden || !due) return;
    busy = true;
    last = Date.now();
    try {
      await Promise.all([refresh(), refreshConnect()]);
    } catch {
      // the next tick tries again; the page keeps the last good figures
    } finally {
      busy = false;
    }
  }, 1000);
  ctx.onLeave(() => window.clearInterval(timer));
}
