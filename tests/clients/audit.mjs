// The graphql-http server audit (GraphQL over HTTP spec) against URL; prints every result as one
// JSON line: [{id, name, status, reason}], status "ok", "warn" (a SHOULD) or "error" (a MUST).
import { auditServer } from "graphql-http";

const [url] = process.argv.slice(2);
const results = await auditServer({ url, fetchFn: fetch });
console.log(
  JSON.stringify(
    results.map(({ id, name, status, reason }) => ({ id, name, status, reason: reason ?? null })),
  ),
);
