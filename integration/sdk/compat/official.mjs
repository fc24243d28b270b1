// Compatibility scenario for Meta's official Node SDK, whatsapp@0.0.5-Alpha
// (protocol and capability list: protocol.mjs and the Go orchestrator,
// integration/compat_test.go).
//
// How the SDK is pointed at the proxy: its environment only. WA_BASE_URL is
// a host name; the SDK always speaks HTTPS to port 443, so the orchestrator
// runs the proxy's TLS listener on 127.0.0.1:443 and sets PROXY_TLS_HOST
// and NODE_EXTRA_CA_CERTS (its CA). Without PROXY_TLS_HOST every send
// capability fails. NODE_ENV=production keeps the SDK from loading dotenv.
//
// Send side: messages.{text,image,location,contacts,interactive,template,
// status} with the shapes its TypeScript declarations allow: interactive
// button, list, product and product_list; template parameters text,
// currency, date_time, image/document/video and payload buttons; status
// "read" only. It has no reaction helper (its Reaction type enum is
// "sticker"), no media API (media_id uploads with a plain multipart POST),
// no Flows API. Every send checks the SDK's response: HTTP 200, a message
// id, contacts[0].wa_id.
//
// Webhook side: the SDK's own listener (webhooks.start, LISTENER_PORT,
// WEBHOOK_ENDPOINT, WEBHOOK_VERIFICATION_TOKEN, M4D_APP_SECRET) serves
// :$WEBHOOK_PORT/webhook. Its GET handshake works. Its POST handler throws a
// TypeError on every body: it turns its chunk array into a string
// (`bodyBuf = bodyBuf + chunk`) and then calls Buffer.concat on it, from a
// stream 'end' listener, i.e. an uncaught exception that ends a normal
// process before the signature check and the callback run. The script
// proves that against Meta's own format with a child process running the
// SDK's listener alone, fed Meta's sample "Received Text Message" webhook
// (Meta's Postman collection), correctly signed; in this process the
// exception is caught, recorded and the delivery answered 500, so that the
// scenario survives the proxy's deliveries and can show they fail the same
// way.

import { createRequire } from "node:module";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CheckError, Scenario, WebhookLog, check, defect, fakeJPEG, loadEnv, reportWebhooks, sample } from "./protocol.mjs";

const env = loadEnv("official.mjs");
const sc = new Scenario("official.mjs");
const hook = new WebhookLog();
const tlsHost = process.env.PROXY_TLS_HOST || "";
const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const webhooksModule = path.join("whatsapp", "build", "api", "webhooks.js");

// The SDK's loggers write to stdout (its webhook module logs every request
// unconditionally); stdout carries the protocol, so they go to stderr.
console.log = (...args) => console.error(...args);

// The SDK's whole configuration, read from the environment when an instance
// is made.
function sdkEnv(listenerPort) {
  return {
    NODE_ENV: "production",
    WA_BASE_URL: tlsHost || "127.0.0.1",
    CLOUD_API_VERSION: env.graphVersion,
    CLOUD_API_ACCESS_TOKEN: env.accessToken,
    WA_PHONE_NUMBER_ID: env.phoneNumberId,
    WA_BUSINESS_ACCOUNT_ID: env.wabaId,
    LISTENER_PORT: String(listenerPort),
    WEBHOOK_ENDPOINT: "webhook",
    WEBHOOK_VERIFICATION_TOKEN: env.verifyToken,
    M4D_APP_SECRET: env.appSecret,
    REQUEST_TIMEOUT: "15000",
  };
}
Object.assign(process.env, sdkEnv(env.webhookPort));
const require = createRequire(import.meta.url);
const WhatsApp = require("whatsapp");
const wa = new WhatsApp();

// ------------------------------------------------------------ webhook side

// Raw bodies of the POSTs (read beside the SDK's handler) and the exceptions
// the SDK's POST handler threw.
const rawBodies = [];
const crashes = [];
const pendingPosts = new Set();

// The SDK's callback: (status, headers, body, res, error). Called with 200
// after its signature check passed (body is its parse), 401 when the check
// failed, 500 on a request error.
wa.webhooks.start((status, _headers, body, res, err) => {
  if (status === 200 && body) {
    hook.delivery(true);
    for (const entry of body.entry ?? []) {
      for (const change of entry.changes ?? []) {
        for (const m of change.value?.messages ?? []) hook.message({ id: m.id, from: m.from, text: m.text?.body });
        for (const s of change.value?.statuses ?? []) hook.status({ id: s.id, status: s.status });
      }
    }
    if (res && !res.headersSent) {
      res.writeHead(200);
      res.end();
    }
    return;
  }
  if (status === 401) hook.delivery(false);
  sc.log(`webhook: the SDK's callback got status ${status}: ${err?.message ?? err}`);
  if (res && !res.headersSent) {
    res.writeHead(status || 500);
    res.end();
  }
});

