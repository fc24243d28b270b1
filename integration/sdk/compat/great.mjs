// Compatibility scenario for @great-detail/whatsapp 8.4.0 (protocol and
// capability list: protocol.mjs and the Go orchestrator,
// integration/compat_test.go). The client's only configuration is the proxy
// as its prefixUrl, the Graph version and the Authorization header (and no
// retries, so that every answer is the proxy's first).
//
// The SDK takes Meta's JSON as is: message.createMessage sends every
// message type (so each send capability is Meta's own body through it),
// message.createStatus the read receipt and typing indicator; media.upload,
// getURL, download and delete. Answers are ky responses (.json()); a non-2xx
// answer raises ky's HTTPError with the response, whose Graph error body
// error_surface reads.
//
// Webhook side: a node:http server calling webhook.register (Meta's
// handshake: it hands back the verify token and the challenge to accept) and
// webhook.eventNotification (parses the body; checkSignature(appSecret)
// checks X-Hub-Signature-256 over it).
//
// Not offered by the SDK: a Flows API.

import { Client } from "@great-detail/whatsapp";
import {
  CheckError, Scenario, WebhookLog, check, checkNoGraphError, describeError, fakeJPEG, headersOf, isUnknownObject,
  listen, loadEnv, readBody, reportWebhooks, sample, sha256hex, started } from "./protocol.mjs";
import * as meta from "./meta.mjs";

const env = loadEnv("great.mjs");
const sc = new Scenario("great.mjs");
const hook = new WebhookLog();

const client = new Client({
  prefixUrl: env.baseUrl,
  graphVersion: env.graphVersion,
  request: { headers: { Authorization: `Bearer ${env.accessToken}` }, retry: 0 },
});

// ------------------------------------------------------------ webhook side
await listen(sc, env.webhookPort, async (req, res, url) => {
  const query = Object.fromEntries(url.searchParams);
  if (req.method === "GET") {
    let reg;
    try {
      reg = await client.webhook.register({ method: req.method, headers: headersOf(req), query });
    } catch (err) {
      sc.log(`webhook: handshake refused: ${err}`);
      res.statusCode = 400;
      res.end();
      return;
    }
    if (reg.verifyToken !== env.verifyToken) {
      reg.reject();
      res.statusCode = 403;
      res.end();
      return;
    }
    hook.handshake(true);
    res.setHeader("Content-Type", "text/plain");
    res.end(String(reg.accept()));
    return;
  }
  if (req.method !== "POST") {
    res.statusCode = 405;
    res.end();
    return;
  }
  const body = (await readBody(req)).toString("utf8");
  let event;
  try {
    event = await client.webhook.eventNotification({ method: req.method, headers: headersOf(req), body, query });
  } catch (err) {
    hook.delivery(null, String(err));
    sc.log(`webhook: eventNotification refused the delivery: ${err}`);
    res.statusCode = 400;
    res.end();
    return;
  }
  if (!(await event.checkSignature(env.appSecret))) {
    hook.delivery(false);
    sc.log(`webhook: signature rejected: ${body.slice(0, 500)}`);
    res.statusCode = 401;
    res.end();
    return;
  }
  hook.delivery(true);
  for (const entry of event.eventNotification?.entry ?? []) {
    for (const change of entry.changes ?? []) {
      for (const m of change.value?.messages ?? []) hook.message({ id: m.id, from: m.from, text: m.text?.body });
      for (const s of change.value?.statuses ?? []) hook.status({ id: s.id, status: s.status });
    }
  }
  event.accept();
  res.statusCode = 200;
  res.end();
});
sc.event("listening");
await sc.awaitVerified();

// ---------------------------------------------------------------- send side
const { phoneNumberId, to } = env;
const phoneNumberID = phoneNumberId;

// json reads a ky answer; a Graph error body becomes a failure with the
// proxy's wording.
async function json(responsePromise) {
  try {
    return await responsePromise.json();
  } catch (err) {
    if (err?.name === "HTTPError" && err.response) {
      const body = await err.response.json().catch(() => null);
      checkNoGraphError(body);
    }
    throw err;
  }
}

// send sends Meta's message object of type and checks the parsed answer.
async function send(type, object, extra = {}) {
  const res = await json(client.message.createMessage({ phoneNumberID, to, type, [type]: object, ...extra }));
  return sc.answered(res, to);
}

