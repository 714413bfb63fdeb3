// eiso from a browser: sign in with the authorization code flow + PKCE (S256), ask `me` for
// the officer's agency, then follow that agency's dossier events with graphql-ws.
// Served at http://127.0.0.1:5173 (the demo client's redirect), see docs/graphql.md.
import { createClient } from "./node_modules/graphql-ws/dist/client.js";

const EISO = "http://127.0.0.1:8000"; // `make run`
const CLIENT_ID = "eiso-web-demo"; // the demo data's web client
const REDIRECT_URI = "http://127.0.0.1:5173/callback";
const SCOPE = "openid profile dossiers:read";

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));

async function login() {
  const verifier = random(48);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const state = random(16);
  sessionStorage.setItem("eiso.pkce", JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  location.assign(`${EISO}/oauth/authorize?${params}`);
}

// Back from eiso's sign-in page with ?code=...&state=... (or ?error=...).
async function callback() {
  const answer = new URLSearchParams(location.search);
  const { verifier, state } = JSON.parse(sessionStorage.getItem("eiso.pkce") || "{}");
  if (answer.get("error")) throw new Error(`${answer.get("error")}: ${answer.get("error_description")}`);
  if (!state || answer.get("state") !== state) throw new Error("state does not match");
  const response = await fetch(`${EISO}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: answer.get("code"),
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
      code_verifier: verifier,
    }),
  });
  const tokens = await response.json();
  if (!response.ok) throw new Error(tokens.error);
  sessionStorage.setItem("eiso.tokens", JSON.stringify(tokens));
  sessionStorage.removeItem("eiso.pkce");
  location.replace("/");
}

async function graphql(query, variables, authorization) {
  const response = await fetch(`${EISO}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query, variables }),
  });
  const { data, errors } = await response.json();
  if (errors) throw new Error(`${errors[0].extensions.code}: ${errors[0].extensions.message_vi}`);
  return data;
}

async function follow(tokens) {
  const authorization = `Bearer ${tokens.access_token}`;
  const { me } = await graphql("{ me { subject roles agencies { id name } } }", {}, authorization);
  document.getElementById("me").textContent = JSON.stringify(me, null, 2);
  const [agency] = me.agencies; // an officer's own agency: its global id
  if (!agency) return;
  const client = createClient({
    url: `${EISO.replace(/^http/, "ws")}/graphql`,
    connectionParams: { authorization }, // browsers cannot set headers on a websocket
  });
  const events = client.iterate({
    query: `subscription ($agency: ID!) {
      dossierEvents(agencyId: $agency) { dossierCode action fromStatus toStatus at }
    }`,
    variables: { agency: agency.id },
  });
  for await (const { data, errors } of events) {
    const item = document.createElement("li");
    item.textContent = errors
      ? errors[0].extensions.code
      : Object.values(data.dossierEvents).join(" · ");
    document.getElementById("events").append(item);
  }
}

document.getElementById("login")?.addEventListener("click", login);
if (location.pathname.startsWith("/callback")) {
  callback().catch((error) => (document.getElementById("me").textContent = String(error)));
} else {
  const tokens = JSON.parse(sessionStorage.getItem("eiso.tokens") || "null");
  if (tokens) follow(tokens).catch((error) => (document.getElementById("me").textContent = String(error)));
}