// The SDK's POST handler throws from a stream listener: record it and fail
// the pending deliveries (a crashed server would not answer them either).
// Other uncaught exceptions are protocol.mjs's business (logged).
process.on("uncaughtException", (err) => {
  if (!String(err?.stack ?? "").includes(webhooksModule)) return;
  crashes.push(`${err.name}: ${err.message}`);
  hook.delivery(null, `${err.name}: ${err.message}`);
  if (crashes.length === 1) sc.log(`the SDK's webhook POST handler threw (counted, logged once): ${err.stack}`);
  for (const res of pendingPosts) {
    if (!res.headersSent) {
      res.writeHead(500);
      res.end();
    }
  }
});

const server = wa.webhooks.server.server;
server.prependListener("request", (req, res) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (req.method === "GET" && url.pathname === "/webhook") {
    // Only the SDK's handler answers GET: a 200 with the challenge is its
    // handshake code accepting the token.
    const challenge = url.searchParams.get("hub.challenge");
    const write = res.write.bind(res);
    let echoed = false;
    res.write = (chunk, ...rest) => {
      if (challenge !== null && String(chunk) === challenge) echoed = true;
      return write(chunk, ...rest);
    };
    res.on("finish", () => hook.handshake(echoed && res.statusCode === 200));
    return;
  }
  if (req.method !== "POST") return;
  pendingPosts.add(res);
  res.on("close", () => pendingPosts.delete(res));
  const chunks = [];
  req.on("data", (c) => chunks.push(Buffer.from(c)));
  req.on("end", () => rawBodies.push(Buffer.concat(chunks).toString("utf8")));
});
if (!server.listening) {
  await new Promise((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
}
sc.event("listening");
await sc.awaitVerified();

// ---------------------------------------------------------------- send side
// The SDK's recipient parameter is a number (it calls toString on it).
const recipient = (digits) => (Number.isSafeInteger(Number(digits)) ? Number(digits) : digits);
const to = recipient(env.to);
const noTLS = "the proxy's TLS listener on port 443 was not running";
const interactiveNA = "its interactive types cover only button, list, product and product_list";

// body reads the SDK's response: status and parsed JSON.
async function answer(resp) {
  const status = resp.statusCode();
  let body = null;
  try {
    body = await resp.responseBodyToJSON();
  } catch (err) {
    throw new CheckError(`the proxy's HTTP ${status} answer is not JSON`, String(err));
  }
  return { status, body };
}
function answered(status, body) {
  return body?.error ? `the proxy answered HTTP ${status} with error code ${body.error.code}` : `the proxy answered HTTP ${status}`;
}

// send runs one SDK send and checks its response.
async function send(capability, call) {
  if (!tlsHost) return sc.report(capability, "fail", noTLS);
  await sc.run(capability, async () => {
    const { status, body } = await answer(await call());
    check(status === 200, answered(status, body), body);
    sc.answered(body, env.to);
  });
}
const refId = () => sc.messageIds[0] ?? null;

await send("text", () => wa.messages.text({ body: sample.text, preview_url: true }, to));

// The SDK has no media API: a plain multipart upload for the id.
let mediaId = null;
if (tlsHost) {
  await sc.run("media_id", async () => {
    const data = fakeJPEG(32 * 1024);
    const form = new FormData();
    form.append("messaging_product", "whatsapp");
    form.append("type", "image/jpeg");
    form.append("file", new Blob([data], { type: "image/jpeg" }), "official.jpg");
    const res = await fetch(`${env.baseUrl}/${env.graphVersion}/${env.phoneNumberId}/media`, {
      method: "POST", headers: { Authorization: `Bearer ${env.accessToken}` }, body: form,
    });
    const up = await res.json().catch(() => null);
    check(res.status === 200 && typeof up?.id === "string", "the plain multipart upload to the proxy failed", up);
    mediaId = up.id;
    const { status, body } = await answer(await wa.messages.image({ id: mediaId, caption: "by id" }, to));
    check(status === 200 && typeof body?.messages?.[0]?.id === "string", answered(status, body), body);
    sc.sent(body.messages[0].id);
  });
} else sc.report("media_id", "fail", noTLS);
await send("media_link", () => wa.messages.image({ link: sample.imageLink, caption: "by link" }, to));
await send("location", () => wa.messages.location(sample.location, to));
await send("contacts", () =>
  wa.messages.contacts([{
    name: { formatted_name: "Zoë Müller", first_name: "Zoë", last_name: "Müller" },
    phones: [{ phone: "+1 555 0100", type: "WORK", wa_id: "15550100" }],
    emails: [{ email: "zoe@example.com", type: "WORK" }],
    org: { company: "Example Café" },
  }], to));
sc.report("reaction", "n/a", "no reaction helper (its reaction message type is sent as a sticker)");
if (tlsHost) {
  await sc.run("reply_context", async () => {
    check(refId() !== null, "no text message to reply to");
    const { status, body } = await answer(await wa.messages.text({ body: "Replying to your message" }, to, refId()));
    check(status === 200 && typeof body?.messages?.[0]?.id === "string", answered(status, body), body);
    sc.sent(body.messages[0].id);
  });
} else sc.report("reply_context", "fail", noTLS);

await send("interactive_button", () =>
  wa.messages.interactive({
    type: "button",
    header: { type: "text", text: "Delivery" },
    body: { text: "Confirm delivery for tomorrow?" },
    footer: { text: "Reply with a button" },
    action: { buttons: [
      { type: "reply", reply: { id: "confirm", title: "Confirm" } },
      { type: "reply", reply: { id: "reschedule", title: "Reschedule" } },
    ] },
  }, to));
await send("interactive_list", () =>
  wa.messages.interactive({
    type: "list",
    header: { type: "text", text: "Menu" },
    body: { text: "Pick a dish" },
    action: { button: "View menu", sections: [
      { title: "Mains", rows: [{ id: "pasta", title: "Pasta", description: "Fresh tagliatelle" }] },
      { title: "Desserts", rows: [{ id: "tiramisu", title: "Tiramisù" }] },
    ] },
  }, to));
sc.report("interactive_cta_url", "n/a", interactiveNA);
sc.report("interactive_flow", "n/a", interactiveNA);
await send("interactive_product", () =>
  wa.messages.interactive({
    type: "product",
    body: { text: "Our bestseller" },
    action: { catalog_id: sample.catalogId, product_retailer_id: "sku-1" },
  }, to));
await send("interactive_product_list", () =>
  wa.messages.interactive({
    type: "product_list",
    header: { type: "text", text: "Summer sale" },
    body: { text: "Pick your favourites" },
    action: { catalog_id: sample.catalogId, sections: [
      { title: "Shoes", product_items: [{ product_retailer_id: "sku-1" }, { product_retailer_id: "sku-2" }] },
      { title: "Hats", product_items: [{ product_retailer_id: "sku-3" }] },
    ] },
  }, to));
sc.report("interactive_catalog", "n/a", interactiveNA);
sc.report("interactive_location_request", "n/a", interactiveNA);
sc.report("interactive_address", "n/a", interactiveNA);

// Its LanguageObject requires policy "deterministic".
const language = { policy: "deterministic", code: "en_US" };
await send("template_params", () =>
  wa.messages.template({
    name: "order_update",
    language,
    components: [
      { type: "header", parameters: [{ type: "text", text: "#4711" }] },
      { type: "body", parameters: [
        { type: "text", text: "Zoë" },
        { type: "currency", currency: { fallback_value: "$100.99", code: "USD", amount_1000: 100990 } },
        { type: "date_time", date_time: { fallback_value: "February 25, 1977" } },
      ] },
    ],
  }, to));
await send("template_media_header", () =>
  wa.messages.template({
    name: "order_receipt",
    language,
    components: [
      { type: "header", parameters: [{ type: "image", image: { link: sample.imageLink } }] },
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
    ],
  }, to));
await send("template_quick_reply", () =>
  wa.messages.template({
    name: "delivery_confirm",
    language,
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      { type: "button", sub_type: "quick_reply", index: 0, parameters: [{ type: "payload", payload: "CONFIRM-4711" }] },
      { type: "button", sub_type: "quick_reply", index: 1, parameters: [{ type: "payload", payload: "STOP-4711" }] },
    ],
  }, to));
sc.report("template_copy_code", "n/a", "its template types have no copy_code button");
sc.report("template_lto", "n/a", "its template types have no limited_time_offer component");
sc.report("template_carousel", "n/a", "its template types have no carousel component");
sc.report("template_mpm", "n/a", "its template types have no multi-product button");

if (tlsHost) {
  await sc.run("mark_read", async () => {
    const { status, body } = await answer(await wa.messages.status({ status: "read", message_id: env.readMessageId }));
    check(status === 200, answered(status, body), body);
    check(body?.success === true, "the SDK's response is not success true", body);
  });
} else sc.report("mark_read", "fail", noTLS);
sc.report("typing", "n/a", "its status call has no typing indicator");
for (const cap of ["media_upload", "media_lookup", "media_download", "media_delete"]) sc.report(cap, "n/a", "no media API");
sc.report("flows_lifecycle", "n/a", "no Flows API");

if (tlsHost) {
  await sc.run("error_surface", async () => {
    const { status, body } = await answer(await wa.messages.text({ body: "This recipient is rejected" }, recipient(env.badTo)));
    check(status !== 200, "the send to the refused recipient succeeded", body);
    const e = body?.error;
    check(status === 400 && e?.code === 100, "the SDK's response is not HTTP 400 code 100", { status, body });
    check(/Invalid parameter/.test(e.message ?? ""), "the SDK's response lacks the proxy's message", body);
    check(typeof e.error_data?.details === "string" && e.error_data.details !== "", "the SDK's response lacks the proxy's details", body);
    check(typeof e.fbtrace_id === "string" && e.fbtrace_id !== "", "the SDK's response lacks the trace id", body);
  });
} else sc.report("error_surface", "fail", noTLS);

// ------------------------------------------------------------- webhooks
const inbound = await sc.sendsDone();
const metaSample = await metaSampleRun();

// The SDK's callback never runs when its handler throws: wait for the raw
// deliveries instead (the inbound message and a status of a sent message).
const rawSeen = () =>
  inbound !== null && rawBodies.some((b) => b.includes(inbound.id)) &&
  rawBodies.some((b) => b.includes('"statuses"') && sc.messageIds.some((id) => b.includes(id)));
await sc.until(() => rawSeen() || hook.messages.length > 0, 15_000);

const offers = {};
if (crashes.length > 0 && metaSample.crashed) {
  const why = "the SDK's webhook listener throws a TypeError on every POST body (it turns its chunk array into a string " +
    "before Buffer.concat), Meta's own sample payload included, so";
  offers.webhook_signature = defect(`${why} its signature check never runs`);
  offers.webhook_message = defect(`${why} no message reaches its callback`);
  offers.webhook_status = defect(`${why} no status reaches its callback`);
  sc.log(`the SDK's listener threw on ${crashes.length} of the proxy's deliveries (${rawBodies.length} POSTs)`);
} else if (crashes.length > 0) {
  sc.log("the SDK's listener threw on the proxy's deliveries, but not on Meta's sample payload");
}
await reportWebhooks(sc, hook, inbound, env, offers, { waitMs: offers.webhook_message ? 0 : 15_000 });
sc.finish();

// metaSampleRun starts the SDK's listener alone in a child process (as an
// app would run it), posts Meta's sample webhook signed with the app secret
// and reports whether the child died of the TypeError.
async function metaSampleRun() {
  // Meta's Postman collection, "Webhook Payload Reference / Received Text
  // Message".
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{
      id: "8856996819413533",
      changes: [{
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "16505553333", phone_number_id: "27681414235104944" },
          contacts: [{ profile: { name: "Kerry Fisher" }, wa_id: "16315551234" }],
          messages: [{
            from: "16315551234", id: "wamid.ABGGFlCGg0cvAgo-sJQh43L5Pe4W", timestamp: "1603059201",
            text: { body: "Hello this is an answer" }, type: "text",
          }],
        },
        field: "messages",
      }],
    }],
  }, null, 4);
  const port = await freePort();
  const child = spawn(process.execPath, ["-e", `
    const WhatsApp = require("whatsapp");
    const wa = new WhatsApp();
    wa.webhooks.start((status, headers, body, res) => {
      process.stderr.write("CALLBACK " + status + "\\n");
      if (res) { res.writeHead(200); res.end(); }
    });
  `], { cwd: sdkDir, env: { ...process.env, ...sdkEnv(port) }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const result = { crashed: false };
  try {
    if (!(await waitConnect(port, 10_000))) throw new Error("the child's listener did not start");
    const sig = createHmac("sha256", env.appSecret).update(body).digest("hex");
    const post = fetch(`http://127.0.0.1:${port}/webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Hub-Signature-256": `sha256=${sig}` },
      body,
      signal: AbortSignal.timeout(5000),
    }).then((r) => `HTTP ${r.status}`, (err) => `no answer (${err?.cause?.code ?? err?.name})`);
    const outcome = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
    const got = await post;
    result.crashed = outcome !== null && outcome.code !== 0 && /TypeError/.test(stderr) && !stderr.includes("CALLBACK");
    sc.log(`Meta's sample payload through the SDK's listener: ${got}, child exit ${JSON.stringify(outcome)}, stderr:\n${stderr}`);
  } catch (err) {
    sc.log(`Meta's sample payload run: ${err?.stack ?? err}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
  return result;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitConnect(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => { sock.destroy(); resolve(true); });
      sock.once("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