let textId = null;
await sc.run("text", async () => {
  textId = await send("text", { body: sample.text, preview_url: true });
});

// One upload, shared by media_id and the media_* capabilities.
const img = { mime: "image/jpeg", name: "great.jpg", data: fakeJPEG(64 * 1024) };
img.sha256 = sha256hex(img.data);
const uploaded = started(async () => {
  const res = await json(client.media.upload({
    phoneNumberID, file: new Blob([img.data], { type: img.mime }), filename: img.name, mimeType: img.mime,
  }));
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
  const res = await json(client.message.createStatus({ phoneNumberID, status: "read", message_id: env.readMessageId }));
  check(res?.success === true, "the SDK's answer is not success true", res);
});
await sc.run("typing", async () => {
  const res = await json(client.message.createStatus({
    phoneNumberID, status: "read", message_id: env.readMessageId, typing_indicator: { type: "text" },
  }));
  check(res?.success === true, "the SDK's answer is not success true", res);
});

await sc.run("media_upload", () => uploaded());
let mediaURL = null;
await sc.run("media_lookup", async () => {
  await uploaded();
  const info = await json(client.media.getURL({ mediaID: img.id, phoneNumberID }));
  check(info?.id === img.id && info.messaging_product === "whatsapp", "the SDK's lookup has the wrong id", info);
  check(info.mime_type === img.mime, "the SDK's lookup has the wrong mime type", info);
  check(info.sha256 === img.sha256, "the SDK's lookup has the wrong sha256", info);
  check(info.file_size === img.data.length, "the SDK's lookup has the wrong file size", info);
  check(typeof info.url === "string" && info.url.startsWith(env.baseUrl + "/"), "the SDK's lookup has no proxy url", info);
  mediaURL = info.url;
});
await sc.run("media_download", async () => {
  check(mediaURL !== null, "no media url: the lookup failed");
  // The SDK sends no Authorization here, and Host: lookaside.fbsbx.com.
  const res = await client.media.download({ mediaURL, request: { retry: 0 } });
  const buf = Buffer.from(await res.arrayBuffer());
  check(buf.length === img.data.length && sha256hex(buf) === img.sha256, "the downloaded bytes differ from the upload",
    { size: buf.length });
});
await sc.run("media_delete", async () => {
  await uploaded();
  const res = await json(client.media.delete({ mediaID: img.id, phoneNumberID }));
  check(res?.success === true, "the SDK's delete answer is not success true", res);
  let after;
  try {
    after = await client.media.getURL({ mediaID: img.id, phoneNumberID }).json();
  } catch (err) {
    check(err?.name === "HTTPError" && err.response, "a lookup after the delete did not raise ky's HTTPError", describeError(err));
    const body = await err.response.json().catch(() => null);
    check(err.response.status === 400 && isUnknownObject(body), "a lookup after the delete is not Graph's unknown object",
      { status: err.response.status, body });
    return;
  }
  throw new CheckError("a lookup after the delete succeeded", after);
});

sc.report("flows_lifecycle", "n/a", "no Flows API");

await sc.run("error_surface", async () => {
  let res;
  try {
    res = await client.message.createMessage({ phoneNumberID, to: env.badTo, type: "text", text: { body: "This recipient is rejected" } }).json();
  } catch (err) {
    check(err?.name === "HTTPError" && err.response, "the SDK did not raise ky's HTTPError", describeError(err));
    check(err.response.status === 400, "the SDK's error is not HTTP 400", { status: err.response.status });
    const body = await err.response.json().catch(() => null);
    const e = body?.error;
    check(e?.code === 100, "the error body has no code 100", body);
    check(typeof e.message === "string" && /Invalid parameter/.test(e.message), "the error body lacks the proxy's message", body);
    check(typeof e.error_data?.details === "string" && e.error_data.details !== "", "the error body lacks the proxy's details", body);
    check(typeof e.fbtrace_id === "string" && e.fbtrace_id !== "", "the error body lacks the trace id", body);
    return;
  }
  throw new CheckError("the send to the refused recipient succeeded", res);
});

// ------------------------------------------------------------- webhooks
const inbound = await sc.sendsDone();
await reportWebhooks(sc, hook, inbound, env, {});
sc.finish();
