// Package gupshupsim is a simulated Gupshup Partner API for tests and local
// demos. A *Sim is an http.Handler; mount it on an httptest.Server (or any
// http.Server) and point a Gupshup client at its base URL.
//
// # Simulated endpoints
//
// All paths are relative to the base URL (https://partner.gupshup.io for the
// real service).
//
//   - POST /partner/account/login — form fields "email" and "password" (the
//     field "secret" is accepted as well). On success it answers 200 with
//     {"token":…,"id":1003,"name":"Sim Partner","email":…,"admin":true,
//     "billingType":"POSTPAID","enableWallet":true,"enableAppOnboarding":true,
//     "isTpp":false}. Every login issues a fresh, opaque partner token; all
//     partner tokens issued before remain valid (they never expire).
//     Rate limit: 10 requests per sliding 60 s window.
//   - GET /partner/app/{appId}/token (a trailing "/" is accepted) — the
//     partner token goes raw in the Authorization header or in a "token"
//     header. It answers 200 with {"status":"success","token":{"token":"sk_…",
//     "authoriserId":…,"requestorId":…,"createdOn":<ms>,"modifiedOn":<ms>,
//     "expiresOn":0,"active":true}}. The call is idempotent: it returns the
//     app's current token. Rate limit: 10 requests per sliding 60 s window
//     per app.
//   - POST /partner/app/{appId}/v3/message — the v3 passthrough send. The app
//     token goes raw in the Authorization header; "Bearer <token>" is
//     rejected. The body is either Meta JSON (Content-Type application/json)
//     or application/x-www-form-urlencoded with one field per top-level Meta
//     member and objects/arrays as JSON strings. Without a Content-Type the
//     body is treated as JSON when it starts with "{" and as a form
//     otherwise. On success it answers 200 with
//     {"messages":[{"id":"<uuid v4>"}],"messaging_product":"whatsapp",
//     "contacts":[{"input":"<to>","wa_id":"<digits of to>"}]}. When only
//     "recipient" (a BSUID) is given, it stands in for "to".
//   - GET /healthz — 200 {"status":"ok"}. Not a Gupshup endpoint.
//
// Any other path answers 404 and a known path called with the wrong method
// answers 405 (with an Allow header).
//
// # Errors
//
// Error bodies have Gupshup's shape {"status":"error","message":"…"} with
// Content-Type application/json. The messages documented by Gupshup are used
// where known: "Invalid App Details" (400, unknown app id), "Authentication
// Failed" (401, missing or wrong token) and "Too Many Requests" (429).
// The following wordings are the simulator's own, since Gupshup does not
// document them:
//
//   - "Invalid Credentials" (401) for a failed login;
//   - "<field> is missing/invalid" (400) for a v3 send whose body fails
//     validation, where <field> is one of "body", "messaging_product", "to"
//     (used when neither "to" nor "recipient" is present), "type" or the
//     name of the type object (for example "text is missing/invalid");
//   - "Unsupported Content-Type" (400) for a v3 send whose body is neither
//     JSON nor a URL-encoded form;
//   - "Not Found" (404), "Method Not Allowed" (405) and
//     "Request Entity Too Large" (413, bodies over MaxBodyBytes).
//
// The v3 send checks, in order: the app exists (400), the Authorization
// header equals the app's current token (401), the body parses (400),
// messaging_product is "whatsapp", "to" or "recipient" is a non-empty string,
// "type" is a non-empty string, and the member named by "type" is present and
// a JSON object (400). Then the magic destinations below apply.
//
// Rate-limited answers (429) carry a Retry-After header with the number of
// seconds until the window admits another request. Requests rejected with 429
// do not count towards the window; all others do, including failed logins.
// Options.DisableRateLimits turns the limits off.
//
// # Magic destinations
//
// A v3 send whose destination ("to", or "recipient" when "to" is absent) ends
// with one of these suffixes fails in a fixed way, so that error mapping can
// be exercised by hand against the standalone simulator:
//
//	suffix       status  body
//	0000001002   400     {"status":"error","message":"Number does not exist on WhatsApp","code":1002}
//	0000001003   400     {"status":"error","message":"Wallet Balance Low","code":1003}
//	0000000400   400     {"status":"error","message":"Invalid Destination"}
//	0000000429   429     {"status":"error","message":"Too Many Requests"}  (with Retry-After: 1)
//
// The suffixes are exported as SuffixNotOnWhatsApp, SuffixWalletLow,
// SuffixInvalidDestination and SuffixRateLimited. Gupshup does not document
// whether codes 1002/1003 are reported synchronously on v3; the simulator
// chooses to.
//
// # Test hooks
//
// Every request is recorded (see Requests, Count and Reset), including those
// that hit a fault. Faults (see Inject) delay a request, answer it with a
// fixed status and body, add response headers, or reset the TCP connection.
// Note that Go's http.Transport transparently retries an idempotent request
// (such as a GET) that fails on a reused keep-alive connection, so a Reset
// fault on such a request may be consumed without the caller seeing an
// error; POST requests are not retried.
//
// A Sim is safe for concurrent use.
package gupshupsim
