// @ts-check
/** The console's only way to data: POST /graphql with the user's token. */

import { authorization } from "./auth.js";

export class ApiError extends Error {
  /** @param {string} message @param {string} code */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/**
 * Run a query or mutation; its data, or an ApiError carrying the first error's code.
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<any>}
 */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
      body: JSON.stringify({ query, variables }),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError("The gateway cannot be reached; retry in a moment.", "UNAVAILABLE");
  }
  /** @type {any} */
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The gateway answered ${response.status} without data.`, "UNAVAILABLE");
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    const code = first.extensions?.code || "ERROR";
    if (code === "UNAUTHENTICATED") window.dispatchEvent(new CustomEvent("weftwork:signed-out"));
    throw new ApiError(first.message, code);
  }
  return body.data;
}
