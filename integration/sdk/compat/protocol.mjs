// Shared by the SDK compatibility scenarios (integration/sdk/compat/<id>.mjs):
// the line protocol with the Go orchestrator (integration/compat_test.go),
// the capability bookkeeping and the webhook side's record.
//
// stdout carries JSON lines only:
//   {"event":"listening"}                        the webhook side listens
//   {"capability":"text","result":"pass"}        one per capability, in the
//   {"capability":"…","result":"n/a","detail":"…"}   order of CAPABILITIES
//   {"event":"sends-done","message_ids":[…]}     ids /messages returned
//   {"event":"done"}                             last line; exit 0 when no
//                                                capability failed, else 1
// stdin carries the orchestrator's lines:
//   verified <true|false>    the proxy's verification handshake got the
//                            challenge back (or not)
//   inbound <wamid> [text]   the simulated user sent a text message
// stderr is free: the evidence of every failure goes there.
//
// A capability's result is "pass" (no detail), "fail", "n/a" or "defect",
// the last three with ONE short deterministic sentence (no ids, ports,
// times): it goes into docs/compatibility.md.

import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { CheckError, check, describeError, readBody, requireEnv } from "../scenario.mjs";

export { CheckError, check, describeError, readBody };

// Every script reports every one of these, exactly once, in this order.
export const CAPABILITIES = Object.freeze([
  "text", "media_id", "media_link", "location", "contacts", "reaction", "reply_context",
  "interactive_button", "interactive_list", "interactive_cta_url", "interactive_flow", "interactive_product",
  "interactive_product_list", "interactive_catalog", "interactive_location_request", "interactive_address",
  "template_params", "template_media_header", "template_quick_reply", "template_copy_code", "template_lto",
  "template_carousel", "template_mpm",
  "mark_read", "typing",
  "media_upload", "media_lookup", "media_download", "media_delete",
  "flows_lifecycle",
  "error_surface",
  "webhook_verify", "webhook_signature", "webhook_message", "webhook_status",
]);

const RESULTS = new Set(["pass", "fail", "n/a", "defect"]);

// The statuses Meta reports for a sent message (Gupshup's "enqueued" is not
// relayed).
const SENT_STATUSES = new Set(["sent", "delivered", "read"]);

// na and defect are what a capability function returns instead of passing.
// started runs fn at once and returns a function whose promise settles
// like fn's: await it where the result is needed (its failure surfaces
// there, not as an unhandled rejection).
export function started(fn) {
  const p = fn();
  p.catch(() => {});
  return () => p;
}

export const na = (detail) => ({ result: "n/a", detail });
export const defect = (detail) => ({ result: "defect", detail });

// loadEnv checks the contract's environment (exit 2 naming what is
// missing) and returns it, the base URL without a trailing slash.
export function loadEnv(script) {
  requireEnv(script, [
    "PROXY_BASE_URL", "ACCESS_TOKEN", "PHONE_NUMBER_ID", "WABA_ID", "TO", "BAD_TO",
    "WEBHOOK_PORT", "APP_SECRET", "VERIFY_TOKEN", "USER_NUMBER",
  ]);
  const e = process.env;
  const port = Number(e.WEBHOOK_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error(`${script}: bad WEBHOOK_PORT: ${e.WEBHOOK_PORT}`);
    process.exit(2);
  }
  return {
    baseUrl: e.PROXY_BASE_URL.replace(/\/+$/, ""),
    accessToken: e.ACCESS_TOKEN,
    otherToken: e.OTHER_TOKEN || "",
    phoneNumberId: e.PHONE_NUMBER_ID,
    wabaId: e.WABA_ID,
    to: e.TO,
    badTo: e.BAD_TO,
    graphVersion: e.GRAPH_VERSION || "v23.0",
    webhookPort: port,
    appSecret: e.APP_SECRET,
    verifyToken: e.VERIFY_TOKEN,
    userNumber: e.USER_NUMBER.replace(/\D/g, ""),
    // The message marked as read (a user's message id, Meta's format).
    readMessageId: e.READ_MESSAGE_ID || "wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhggQTFCMkMzRDRFNUY2QTdCOEM5RDBFMUYyQTNCNEM1RDYA",
  };
}

