// @ts-check
/** The console's only way to data: POST /graphql with the user's token. It sends the hash of
 * one of its documents (documents.js), which the gateway trusts; the text only when asked. */

import { authorization } from "./auth.js";
import { DOCUMENTS } from "./documents.js";

export class ApiError extends Error {
  /** @param {string} message @param {string} code */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/**
 * The subscribe or request payload of a console document: its hash, and its text when `full`
 * (Apollo's automatic persisted queries: a gateway that does not know the hash asks for it).
 * @param {string} name an operation of documents.js
 * @param {Record<string, unknown>} variables
 * @param {boolean} full
 */
export function payload(name, variables, full) {
  const document = DOCUMENTS[name];
  if (!document) throw new ApiError(`The console has no document ${name}.`, "ERROR");
  const extensions = { persistedQuery: { version: 1, sha256Hash: document.hash } };
  return { operationName: name, variables, extensions, ...(full ? { query: document.query } : {}) };
}

/** @param {object} body @returns {Promise<any>} */
async function post(body) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError("The gateway cannot be reached; retry in a moment.", "UNAVAILABLE");
  }
  try {
    return await response.json();
  } catch {
    throw new ApiError(`The gateway answered ${response.status} without data.`, "UNAVAILABLE");
  }
}

/**
 * Run one of the console's queries or mutations (documents.js) by its operation name; its
 * data, or an ApiError carrying the first error's code.
 * @param {string} name
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<any>}
 */
export async function gql(name, variables = {}) {
  let body = await post(payload(name, variables, false));
  if (body.errors?.[0]?.extensions?.code === "PERSISTED_QUERY_NOT_FOUND") {
    body = await post(payload(name, variables, true));
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    const code = first.extensions?.code || "ERROR";
    if (code === "UNAUTHENTICATED") window.dispatchEvent(new CustomEvent("weftwork:signed-out"));
    throw new ApiError(first.message, code);
  }
  return body.data;
}
