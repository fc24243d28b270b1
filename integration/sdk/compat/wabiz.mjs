// Compatibility scenario for whatsapp-business 1.7.2 (protocol and
// capability list: protocol.mjs and the Go orchestrator,
// integration/compat_test.go).
//
// How the SDK is pointed at the proxy: it has no base-URL option (Graph's
// https://graph.facebook.com/v17.0 is hard-coded), so the axios instance it
// exposes gets the proxy as its base URL:
// client.restClient.fetch.defaults.baseURL = PROXY_BASE_URL + "/v17.0".
// Nothing else changes; the SDK keeps its own Graph version (v17.0).
//
// Send side: sendMessage takes raw Meta JSON (it only adds
// messaging_product), so every message type goes through it as Meta
// documents it; markMessageAsRead (no typing indicator);
// uploadMedia/getMedia/downloadMedia/deleteMedia. No Flows API. Every send
// checks the SDK's answer: a message id and contacts[0].wa_id. Errors reach
// the caller through its WABAErrorHandler: Graph's error object, with the
// message replaced by the SDK's own text for the code.
//
// Webhook side: the SDK's WebhookClient (express) on :$WEBHOOK_PORT
// /webhook: its GET controller answers the handshake, its POST controller
// parses (express.json) and dispatches messages and statuses to the
// events. It has no signature verification.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { WABAClient, WebhookClient } from "whatsapp-business";
import { CheckError, Scenario, WebhookLog, check, describeError, fakeJPEG, loadEnv, na, reportWebhooks, sample, sha256hex, started } from "./protocol.mjs";
import * as meta from "./meta.mjs";