function line(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function oneLine(s, max = 200) {
  const first = String(s ?? "").split("\n")[0].trim();
  return first.length > max ? first.slice(0, max - 1) + "…" : first;
}

// failDetail is the detail of a failed capability: a CheckError's message
// (written to be deterministic), else the error's name and first line.
function failDetail(err) {
  if (err instanceof CheckError) return oneLine(err.message);
  // Kapso's GraphApiError carries error_data.details apart.
  if (err instanceof Error && typeof err.details === "string" && err.details !== "") {
    return oneLine(`${err.name}: ${err.message} (${err.details})`);
  }
  // fetch's "fetch failed" names the reason in its cause.
  const cause = err?.cause?.code ?? err?.cause?.message;
  if (err instanceof Error && cause) return oneLine(`${err.name}: ${err.message} (${cause})`);
  if (err instanceof Error) return oneLine(`${err.name}: ${err.message}`);
  return oneLine(String(err));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Scenario is one script's run: stdin lines, capability lines in order,
// the message ids, the exit.
export class Scenario {
  constructor(script, { timeoutMs = 240_000 } = {}) {
    this.script = script;
    this.results = new Map(); // capability → {result, detail}
    this.cursor = 0; // CAPABILITIES[cursor] is the next to print
    this.bookkeepingError = false;
    this.finished = false;
    this.messageIds = [];
    this.verified = null; // "true" / "false" / null (no line)

    // stdin: lines kept by their first word until someone asks for them.
    this.lines = new Map(); // keyword → [rest of the line…]
    this.waiters = new Map(); // keyword → [resolve…]
    this.stdinClosed = false;
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on("line", (raw) => {
      const m = /^\s*(\S+)\s*(.*?)\s*$/.exec(raw);
      if (!m) return;
      const [, kw, rest] = m;
      this.log(`stdin: ${raw.trim()}`);
      const ws = this.waiters.get(kw);
      if (ws && ws.length > 0) ws.shift()(rest);
      else {
        if (!this.lines.has(kw)) this.lines.set(kw, []);
        this.lines.get(kw).push(rest);
      }
    });
    rl.on("close", () => {
      this.stdinClosed = true;
      for (const ws of this.waiters.values()) for (const w of ws.splice(0)) w(null);
    });
    this.rl = rl;

    process.on("uncaughtException", (err) => this.log(`uncaught: ${err?.stack ?? err}`));
    process.on("unhandledRejection", (err) => this.log(`unhandled rejection: ${err?.stack ?? err}`));
    // The whole run's bound: what has not been reported by then fails.
    this.watchdog = setTimeout(() => {
      this.log(`the scenario did not finish within ${timeoutMs} ms`);
      this.finish("the scenario timed out before reporting this capability");
    }, timeoutMs);
    this.watchdog.unref();
  }

  log(msg) {
    process.stderr.write(`${this.script}: ${msg}\n`);
  }

  event(name, extra = {}) {
    if (this.finished && name !== "done") return;
    line({ event: name, ...extra });
  }

  // waitLine resolves the rest of the next stdin line starting with keyword
  // (trimmed), or null after timeoutMs or at the end of stdin.
  waitLine(keyword, timeoutMs) {
    const queued = this.lines.get(keyword);
    if (queued && queued.length > 0) return Promise.resolve(queued.shift());
    if (this.stdinClosed) return Promise.resolve(null);
    return new Promise((resolve) => {
      let done = false;
      const finish = (v) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const ws = this.waiters.get(keyword);
        const i = ws ? ws.indexOf(finish) : -1;
        if (i >= 0) ws.splice(i, 1);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.log(`no "${keyword}" line within ${timeoutMs} ms`);
        finish(null);
      }, timeoutMs);
      if (!this.waiters.has(keyword)) this.waiters.set(keyword, []);
      this.waiters.get(keyword).push(finish);
    });
  }

  // awaitVerified waits for the orchestrator's "verified" line (step 2).
  async awaitVerified(timeoutMs = 20_000) {
    const rest = await this.waitLine("verified", timeoutMs);
    this.verified = rest === null ? null : rest.split(/\s+/)[0];
    return this.verified;
  }

  // until polls cond every 50 ms until it holds (true) or timeoutMs passed
  // (false).
  async until(cond, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (cond()) return true;
      if (Date.now() >= deadline) return false;
      await sleep(50);
    }
  }

  // report records a capability's result; lines are printed in the order of
  // CAPABILITIES as soon as every earlier one is known.
  report(capability, result, detail) {
    if (this.finished) {
      this.log(`capability ${capability} reported after the end (${result}): ignored`);
      return;
    }
    if (!CAPABILITIES.includes(capability)) {
      this.log(`unknown capability ${capability}`);
      this.bookkeepingError = true;
      return;
    }
    if (this.results.has(capability)) {
      this.log(`capability ${capability} reported twice (${result}: ${detail ?? ""}); the first result stands`);
      this.bookkeepingError = true;
      return;
    }
    if (!RESULTS.has(result)) {
      this.log(`capability ${capability}: unknown result ${result}`);
      this.bookkeepingError = true;
      result = "fail";
      detail = "the scenario reported an unknown result";
    }
    if (result !== "pass" && !(typeof detail === "string" && detail.trim() !== "")) {
      this.log(`capability ${capability}: ${result} without a detail`);
      this.bookkeepingError = true;
      detail = "no detail given";
    }
    this.results.set(capability, result === "pass" ? { result } : { result, detail: oneLine(detail) });
    this.flush();
  }

  flush() {
    while (this.cursor < CAPABILITIES.length && this.results.has(CAPABILITIES[this.cursor])) {
      const cap = CAPABILITIES[this.cursor++];
      line({ capability: cap, ...this.results.get(cap) });
    }
  }

  // run runs one capability: fn returns nothing (pass) or na()/defect(); a
  // throw is a failure, and so is taking longer than timeoutMs.
  async run(capability, fn, { timeoutMs = 30_000 } = {}) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new CheckError(`timed out after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      const out = await Promise.race([Promise.resolve().then(fn), timeout]);
      if (out && typeof out === "object" && RESULTS.has(out.result)) this.report(capability, out.result, out.detail);
      else this.report(capability, "pass");
    } catch (err) {
      const evidence = describeError(err);
      if (err instanceof CheckError) evidence.detail = err.detail ?? null;
      this.log(`${capability} failed: ${JSON.stringify(evidence)}`);
      this.report(capability, "fail", failDetail(err));
    } finally {
      clearTimeout(timer);
    }
  }

  // sent records a message id /messages returned.
  sent(id) {
    if (typeof id === "string" && id !== "" && !this.messageIds.includes(id)) this.messageIds.push(id);
  }

  // answered checks an SDK's parsed answer to a send to the recipient to
  // (Meta's shape; keys names the SDK's spelling of messaging_product and
  // wa_id), records its message id with sent and returns it.
  answered(res, to, keys = { messagingProduct: "messaging_product", waId: "wa_id" }) {
    const id = res?.messages?.[0]?.id;
    check(typeof id === "string" && id !== "", "the SDK's answer has no message id", res);
    check(res[keys.messagingProduct] === "whatsapp", "the SDK's answer has no messaging_product", res);
    check(res.contacts?.[0]?.[keys.waId] === to, "the SDK's answer has the wrong contacts wa_id", res);
    this.sent(id);
    return id;
  }

  // sendsDone is step 4: the ids, then the orchestrator's "inbound" line.
  // It returns {id, text} (text "" when the line has none) or null.
  async sendsDone(timeoutMs = 30_000) {
    this.event("sends-done", { message_ids: this.messageIds });
    const rest = await this.waitLine("inbound", timeoutMs);
    const m = rest === null ? null : /^(\S+)\s*(.*)$/.exec(rest);
    if (!m) return null;
    return { id: m[1], text: m[2] };
  }

  // finish reports what is missing as failed, prints "done" and exits.
  finish(missingDetail = "the scenario did not report this capability") {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.watchdog);
    for (const cap of CAPABILITIES) {
      if (!this.results.has(cap)) {
        this.log(`capability ${cap} was not reported`);
        this.results.set(cap, { result: "fail", detail: missingDetail });
      }
    }
    this.flush();
    this.event("done");
    const failed = this.bookkeepingError || [...this.results.values()].some((r) => r.result === "fail");
    const code = failed ? 1 : 0;
    this.rl.close();
    process.stdin.destroy();
    process.stdout.write("", () => process.exit(code));
  }
}

// WebhookLog is what the webhook side saw, as the SDK's own code saw it.
export class WebhookLog {
  constructor() {
    // One per GET handshake: sdk is true when the SDK's own code accepted
    // the token and produced the challenge that was answered.
    this.handshakes = [];
    // One per POST: signature true/false (the SDK's check), or null when
    // the SDK has none; error: what the SDK threw after the check, if
    // anything.
    this.deliveries = [];
    // What the SDK's parser produced: {id, from, text} and {id, status}.
    this.messages = [];
    this.statuses = [];
  }

  handshake(sdk) {
    this.handshakes.push({ sdk });
  }

  delivery(signature, error = null) {
    this.deliveries.push({ signature, error });
  }

  message(m) {
    this.messages.push({ id: m.id ?? null, from: m.from ?? null, text: m.text ?? null });
  }

  status(s) {
    this.statuses.push({ id: s.id ?? null, status: s.status ?? null });
  }
}


// headersOf flattens node's request headers to strings.
export function headersOf(req) {
  const out = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

// listen serves the webhook side on 127.0.0.1:port: handler(req, res, url)
// gets the requests to /webhook; anything else answers 404.
export function listen(sc, port, handler) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/webhook") {
      res.statusCode = 404;
      res.end();
      return;
    }
    try {
      await handler(req, res, url);
    } catch (err) {
      sc.log(`webhook ${req.method}: ${err?.stack ?? err}`);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else res.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      server.on("error", (err) => sc.log(`webhook server: ${err?.stack ?? err}`));
      resolve(server);
    });
  });
}

// reportWebhooks is step 5: wait (at most waitMs) until the webhook side
// has the inbound message and a status of one of the sent messages, then
// report the four webhook capabilities. offers says, per capability, true
// when the SDK has the facility or na(…) when it lacks it.
export async function reportWebhooks(sc, hook, inbound, env, offers, { waitMs = 15_000 } = {}) {
  const ids = new Set(sc.messageIds);
  const inboundSeen = () => inbound !== null && hook.messages.some((m) => m.id === inbound.id);
  const statusSeen = () => hook.statuses.some((s) => ids.has(s.id) && SENT_STATUSES.has(s.status));
  await sc.until(() => (inbound === null || inboundSeen()) && statusSeen(), waitMs);
  sc.log(`webhook side: ${hook.handshakes.length} handshakes, ${hook.deliveries.length} deliveries, ` +
    `${hook.messages.length} messages, ${hook.statuses.length} statuses`);

  const offered = (cap, fn) => {
    const o = offers[cap];
    if (o && typeof o === "object" && o.result) sc.report(cap, o.result, o.detail);
    else return sc.run(cap, fn);
  };

  await offered("webhook_verify", () => {
    check(sc.verified !== null, "the orchestrator sent no verified line");
    check(hook.handshakes.some((h) => h.sdk), "the SDK's handshake code answered no verification request", hook.handshakes);
    check(sc.verified === "true", "the proxy's verification handshake failed", sc.verified);
  });
  await offered("webhook_signature", () => {
    check(hook.deliveries.length > 0, "no webhook delivery arrived");
    const rejected = hook.deliveries.filter((d) => d.signature !== true);
    check(rejected.length === 0, "the SDK's signature check rejected a delivery", rejected);
  });
  await offered("webhook_message", () => {
    check(inbound !== null, "the orchestrator sent no inbound line");
    const m = hook.messages.find((x) => x.id === inbound.id);
    check(m !== undefined, "the SDK's parser produced no message with the inbound id", hook.messages);
    check(m.from === env.userNumber, "the parsed message has the wrong sender", m);
    check(typeof m.text === "string" && m.text !== "", "the parsed message has no text", m);
    if (inbound.text) check(m.text === inbound.text, "the parsed message has the wrong text", { want: inbound.text, got: m });
  });
  await offered("webhook_status", () => {
    check(hook.statuses.length > 0, "the SDK's parser produced no status");
    check(statusSeen(), "the SDK's parser produced no status of a sent message", hook.statuses.slice(0, 10));
  });
}

// Test files: random bytes between a format's magic numbers.
export function fakeJPEG(size) {
  const buf = randomBytes(size);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(buf, 0);
  Buffer.from([0xff, 0xd9]).copy(buf, size - 2);
  return buf;
}

export const sha256hex = (buf) => createHash("sha256").update(buf).digest("hex");

// Meta-format bodies shared by the scenarios (raw JSON SDKs send them as
// they are; builder SDKs build the same messages).
export const sample = {
  text: "héllo ✓ 😀 https://example.com/page",
  imageLink: "https://example.com/media/photo.jpg",
  location: { latitude: 48.8584, longitude: 2.2945, name: "Tour Eiffel", address: "Champ de Mars, 75007 Paris" },
  catalogId: "1234567890123456",
  flowId: "1234567890123456",
  ltoExpiration: 1767225599000,
};

// checkNoGraphError fails with the proxy's wording when an SDK that hands
// back error bodies (instead of throwing) got one.
export function checkNoGraphError(res) {
  const e = res?.error;
  if (e && typeof e === "object") {
    const details = e.error_data?.details ? ` (${e.error_data.details})` : "";
    throw new CheckError(`the proxy answered ${e.message ?? "an error"}${details}`, res);
  }
}

// Graph's unknown-object error (a deleted media id): 100/33.
export function isUnknownObject(body) {
  return body?.error?.code === 100 && body?.error?.error_subcode === 33;
}
