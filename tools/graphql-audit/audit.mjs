// The graphql-http server audit (GraphQL over HTTP spec) against a running gateway.
// Usage: node audit.mjs <url> <bearer token>. Exits 1 on any error-level finding.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <url> <bearer token>');
  process.exit(2);
}
// Every gateway operation needs a token; the audit's own requests carry it too.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
let errors = 0;
let warnings = 0;
for (const result of results) {
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'error') {
    errors += 1;
    console.log(`${line}\n       ${result.reason}`);
  } else if (result.status === 'ok') {
    console.log(line);
  } else {
    warnings += 1;
    console.log(`${line}\n       ${result.reason}`);
  }
}
const ok = results.length - errors - warnings;
console.log(`graphql-http audit: ${results.length} audits, ${ok} ok, ${warnings} warnings, ${errors} errors`);
process.exit(errors ? 1 : 0);