const env = loadEnv("wabiz.mjs");
const sc = new Scenario("wabiz.mjs");
const hook = new WebhookLog();
const tmp = mkdtempSync(path.join(tmpdir(), "wabiz-compat-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

// ------------------------------------------------------------ webhook side
const webhook = new WebhookClient({ port: env.webhookPort, path: "/webhook", token: env.verifyToken });
await new Promise((resolve) => {
  webhook.initWebhook({
    onStartListening: resolve,
    onTextMessageReceived: (m) => hook.message({ id: m.id, from: m.from, text: m.text?.body }),
    onMessageReceived: (m) => {
      if (m.type !== "text") sc.log(`webhook: a ${m.type} message`);
    },
    onStatusReceived: (s) => hook.status({ id: s.id, status: s.status }),
    onError: (e) => sc.log(`webhook: an error event: ${JSON.stringify(e)}`),
  });
  const app = webhook.expressApp.app;
  // Beside the SDK's routes (registered before the first request): record
  // which requests its controllers answered. A GET answered 200 with the
  // challenge is its handshake code accepting the token; every POST is a
  // delivery its controller parsed and dispatched (no signature check).
  const probe = (req, res, next) => {
    if (req.path === "/webhook" || req.path === "/webhook/") {
      if (req.method === "GET") {
        const challenge = req.query["hub.challenge"];
        res.on("finish", () => hook.handshake(res.statusCode === 200 && challenge !== undefined));
      } else if (req.method === "POST") {
        res.on("finish", () => hook.delivery(null, res.statusCode === 200 ? null : `HTTP ${res.statusCode}`));
      }
    }
    next();
  };
  // Express's own layers (query parser, expressInit) first, then the probe.
  const stack = app._router.stack;
  app.use(probe);
  const layer = stack.pop();
  stack.splice(stack.findIndex((l) => l.name === "expressInit") + 1, 0, layer);
});
sc.event("listening");
await sc.awaitVerified();

// ---------------------------------------------------------------- send side
const { to } = env;
const client = new WABAClient({ apiToken: env.accessToken, phoneId: env.phoneNumberId, accountId: env.wabaId });
client.restClient.fetch.defaults.baseURL = env.baseUrl + "/v17.0";

// sent checks the SDK's answer of a send and records its id.
function sent(res) {
  return sc.answered(res, to);
}
// graphError is Graph's error object when the SDK rejected with one (its
// error handler's way), else null (axios's own error).
function graphError(err) {
  if (err && typeof err === "object" && !(err instanceof Error) && "code" in err && "error_data" in err) return err;
  return null;
}

// sdk awaits an SDK call, turning its rejections into deterministic
// failures (the evidence goes to stderr).
async function sdk(promise) {
  try {
    return await promise;
  } catch (err) {
    const e = graphError(err);
    if (e) throw new CheckError(`the SDK surfaced Graph error code ${e.code}`, e);
    throw new CheckError(`the SDK's request failed (${err?.code ?? err?.name ?? "error"})`, describeError(err));
  }
}

// send is sendMessage with Meta's JSON for one message type.
const send = async (type, object, extra = {}) => sent(await sdk(client.sendMessage({ to, type, [type]: object, ...extra })));

let textId = null;
await sc.run("text", async () => {
  textId = await send("text", { body: sample.text, preview_url: true });
});

// One upload (a file path, as uploadMedia wants), shared by media_id and
// the media_* capabilities.
const img = { mime: "image/jpeg", data: fakeJPEG(64 * 1024), file: path.join(tmp, "wabiz.jpg") };
img.sha256 = sha256hex(img.data);
writeFileSync(img.file, img.data);
const uploaded = started(async () => {
  const res = await sdk(client.uploadMedia({ file: img.file, type: img.mime }));
  check(typeof res?.id === "string" && res.id !== "", "the SDK's upload answer has no media id", res);
  img.id = res.id;
});

await meta.rawSends(sc, send, {
  mediaId: async () => {
    await uploaded();
    return img.id;
  },
  textId: () => textId,
});

await sc.run("mark_read", async () => {
  const res = await sdk(client.markMessageAsRead(env.readMessageId));
  check(res?.success === true, "the SDK's answer is not success true", res);
});
sc.report("typing", "n/a", "its markMessageAsRead has no typing indicator");

let lookedUp = null;
await sc.run("media_upload", () => uploaded());
await sc.run("media_lookup", async () => {
  await uploaded();
  const info = await sdk(client.getMedia(img.id));
  check(info?.id === img.id && info.messaging_product === "whatsapp", "the SDK's lookup has the wrong id", info);
  check(info.mime_type === img.mime, "the SDK's lookup has the wrong mime type", info);
  check(info.sha256 === img.sha256, "the SDK's lookup has the wrong sha256", info);
  check(Number(info.file_size) === img.data.length, "the SDK's lookup has the wrong file size", info);
  check(typeof info.url === "string" && info.url.startsWith(env.baseUrl + "/"), "the SDK's lookup has no proxy url", info);
  lookedUp = info;
});
await sc.run("media_download", async () => {
  await uploaded();
  const info = lookedUp ?? (await sdk(client.getMedia(img.id)));
  const file = path.join(tmp, "download.jpg");
  // downloadMedia pipes the answer into the file and returns the stream.
  const ws = await sdk(client.downloadMedia(info.url, file));
  await new Promise((resolve, reject) => {
    if (ws.writableFinished) resolve();
    ws.once("finish", resolve);
    ws.once("error", reject);
  });
  const buf = readFileSync(file);
  check(buf.length === img.data.length && sha256hex(buf) === img.sha256, "the downloaded bytes differ from the upload", { size: buf.length });
});
await sc.run("media_delete", async () => {
  await uploaded();
  const res = await sdk(client.deleteMedia(img.id));
  check(res?.success === true, "the SDK's delete answer is not success true", res);
  let after;
  try {
    after = await client.getMedia(img.id);
  } catch (err) {
    const e = graphError(err);
    check(e !== null, "a lookup after the delete failed without Graph's error", describeError(err));
    check(e.code === 100 && e.error_subcode === 33, "a lookup after the delete is not Graph's unknown object", e);
    return;
  }
  throw new CheckError("a lookup after the delete succeeded", after);
});

sc.report("flows_lifecycle", "n/a", "no Flows API");

await sc.run("error_surface", async () => {
  let res;
  try {
    res = await client.sendMessage({ to: env.badTo, type: "text", text: { body: "This recipient is rejected" } });
  } catch (err) {
    const e = graphError(err);
    check(e !== null, "the SDK did not surface Graph's error object", describeError(err));
    check(e.code === 100, "the SDK's error is not code 100", e);
    check(/Invalid parameter/.test(e.message ?? ""), "the SDK's error lacks the message", e);
    check(typeof e.error_data?.details === "string" && e.error_data.details !== "", "the SDK's error lacks the proxy's details", e);
    check(typeof e.fbtrace_id === "string" && e.fbtrace_id !== "", "the SDK's error lacks the trace id", e);
    return;
  }
  throw new CheckError("the send to the refused recipient succeeded", res);
});

// ------------------------------------------------------------- webhooks
const inbound = await sc.sendsDone();
await reportWebhooks(sc, hook, inbound, env, {
  webhook_signature: na("no webhook signature verification"),
});
sc.finish();
