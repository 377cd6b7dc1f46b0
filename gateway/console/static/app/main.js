// @ts-check
/** The console's shell: sign-in, who is signed in, and a router over the pages. */

import { ApiError, gql } from "./api.js";
import { consumeFragment, forget, keep, token } from "./auth.js";
import { errorBox, fill, h } from "./dom.js";

/**
 * @typedef {{subject: string, roles: string[], entities: string[], seesCosts: boolean, readsIntegrations: boolean, mutations: string[]}} Viewer
 * @typedef {{viewer: Viewer, params: Record<string, string>, query: URLSearchParams,
 *   navigate: (url: string) => void, onLeave: (cleanup: () => void) => void, ready: () => void}} PageContext
 */

const ROUTES = [
  { pattern: /^\/$/, page: "portfolio", title: "Portfolio" },
  { pattern: /^\/engagements$/, page: "engagements", title: "Engagements" },
  { pattern: /^\/engagements\/([^/]+)$/, page: "engagement", title: "Engagement", keys: ["id"] },
  { pattern: /^\/utilization$/, page: "utilization", title: "Utilization" },
  { pattern: /^\/integration$/, page: "integration", title: "Integration health" },
];

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
/** @type {Viewer | null} */
let viewer = null;
/** @type {Array<() => void>} */
let leaving = [];
let generation = 0;

async function boot() {
  consumeFragment();
  if (document.body.dataset.dev === "true") {
    document.querySelectorAll(".dev-only").forEach((el) => el.removeAttribute("hidden"));
  }
  window.addEventListener("weftwork:signed-out", () => {
    if (viewer) signIn("Your session has ended; sign in again.");
  });
  try {
    viewer = (await gql(VIEWER)).viewer;
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") {
      signIn(token() ? "That token was not accepted." : null);
      return;
    }
    fill(main, errorBox(error));
    return;
  }
  showViewer();
  document.addEventListener("click", follow);
  window.addEventListener("popstate", () => route(false));
  route(false);
}

const VIEWER = "Viewer"; // gateway/console/graphql/Viewer.graphql

function showViewer() {
  const who = /** @type {HTMLElement} */ (document.getElementById("who"));
  if (!viewer) return fill(who);
  fill(
    who,
    h("span", { class: "subject" }, viewer.subject),
    h("span", { class: "roles" }, viewer.roles.join(", ")),
    // Behind the SSO proxy there is nothing to forget here.
    token()
      ? h("button", { type: "button", class: "link", onclick: () => { forget(); location.assign("/"); } }, "Sign out")
      : null,
  );
}

/** @param {string | null} problem */
function signIn(problem) {
  viewer = null;
  showViewer();
  const input = h("textarea", { id: "token", name: "token", rows: 4, required: true, autocomplete: "off", spellcheck: "false" });
  const form = h(
    "form",
    {
      class: "signin panel",
      onsubmit: async (/** @type {SubmitEvent} */ event) => {
        event.preventDefault();
        keep(/** @type {HTMLTextAreaElement} */ (input).value);
        location.reload();
      },
    },
    h("h1", { tabindex: -1 }, "Sign in"),
    h("p", {}, "Paste a Weftwork bearer token (", h("code", {}, "weftwork token --role finance"), "). It is kept in this tab only."),
    problem ? h("p", { class: "error", role: "alert" }, problem) : null,
    h("label", { for: "token" }, "Bearer token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
  );
  forget();
  fill(main, form);
  /** @type {HTMLElement} */ (form.querySelector("h1")).focus();
}

/** Same-origin console links navigate without a reload. @param {MouseEvent} event */
function follow(event) {
  const link = /** @type {HTMLElement} */ (event.target)?.closest?.("a");
  if (!link || !(link instanceof HTMLAnchorElement)) return;
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || !ROUTES.some((r) => r.pattern.test(url.pathname))) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

/** @param {string} url */
function navigate(url) {
  history.pushState(null, "", url);
  route(true);
}

/** @param {boolean} moveFocus */
async function route(moveFocus) {
  const current = ++generation;
  leaving.forEach((cleanup) => cleanup());
  leaving = [];
  const found = ROUTES.map((r) => ({ r, m: location.pathname.match(r.pattern) })).find((x) => x.m);
  document.querySelectorAll("#nav a").forEach((a) => a.removeAttribute("aria-current"));
  if (!found || !found.m || !viewer) {
    fill(main, h("h1", { tabindex: -1 }, "Not found"), h("p", {}, h("a", { href: "/" }, "Back to the portfolio")));
    return;
  }
  const section = found.r.page === "engagement" ? "engagements" : found.r.page;
  document.querySelector(`#nav a[data-page="${section}"]`)?.setAttribute("aria-current", "page");
  document.title = `${found.r.title} · Weftwork`;
  /** @type {Record<string, string>} */
  const params = {};
  (found.r.keys || []).forEach((key, i) => (params[key] = decodeURIComponent(found.m?.[i + 1] || "")));
  main.dataset.page = found.r.page;
  main.dataset.state = "loading";
  const module = await import(`./pages/${found.r.page}.js`);
  if (current !== generation) return;
  /** @type {PageContext} */
  const context = {
    viewer,
    params,
    query: new URLSearchParams(location.search),
    navigate,
    onLeave: (cleanup) => leaving.push(cleanup),
    ready: () => {
      if (current !== generation) return;
      main.dataset.state = "ready";
      performance.mark("weftwork:data-ready"); // read by `python -m bench.console`
    },
  };
  try {
    const rendering = module.render(main, context); // draws the page's frame, then awaits data
    performance.mark("weftwork:first-render"); // read by `python -m bench.console`
    await rendering;
  } catch (error) {
    if (current !== generation) return;
    main.append(errorBox(error));
    main.dataset.state = "error";
  }
  if (moveFocus && current === generation) {
    /** @type {HTMLElement | null} */ (main.querySelector("h1"))?.focus();
  }
}

boot();
