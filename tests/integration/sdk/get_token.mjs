// Get a token with Node @azure/identity the way an unmodified app does:
//   node get_token.mjs CREDENTIAL SCOPE [clientId=ID | resourceId=ARMID | objectId=ID]
// CREDENTIAL is "managed" (ManagedIdentityCredential) or "default"
// (DefaultAzureCredential).  The endpoint comes from IDENTITY_ENDPOINT and
// IDENTITY_HEADER.  Prints {"token": ..., "expires_on": ...}.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.AZMI_NODE_PREFIX, "index.js"));
const { DefaultAzureCredential, ManagedIdentityCredential } = require("@azure/identity");

const [kind, scope, ...rest] = process.argv.slice(2);
const opts = {};
for (const a of rest) {
  const i = a.indexOf("=");
  opts[a.slice(0, i)] = a.slice(i + 1);
}
let cred;
if (kind === "default") {
  const o = {};
  if (opts.clientId) o.managedIdentityClientId = opts.clientId;
  if (opts.resourceId) o.managedIdentityResourceId = opts.resourceId;
  cred = new DefaultAzureCredential(o);
} else {
  cred = new ManagedIdentityCredential(opts);
}
try {
  const t = await cred.getToken(scope);
  console.log(JSON.stringify({ token: t.token, expires_on: Math.floor(t.expiresOnTimestamp / 1000) }));
} catch (e) {
  console.error(String(e && e.message ? e.message : e).slice(0, 2000));
  process.exit(1);
}
