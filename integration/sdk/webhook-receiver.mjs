// A webhook endpoint that checks what the proxy delivers with the webhook code
// of real WhatsApp Cloud API SDKs, the way an app behind the proxy would.
//
// Environment:
//   APP_SECRET    Meta app secret the deliveries are signed with (required)
//   VERIFY_TOKEN  token expected in the GET verification handshake (optional;
//                 without it every handshake is refused)
//   PORT          port on 127.0.0.1 (default 0: any free port)
//
// stdout, one JSON line each:
//   {"listening":<port>}                                   once, when ready
//   {"verify":true|false}                                  per GET handshake
//   {"kapso":bool,"wajs":bool,"great":bool|null,...}       per POST (see below)
//
// GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=… is answered by
// whatsapp-api-js's get(): 200 with the challenge as the body, or 403.
//
// POST: the raw body's X-Hub-Signature-256 is checked three independent ways:
//   kapso  @kapso/whatsapp-cloud-api/server verifySignature: HMAC over the raw
//          bytes as received
//   wajs   whatsapp-api-js WhatsAppAPI.post(): HMAC over the body with every
//          character above "~" re-escaped as a lowercase \uXXXX, i.e. it only
//          passes when the body is pure ASCII JSON escaped the way Meta does
//          (or the signature was computed over that escaped form)
//   great  @great-detail/whatsapp webhook.eventNotification().checkSignature():
//          HMAC over the UTF-8 body (null when that package is not installed)
// The answer is 200 with an empty body when every available check passes,
// else 401. The POST line also carries:
//   ascii           every body byte < 0x80
//   json            the body parses as JSON
//   content_length  a Content-Length header was sent
//   content_type    the Content-Type header, or null
//   sha1            an X-Hub-Signature header was sent
//   sha1_valid      that sha1= signature is right (checked with
//                   @great-detail/whatsapp), null without the header or package
//   status          Kapso normalizeWebhook: first status {id,status}, or null
//   message         Kapso normalizeWebhook: first message {id,type,from}, or null
//   wajs_event      what whatsapp-api-js dispatched to its handlers:
//                   {"kind":"status","id","status","phone"} or
//                   {"kind":"message","id","type","from"}, or null
//   wajs_error      error thrown by whatsapp-api-js after the signature passed
//                   (payload it cannot handle), or null
//   great_error     error thrown by @great-detail/whatsapp, or null
//   method, path    of the request
//   body            the raw body as a UTF-8 string
//
// SIGTERM/SIGINT close the server and exit 0.

import { createServer } from "node:http";
import { readBody } from "./scenario.mjs";
import { normalizeWebhook, verifySignature } from "@kapso/whatsapp-cloud-api/server";
import { WhatsAppAPI } from "whatsapp-api-js";
import {
  WhatsAppAPIFailedToVerifyError,
  WhatsAppAPIMissingAppSecretError,
  WhatsAppAPIMissingCryptoSubtleError,
  WhatsAppAPIMissingRawBodyError,
  WhatsAppAPIMissingSignatureError,
} from "whatsapp-api-js/errors";

const appSecret = process.env.APP_SECRET;
if (!appSecret) {
  console.error("webhook-receiver.mjs: missing environment variable: APP_SECRET");
  process.exit(2);
}
const verifyToken = process.env.VERIFY_TOKEN || undefined;
const port = Number(process.env.PORT || 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`webhook-receiver.mjs: bad PORT: ${process.env.PORT}`);
  process.exit(2);
}


// @great-detail/whatsapp is optional: its checks report null without it.
let greatClient = null;
try {
  const { Client } = await import("@great-detail/whatsapp");
  greatClient = new Client();
} catch (err) {
  console.error(`webhook-receiver.mjs: @great-detail/whatsapp unavailable: ${err?.message ?? err}`);
}

// whatsapp-api-js errors raised before or by the signature check: anything
// else it throws comes after the signature passed.
const wajsSignatureErrors = [
  WhatsAppAPIFailedToVerifyError,
  WhatsAppAPIMissingSignatureError,
  WhatsAppAPIMissingRawBodyError,
  WhatsAppAPIMissingAppSecretError,
  WhatsAppAPIMissingCryptoSubtleError,
];

const wajs = new WhatsAppAPI({
  token: "unused",
  appSecret,
  webhookVerifyToken: verifyToken,
  v: "v23.0",
  ponyfill: { fetch, subtle: globalThis.crypto.subtle },
});
// post() returns what the handler returns, so nothing is shared between
// concurrent requests. It dispatches only entry[0].changes[0] and, within it,
// messages[0] or statuses[0].
wajs.on.message = ({ message, from }) => ({ kind: "message", id: message?.id ?? null, type: message?.type ?? null, from: from ?? null });
wajs.on.status = ({ id, status, phone }) => ({ kind: "status", id: id ?? null, status: status ?? null, phone: phone ?? null });

