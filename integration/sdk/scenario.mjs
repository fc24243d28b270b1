// Shared by the SDK scripts: each prints one JSON line per scenario,
//   {"scenario":"…","ok":true,…}   or   {"scenario":"…","ok":false,"error":{…}}
// and exits 1 when any scenario failed (2 on missing configuration).

import { GraphApiError } from "@kapso/whatsapp-cloud-api";

let failed = false;

// requireEnv exits 2 naming the missing variables.
export function requireEnv(script, names) {
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    console.error(`${script}: missing environment variables: ${missing.join(", ")}`);
    process.exit(2);
  }
}

// emit prints one line; a line without ok:true marks the run failed.
export function emit(line) {
  if (!line.ok) failed = true;
  process.stdout.write(JSON.stringify(line) + "\n");
}

// describeError: every field Kapso's GraphApiError exposes, with null for
// the absent ones so that each key is always present in the output.
export function describeError(err, { stack = true } = {}) {
  if (!(err instanceof Error)) return { name: typeof err, message: String(err) };
  const out = { name: err.name, message: err.message };
  if (err instanceof GraphApiError) {
    for (const key of ["httpStatus", "code", "type", "errorSubcode", "fbtraceId", "details", "errorData", "category", "retry", "raw"]) {
      out[key] = err[key] ?? null;
    }
  }
  if (err.cause !== undefined) out.cause = String(err.cause?.message ?? err.cause);
  if (stack) out.stack = err.stack ?? null;
  return out;
}

// CheckError is a failed expectation, with what was seen.
export class CheckError extends Error {
  constructor(message, detail) {
    super(message);
    this.name = "CheckError";
    this.detail = detail;
  }
}

export function check(cond, message, detail) {
  if (!cond) throw new CheckError(message, detail);
}

// step runs one scenario; fn returns the members to print with ok:true.
export async function step(scenario, fn) {
  try {
    const extra = (await fn()) ?? {};
    emit({ scenario, ok: true, ...extra });
    return extra;
  } catch (err) {
    const line = { scenario, ok: false, error: describeError(err) };
    if (err instanceof CheckError) line.detail = err.detail ?? null;
    emit(line);
    return null;
  }
}

// expectGraphError runs fn, which must fail with Kapso's GraphApiError of
// the given HTTP status, code and (when given) subcode, carrying a trace
// id; it returns the error for the scenario's line.
export async function expectGraphError(fn, status, code, subcode) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    check(err instanceof GraphApiError, "not a GraphApiError", describeError(err));
    check(err.httpStatus === status && err.code === code, `want HTTP ${status} code ${code}`, describeError(err));
    if (subcode !== undefined) check(err.errorSubcode === subcode, `want subcode ${subcode}`, describeError(err));
    check(typeof err.fbtraceId === "string" && err.fbtraceId !== "", "no fbtrace_id", describeError(err));
    return { error: describeError(err, { stack: false }) };
  }
  throw new CheckError("the call succeeded", res);
}

// readBody reads a request body (at most 16 MiB).
export function readBody(req, max = 16 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > max) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

// finish sets the exit code: 1 when any scenario failed.
export function finish() {
  process.exitCode = failed ? 1 : 0;
}

// A two-screen flow JSON (Meta's sample shape) with non-ASCII text, in
// Kapso's authoring case (onClickAction; the SDK sends on-click-action).
export const flowJson = {
  version: "6.0",
  screens: [
    {
      id: "WELCOME",
      title: "Bienvenue ☕",
      data: {},
      layout: {
        type: "SingleColumnLayout",
        children: [
          { type: "TextHeading", text: "Réservez une table" },
          {
            type: "Footer",
            label: "Continuer",
            onClickAction: { name: "navigate", next: { type: "screen", name: "DONE" }, payload: {} },
          },
        ],
      },
    },
    {
      id: "DONE",
      title: "Merci",
      terminal: true,
      data: {},
      layout: {
        type: "SingleColumnLayout",
        children: [
          { type: "TextBody", text: "À bientôt" },
          { type: "Footer", label: "Terminer", onClickAction: { name: "complete", payload: {} } },
        ],
      },
    },
  ],
};
