// graphql-ws in Node: subscribe to dossierEvents of AGENCY over WS_URL (authorising in
// connection_init as a browser does), then drive one dossier through its moves over HTTP;
// prints {"events": [...], "moves": [...]} once an event per move has arrived.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [httpUrl, wsUrl, agencyId, procedureCode] = process.argv.slice(2);
const authorization = process.env.EISO_TOKEN;

const EVENTS = `subscription($a: ID!) {
  dossierEvents(agencyId: $a) { dossierCode action fromStatus toStatus }
}`;
const RECEIVE = `mutation {
  receiveDossier(input: {procedureCode: "${procedureCode}",
    applicant: {fullName: "Nguyễn Thị Hoa", phone: "0912345678"},
    sectorData: {child_name: "Trần Minh Khôi", birth_date: "2026-11-01"}}) {
    dossier { id code version status }
  }
}`;
const MOVES = [
  ["assignDossier", ', assignee: "officer-2"'],
  ["requestSupplement", ', reason: "Thiếu bản sao giấy chứng sinh"'],
  ["supplementReceived", ""],
  ["completeStep", ""],
  ["completeStep", ""],
  ["returnResult", ""],
];

async function graphql(query, variables = {}) {
  const response = await fetch(httpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization } });
const events = [];
const expected = MOVES.length + 1;
const done = new Promise((resolve, reject) => {
  client.subscribe(
    { query: EVENTS, variables: { a: agencyId } },
    {
      next: (message) => {
        if (message.errors) return reject(new Error(JSON.stringify(message.errors)));
        events.push(message.data.dossierEvents);
        if (events.length === expected) resolve();
      },
      error: reject,
      complete: () => reject(new Error("the subscription completed early")),
    },
  );
});
// The server registers the subscription once it has acknowledged it: wait for the ack, then
// a moment, as the Python subscription tests do.
await new Promise((resolve) => client.on("connected", resolve));
await new Promise((resolve) => setTimeout(resolve, 1000));

const moves = [];
let { dossier } = (await graphql(RECEIVE)).receiveDossier;
moves.push(dossier.status);
for (const [name, extra] of MOVES) {
  const moved = await graphql(
    `mutation($id: ID!, $v: Int!) { ${name}(id: $id, expectedVersion: $v${extra}) { id version status } }`,
    { id: dossier.id, v: dossier.version },
  );
  dossier = { ...dossier, ...moved[name] };
  moves.push(dossier.status);
}
const timeout = setTimeout(() => {
  console.log(JSON.stringify({ events, moves, code: dossier.code, timedOut: true }));
  process.exit(1);
}, 20000);
await done;
clearTimeout(timeout);
await client.dispose();
console.log(JSON.stringify({ events, moves, code: dossier.code }));