function emit(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function errText(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function header(req, name) {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(", ") : String(v);
}


function reply(res, code, body = "", type) {
  try {
    if (type) res.setHeader("Content-Type", type);
    res.statusCode = code;
    res.end(body);
  } catch (err) {
    console.error(`webhook-receiver.mjs: reply failed: ${errText(err)}`);
  }
}

function handleGet(req, res, url) {
  let ok = false;
  let challenge = "";
  try {
    const c = wajs.get(Object.fromEntries(url.searchParams));
    ok = true;
    challenge = c == null ? "" : String(c);
  } catch {
    ok = false;
  }
  emit({ verify: ok });
  if (ok) reply(res, 200, challenge, "text/plain");
  else reply(res, 403);
}

async function handlePost(req, res, url) {
  const raw = await readBody(req);
  const text = raw.toString("utf8");
  const sig256 = header(req, "x-hub-signature-256");
  const sig1 = header(req, "x-hub-signature");

  let payload = null;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = null;
  }

  // (a) Kapso: HMAC over the raw bytes.
  let kapso = false;
  try {
    kapso = verifySignature({ appSecret, rawBody: raw, signatureHeader: sig256 }) === true;
  } catch {
    kapso = false;
  }

  // (b) whatsapp-api-js: post() checks the signature over the re-escaped body
  // first, then dispatches to on.message / on.status.
  let wajsOk = false;
  let wajsEvent = null;
  let wajsError = null;
  try {
    wajsEvent = (await wajs.post(payload ?? {}, text, sig256)) ?? null;
    wajsOk = true;
  } catch (err) {
    if (wajsSignatureErrors.some((cls) => err instanceof cls)) {
      wajsOk = false;
    } else {
      wajsOk = true;
      wajsError = errText(err);
    }
  }

  // (c) @great-detail/whatsapp: HMAC over the UTF-8 body.
  let great = null;
  let sha1Valid = null;
  let greatError = null;
  if (greatClient) {
    great = false;
    try {
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      const event = await greatClient.webhook.eventNotification({
        method: req.method,
        headers,
        body: text,
        query: Object.fromEntries(url.searchParams),
      });
      great = (await event.checkSignature(appSecret)) === true;
      if (sig1 !== undefined) sha1Valid = (await event.signature.sha1.check(appSecret)) === true;
    } catch (err) {
      great = false;
      greatError = errText(err);
    }
  }

  let status = null;
  let message = null;
  try {
    if (payload !== null) {
      const n = normalizeWebhook(payload);
      const s = n.statuses[0];
      if (s) status = { id: s.id ?? null, status: s.status ?? null };
      const m = n.messages[0];
      if (m) message = { id: m.id ?? null, type: m.type ?? null, from: m.from ?? null };
    }
  } catch {
    // Kapso's normalizer never throws on odd shapes, but stay safe.
  }

  const ok = kapso && wajsOk && great !== false;
  emit({
    kapso,
    wajs: wajsOk,
    great,
    ascii: raw.every((b) => b < 0x80),
    json: payload !== null,
    content_length: req.headers["content-length"] !== undefined,
    content_type: header(req, "content-type") ?? null,
    sha1: sig1 !== undefined,
    sha1_valid: sha1Valid,
    status,
    message,
    wajs_event: wajsEvent,
    wajs_error: wajsError,
    great_error: greatError,
    method: req.method,
    path: url.pathname,
    body: text,
  });
  reply(res, ok ? 200 : 401);
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET") {
      handleGet(req, res, url);
    } else if (req.method === "POST") {
      await handlePost(req, res, url);
    } else {
      reply(res, 405);
    }
  } catch (err) {
    console.error(`webhook-receiver.mjs: ${req.method} ${req.url}: ${errText(err)}`);
    if (!res.headersSent) reply(res, 400);
    else res.destroy();
  }
});

server.on("clientError", (err, socket) => {
  try {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  } catch {
    // nothing to do
  }
});

server.on("error", (err) => {
  console.error(`webhook-receiver.mjs: server error: ${errText(err)}`);
  process.exit(1);
});

process.on("uncaughtException", (err) => console.error(`webhook-receiver.mjs: uncaught: ${errText(err)}`));
process.on("unhandledRejection", (err) => console.error(`webhook-receiver.mjs: unhandled: ${errText(err)}`));

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

server.listen(port, "127.0.0.1", () => {
  emit({ listening: server.address().port });
});
