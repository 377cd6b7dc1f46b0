// @ts-check
/** The user's bearer token: from the SSO proxy (never seen here), or pasted and kept per tab. */

const KEY = "weftwork.token";

/** A `#token=…` fragment (the sign-in link `make up` prints) is kept, then removed from the address bar. */
export function consumeFragment() {
  const match = location.hash.match(/^#token=([A-Za-z0-9._~+/=-]+)$/);
  if (!match) return;
  sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
  history.replaceState(history.state, "", location.pathname + location.search);
}

/** @returns {string | null} */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** @param {string} value */
export function keep(value) {
  sessionStorage.setItem(KEY, value.trim().replace(/^Bearer\s+/i, ""));
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

/** @returns {Record<string, string>} */
export function authorization() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}
