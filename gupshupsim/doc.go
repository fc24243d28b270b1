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
//   - Subscriptions (callback configuration), app token raw in the
//     Authorization header like the v3 send:
//     POST /partner/app/{appId}/subscription creates (form fields below) and
//     answers 200 {"status":"success","subscription":{…}};
//     GET …/subscription lists: 200 {"status":"success","subscriptions":[…]}
//     (Gupshup's docs name 204, but a 204 cannot carry the body they show);
//     GET …/subscription/{id} answers 200 {"status":"success","subscription":{…}};
//     PUT …/subscription/{id} updates the fields given (all optional) and
//     answers like GET; DELETE …/subscription/{id} and DELETE …/subscription
//     (all of the app's) answer 204 without a body. See Subscriptions below.
//   - POST /partner/app/{appId}/v1/event — mark as read, optionally with a
//     typing indicator; app token as on the v3 send. The body is JSON
//     {"type":"message-event","message":{"messaging_product":"whatsapp",
//     "status":"read","message_id":"<wamid>","typing_indicator":{"type":"text"}}},
//     read as JSON whatever the Content-Type (Gupshup's sample declares a
//     form). It answers 200 {"status":"success"}; see Media and events
//     below for the checks. Accepted events' message objects are kept (see
//     Events).
//   - POST /partner/app/{appId}/media — upload, multipart/form-data with a
//     file part "file" (with a filename) and the field "file_type" (its media
//     type); app token as on the v3 send. It answers 200
//     {"mediaId":"<16 digits>","status":"success"}.
//     GET /partner/app/{appId}/media/{mediaId} (a trailing "/" is accepted)
//     answers the raw bytes with Content-Type file_type and Content-Length;
//     DELETE …/media/{mediaId} answers 200 {"status":"success"}. See Media
//     and events below.
//   - Flow management (Gupshup's ten flow endpoints), app token as on the
//     v3 send: POST /partner/app/{appId}/flows creates;
//     GET …/flows lists; GET, PUT and DELETE …/flows/{flowId} read, update
//     and delete one; GET and PUT …/flows/{flowId}/assets list and upload
//     the flow JSON; GET …/flows/{flowId}/preview,
//     POST …/flows/{flowId}/publish and POST …/flows/{flowId}/deprecate.
//     See Flows below.
//   - GET /partner/app/{appId}/templates (a trailing "/" is accepted) —
//     the app's templates, optionally filtered by the query parameters
//     elementName and languageCode; app token as on the v3 send. It answers
//     200 {"status":"success","templates":[…]}. Rate limit: 10 requests per
//     sliding 60 s window per app. See Templates (v2) below.
//   - POST /partner/app/{appId}/template/msg — the v2 template send, a
//     URL-encoded form (channel, source, src.name, destination, sandbox,
//     template, message, postbackTexts); app token as on the v3 send. On
//     success it answers 200 {"status":"submitted","messageId":"<uuid v4>"}.
//     See Templates (v2) below.
//   - GET /sim/flows/{flowId}/flow.json?sig=… — not a Gupshup endpoint: the
//     download_url of a flow's asset (no authentication). See Flows below.
//   - POST /sim/apps/{appId}/inbound — not a Gupshup endpoint: simulates a
//     user message (see Inbound below). JSON body {"from","name","type",
//     "text","postback","contextGsId"} (keys match case-insensitively);
//     answers 200 {"id":"<wamid>"}, or 400 with "Invalid App Details" or the
//     validation error. No authentication.
//   - GET /wa/{appId}/wa/media/{id} — the media of simulated inbound images
//     (a 1×1 JPEG), when Options.MediaBaseURL points at the simulator.
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
//     name of the type object, which must be a JSON object (a non-empty
//     array for "contacts", as Meta sends it) (for example "text is
//     missing/invalid");
//   - "Unsupported Content-Type" (400) for a v3 send whose body is neither
//     JSON nor a URL-encoded form;
//   - "Not Found" (404), "Method Not Allowed" (405) and
//     "Request Entity Too Large" (413, bodies over MaxBodyBytes).
//
// Subscription errors: "Invalid URL Passed" (400, url not an absolute
// http(s) URL), "Duplicate component tag" (400, another subscription of the
// app has the tag), "Subscription Does Not Exist" (400, unknown id) and
// "Not Subscription Owner" (403, the id belongs to another app) are
// Gupshup's; "tag is missing/invalid", "version is missing/invalid",
// "modes is missing/invalid", "meta is missing/invalid", "showOnUI is
// missing/invalid", "active is missing/invalid", "doCheck is
// missing/invalid" and "Maximum 5 subscriptions allowed per app" (all 400)
// are the simulator's own. Before those come "Invalid App Details" (400)
// and "Authentication Failed" (401), checked like on the v3 send.
//
// The template list and template/msg answers are described under
// Templates (v2).
//
// The v3 send checks, in order: the app exists (400), the Authorization
// header equals the app's current token (401), the body parses (400),
// messaging_product is "whatsapp", "to" or "recipient" is a non-empty string,
// "type" is a non-empty string, and the member named by "type" is present and
// a JSON object (400). Then the magic destinations below apply.
//
// # Media and events
//
// Uploads are streamed: the file is hashed (sha256) and written to a
// temporary directory, created by the first upload and removed by Close,
// never held in memory; the recorded Request keeps no body, only BodySize.
// An upload checks, in order: the app exists (400 "Invalid App Details"),
// the token (401 "Authentication Failed"), the app is a Cloud API app (400
// "Only CAPI apps allowed to generate media ID" for App.NotCAPI), a declared
// Content-Length not over MaxMediaBytes plus 1 MiB of framing (413 "File
// size exceeds the maximum limit!"), a multipart/form-data Content-Type with
// a boundary (400 "Unsupported Content-Type"), then the parts in the order
// sent: file_type must be a media type ("file_type is missing/invalid") in
// Gupshup's allowed list — audio/aac, audio/mp4, audio/mpeg, audio/amr,
// audio/ogg, audio/opus, application/pdf, application/msword, the
// OpenXML word, presentation and spreadsheet types, application/vnd.ms-powerpoint,
// application/vnd.ms-excel, text/plain, image/jpeg, image/png, image/webp,
// video/mp4, video/3gpp — compared without parameters and case (400
// "Invalid file type", the simulator's wording); file must be one file part
// ("file is missing/invalid" when absent, repeated or a plain field such as
// a URL: Gupshup fetches URLs, the simulator does not) of at most
// MaxMediaBytes (100 MiB; 413 "File size exceeds the maximum limit!",
// answered as soon as the limit is passed). A malformed multipart body
// answers 400 "body is missing/invalid". After Close, uploads answer 500
// "Unable to upload requested Media" (Gupshup's wording for a failed
// upload). The media type served on download is file_type, lower case and
// without parameters; the part's own Content-Type is kept in MediaInfo.
//
// Downloads and deletes check the app and token like uploads, then (with
// Options.MediaRateLimits) the rate limit, then the id: an unknown,
// deleted or other app's id answers 400 "Invalid Media Id". Only uploaded
// media are served there; the media of simulated inbound messages are
// served at their webhook url (GET /wa/{appId}/wa/media/{id}).
// MediaDownloads counts the successful downloads of both kinds by media id.
//
// Rate limits on media are off by default, because Gupshup's documented
// values would get in the way of tests: with Options.MediaRateLimits,
// downloads are limited to MediaDownloadRateLimit (5) and deletes to
// MediaDeleteRateLimit (10) per app per sliding hour, answered like the
// other limits (429 "Too Many Requests" with Retry-After; every
// authenticated call counts, whatever the id). Options.DisableRateLimits
// turns them off again. Uploads are not limited.
//
// The v1/event endpoint checks the app and token, then: the body is a JSON
// object (400 "Invalid JSON payload"), "type" is "message-event" (400
// "Outbound event not supported"), "message" is an object (400 "Please
// review the request parameters and retry"), message.status is "read" (400
// "Outbound event not supported"), message.message_id is a non-empty
// string, message.messaging_product, when present, is "whatsapp", and
// message.typing_indicator, when present, is {"type":"text"} (400 "Please
// review the request parameters and retry"). These are Gupshup's
// documented messages; which check gives which is the simulator's choice.
// The message_id is not checked against known messages.
//
// Rate-limited answers (429) carry a Retry-After header with the number of
// seconds until the window admits another request. Requests rejected with 429
// do not count towards the window; all others do, including failed logins.
// Options.DisableRateLimits turns the limits off.
//
// # Flows
//
// Flows belong to an app; another app's flow id, an unknown id and a
// deleted flow's id all answer 400 "Invalid flow id". Every flow call
// checks, in order: the method (405), the app (400 "Invalid App Details"),
// the token (401 "Authentication Failed"), then the flow id, the flow's
// status and the body as described below. Flow ids are 16 decimal digits,
// unique in the simulator. Statuses are Meta's: DRAFT, PUBLISHED and
// DEPRECATED (FlowDraft, FlowPublished, FlowDeprecated). A trailing "/" is
// accepted on every flow path.
//
// Create, POST /partner/app/{appId}/flows, takes a JSON body
// {"name":"…","categories":["SIGN_UP",…]} (Content-Type application/json;
// without a Content-Type a body is JSON when it starts with "{"), a
// URL-encoded form or multipart/form-data, where categories is JSON text
// (["SIGN_UP"], as Meta's Postman collection sends it) or a comma list.
// name must be a non-empty string (400 "name is missing/invalid") and
// categories a non-empty array of FlowCategories — SIGN_UP, SIGN_IN,
// APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US, CUSTOMER_SUPPORT,
// SURVEY, SHOPPING, OTHER, upper case — (400 "Invalid categories";
// duplicates are dropped); the name must not be another flow's of the app
// (400 "Flow name already exists"). Other members are ignored. A body that
// does not parse answers 400 "Invalid JSON payload" (JSON), "body is
// missing/invalid" (form) or "Unsupported Content-Type". It answers 200
// {"id":"<16 digits>","status":"success","validation_errors":[]}; the flow
// is a DRAFT with json_version "6.0" and no asset.
//
// GET …/flows/{flowId} answers 200 with the flow object itself, in Meta's
// shape:
//
//	{"id":"…","name":"…","status":"DRAFT","categories":["OTHER"],
//	 "validation_errors":[…],"json_version":"6.0","data_api_version":"3.0",
//	 "data_channel_uri":"…","endpoint_uri":"…",
//	 "health_status":{"can_send_message":"BLOCKED","entities":[
//	   {"entity_type":"FLOW","id":"<flow id>","can_send_message":"BLOCKED",
//	    "errors":[{"error_code":139001,"error_description":"The flow has no flow JSON.",
//	               "possible_solution":"Upload a flow JSON without validation errors."}]},
//	   {"entity_type":"WABA","id":"<App.WABAID>","can_send_message":"AVAILABLE"},
//	   {"entity_type":"BUSINESS","id":"<15 digits>","can_send_message":"AVAILABLE"},
//	   {"entity_type":"APP","id":"<15 digits>","can_send_message":"AVAILABLE"}]}}
//
// data_channel_uri and endpoint_uri (the same value) appear only when
// endpoint_uri was set. json_version is the "version" of the last valid
// flow JSON uploaded, else "6.0". The flow entity (and so the whole) can
// send, AVAILABLE, when the flow is PUBLISHED, or a DRAFT whose last upload
// had no validation errors; otherwise it is BLOCKED with one error saying
// why (no flow JSON, validation errors, deprecated). The error code and
// wordings are the simulator's own. GET …/flows answers 200
// {"status":"success","flows":[<flow object>…]}, oldest first.
//
// PUT …/flows/{flowId} takes the same body kinds as create with name,
// categories and endpoint_uri, each optional and checked like on create
// (name unique among the app's other flows; endpoint_uri "" clears it,
// anything else must be an absolute http(s) URL, else 400 "endpoint_uri is
// missing/invalid"). It answers 200 {"status":"success","success":true}.
// Only drafts change: a PUBLISHED flow answers 400 "Flow is published, it
// cannot be updated" and a DEPRECATED one 400 "Flow is deprecated" (checked
// before the body).
//
// PUT …/flows/{flowId}/assets uploads the flow JSON: a multipart/form-data
// body (else 400 "Unsupported Content-Type") with one part named "file"
// (400 "file is missing/invalid" when absent or repeated; other parts, such
// as Meta's name and asset_type, are ignored; a malformed body answers 400
// "body is missing/invalid"). Not on a PUBLISHED or DEPRECATED flow: 400
// "Flow is published, it cannot be updated". The file is stored as sent,
// whatever it holds, with its validation errors, which replace the flow's
// validation_errors:
//
//   - not JSON: {"error":"INVALID_JSON","error_type":"JSON_SCHEMA_ERROR",
//     "message":"Invalid JSON: <Go's parser message>","line_start":L,
//     "line_end":L,"column_start":C,"column_end":C} at the offending
//     character (1-based line and column, in characters; a truncated file
//     points just past its end);
//   - JSON but not an object, or "version" not a string, or "screens" not
//     an array: "error":"INVALID_PROPERTY_TYPE";
//   - no "version", no "screens": "error":"MISSING_REQUIRED_PROPERTY",
//     "message":"The required property 'version' is missing." (or
//     'screens');
//
// the last two at line 1, column 1 (all four positions). Nothing else is
// checked. It answers 200 {"status":"success","success":true,
// "validation_errors":[…]} ([] when valid).
//
// GET …/flows/{flowId}/assets answers 200 with a bare array: [] before the
// first upload, then [{"name":"flow.json","asset_type":"FLOW_JSON",
// "download_url":"<base>/sim/flows/{flowId}/flow.json?sig=<32 hex>"}]. The
// base is Options.MediaBaseURL when set, else the scheme and Host of the
// request (so it works on an httptest.Server as is). The simulator serves
// that URL (GET or HEAD, no authentication): the uploaded bytes exactly,
// Content-Type application/json. The signature covers one upload: after a
// new upload, or once the flow is deleted, the old URL answers 404; a
// wrong or missing sig answers 403 "Forbidden".
//
// GET …/flows/{flowId}/preview answers 200 {"id":"…","preview":{
// "preview_url":"https://business.facebook.com/wa/manage/flows/<id>/preview/?token=<uuid>",
// "expires_at":"2026-11-24T11:18:09+0000"}}, for any status. The token is
// kept until it expires (FlowPreviewTTL, 30 days) or the query
// invalidate=true asks for a new one.
//
// DELETE …/flows/{flowId} removes a DRAFT (its name becomes free) and
// answers 200 {"status":"success","success":true}; other statuses answer
// 400 "Only draft flows can be deleted".
//
// POST …/flows/{flowId}/publish (any body) makes a DRAFT PUBLISHED when it
// has a flow JSON whose last upload had no validation errors: 200
// {"status":"success","success":true}. A DRAFT without one answers 400
// "Flow has validation errors, it cannot be published"; a PUBLISHED or
// DEPRECATED flow 400 "Flow is already published".
//
// POST …/flows/{flowId}/deprecate (any body) makes a PUBLISHED flow
// DEPRECATED: 200 {"status":"success","success":true}. A DRAFT answers 400
// "Flow was never published, it cannot be deprecated" (Gupshup's
// documented wording), a DEPRECATED flow 400 "Flow is deprecated".
//
// Gupshup documents the ten endpoints but few of their answers; the
// wordings above other than the deprecate one are the simulator's. Flows
// are not rate limited and survive Reset.
//
// # Magic destinations
//
// A send whose destination (v3: "to", or "recipient" when "to" is absent;
// template/msg: "destination") ends with one of these suffixes fails in a
// fixed way, so that error mapping can be exercised by hand against the
// standalone simulator:
//
//	suffix       status  body
//	0000001002   400     {"status":"error","message":"Number does not exist on WhatsApp","code":1002}
//	0000001003   400     {"status":"error","message":"Wallet Balance Low","code":1003}
//	0000000400   400     {"status":"error","message":"Invalid Destination"}
//	0000000429   429     {"status":"error","message":"Too Many Requests"}  (with Retry-After: 1)
//	0000000500   500     {"status":"error","message":"Internal server error. Please try again later and If Issue still persist than contact Gupshup Dev Support"}
//
// The suffixes are exported as SuffixNotOnWhatsApp, SuffixWalletLow,
// SuffixInvalidDestination, SuffixRateLimited and SuffixInternalError. On
// template/msg the 0000000400 body is written {"message":"Invalid
// Destination","status":"error"}, the key order of Gupshup's template/msg
// documentation, whose 500 wording SuffixInternalError uses on both sends.
// Gupshup does not document whether codes 1002/1003 are reported
// synchronously; the simulator chooses to. The suffixes apply after the
// send's other checks. Failed sends emit no callbacks.
//
// One more suffix, SuffixFailsLater (0000001047), makes the send succeed
// and the message fail afterwards: its callbacks are "enqueued" then
// "failed" with errors [{"code":131047,"title":"Re-engagement message",
// "href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
// (v2: payload {"code":131047,"reason":"Message failed to send because more
// than 24 hours have passed since the customer last replied to this
// number."}), whatever Options.StatusSequence says.
//
// # Templates (v2)
//
// Templates belong to an app: Options.Templates, Sim.AddTemplate (which
// replaces the app's template with the same ID) and Sim.SetTemplateStatus
// (PENDING, REJECTED, …: only APPROVED templates can be sent). A Template
// without ID gets a version 4 UUID derived from the app id, ElementName and
// LanguageCode, the same on every run. Defaults: LanguageCode "en",
// Category "MARKETING", Status "APPROVED", TemplateType "TEXT"; Category,
// Status, TemplateType and button types are upper-cased. Templates are not
// removed and survive Reset.
//
// GET /partner/app/{appId}/templates checks, in order: the method (405),
// the app (400 "Invalid App Details"), the token (401 "Authentication
// Failed"), the rate limit (TemplateListRateLimit, 10 per sliding 60 s per
// app: 429 "Too Many Requests" with Retry-After; off with
// Options.DisableRateLimits). It answers the app's templates in the order
// added, those whose elementName and languageCode equal the query
// parameters of those names when given (compared exactly; no match gives
// "templates":[]), as Gupshup's list items:
//
//	{"status":"success","templates":[{"id":"<uuid>","elementName":"order_update",
//	  "languageCode":"en","category":"MARKETING","status":"APPROVED","templateType":"TEXT",
//	  "data":"Order {{1}}\nHi {{1}}, order {{2}}.\nReply STOP | [Yes] | [Track,https://x/{{1}}]",
//	  "meta":"{\"example\":\"Hi [1], order [2].\"}",
//	  "containerMeta":"{\"header\":\"Order {{1}}\",\"data\":\"Hi {{1}}, order {{2}}.\",
//	    \"footer\":\"Reply STOP\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"Yes\"},
//	    {\"type\":\"URL\",\"text\":\"Track\",\"url\":\"https://x/{{1}}\"}],
//	    \"sampleText\":\"Hi [1], order [2].\",\"sampleHeader\":\"Order [1]\",\"enableSample\":true}",
//	  "languagePolicy":"deterministic","namespace":"<uuid with _>","createdOn":<ms>,
//	  "modifiedOn":<ms>,"appId":"…","wabaId":"<App.WABAID>","externalId":"<16 digits>",
//	  "quality":"UNKNOWN","vertical":"order_update","buttonSupported":"QR,URL"}]}
//
// meta and containerMeta are JSON text in a string, as Gupshup sends them.
// containerMeta.data is the body (Template.Data); header, footer and
// buttons are left out when empty, and a button's url (a PHONE_NUMBER
// button's phone_number) when TemplateButton.URL is empty. The item's
// data is Gupshup's rendering: header and body and footer on separate
// lines, then " | [text]" per button (" | [text,url]" with a URL).
// sampleText, sampleHeader and meta.example show each placeholder as its
// name in brackets ("[1]"), Gupshup's sample style without the sample
// values. buttonSupported lists the button kinds, sorted and comma-joined
// (QUICK_REPLY is QR, PHONE_NUMBER is PN, others their type), and is left
// out for a template without buttons. namespace (one per app) and
// externalId are derived from the ids; vertical is the element name;
// createdOn is when the template was added, modifiedOn when it last
// changed. TemplateListCalls counts the calls answered 200.
//
// POST /partner/app/{appId}/template/msg takes a URL-encoded form
// (without a Content-Type the body is read as one; another Content-Type
// answers 400 "Unsupported Content-Type", a body that does not parse 400
// "body is missing/invalid") and checks, in order:
//
//   - the method (405), the app (400 "Invalid App Details") and the token
//     (401 "Authentication Failed"), as on the v3 send;
//   - destination is present and only digits (no "+"): else 400
//     {"message":"Invalid Destination","status":"error"};
//   - source equals the digits of App.DisplayPhoneNumber and src.name equals
//     App.Name (both present): else 400
//     {"message":"Invalid App Details","status":"error"};
//   - template is a JSON object whose "id" is a string and "params", when
//     present, an array, and id is an APPROVED template of the app: else 400
//     {"status":"error","message":"Invalid template id"};
//   - params has as many items (of any kind) as the template expects: the
//     distinct placeholders ({{1}}, {{name}}) of the header plus those of
//     the body, one per URL button whose url has a placeholder, one per
//     COPY_CODE button, and one product id (the thumbnail, last) for a
//     CATALOG or PRODUCT template or one with a CATALOG or MPM button: else
//     400 {"status":"error","message":"Template params count mismatch"};
//   - postbackTexts, when not empty, is a JSON array of {"index":<integer
//     ≥ 0, or its decimal string>,"text":"…"} (else 400 "postbackTexts is
//     missing/invalid"), and message, when not empty, a JSON object whose
//     cards, for "type":"carousel", are objects with postbackTexts like the
//     field's when present (else 400 "message is missing/invalid");
//   - the magic destinations (see Magic destinations).
//
// channel, sandbox, template.expiration and template.mpm are not checked.
// The success answer is 200 {"status":"submitted","messageId":"<uuid v4>"},
// Gupshup's; the message is then reported like a v3 send of type template
// (see Callbacks): v2 enqueued events say "type":"template", v3 statuses
// carry marketing pricing, and SuffixFailsLater makes it fail. The request
// is recorded like any other (Requests, with its Form).
//
// The send's postbackTexts, the cards' postbackTexts of a carousel message
// and the template's buttons (as they were at send time) are kept for
// replies: see Inbound messages.
//
// Gupshup documents "Invalid Destination", "Invalid App Details", the
// internal error and the success answer of template/msg, and the list's
// item shape through third-party code; "Invalid template id", "Template
// params count mismatch", "postbackTexts is missing/invalid" and "message
// is missing/invalid", the order of the checks and what is counted are
// the simulator's own.
//
// # Subscriptions
//
// Create takes the form fields url (required, absolute http or https),
// tag (required, unique per app), version (required, 2 or 3), modes
// (required, comma list; repeated fields are joined), meta (optional JSON
// object, stored as the string sent), showOnUI, active (default true) and
// doCheck (booleans). doCheck is accepted and ignored: the simulator never
// probes the URL. An app may hold MaxSubscriptionsPerApp (5) subscriptions,
// v2 and v3 together. Ids are decimal strings ("8001", "8002", …) unique in
// the simulator. The object answered is Gupshup's:
//
//	{"active":true,"appId":"…","createdOn":<ms>,"id":"8001","mode":56,
//	 "modes":["SENT","DELIVERED","READ"],"latencyBucket":"lt_1_s",
//	 "meta":"{\"headers\":{…}}","modifiedOn":<ms>,"showOnUI":false,
//	 "tag":"…","url":"…","version":3}
//
// Modes are matched case-insensitively and stored upper-case, duplicates
// dropped; the known names are MESSAGE, FLOWS_MESSAGE, PAYMENTS, SENT,
// DELIVERED, READ, FAILED, ENQUEUED, DELETED, BILLING, TEMPLATE, ACCOUNT,
// OTHERS, ALL, COEXISTENCE and NONE, and the aliases FLOW_MESSAGE and
// DELETE (seen in production code) are stored as FLOWS_MESSAGE and
// DELETED. mode is a bitmask whose bit order is the simulator's own (see
// ModeBit): the first fourteen names above are bits 0–13 (so all of them
// give 16383, as Gupshup's docs say), COEXISTENCE is bit 14, NONE is 0.
// v3-only modes are accepted on v2 subscriptions. Subscription calls are
// not rate limited.
//
// # Callbacks
//
// The simulator posts events to the app's active subscriptions:
//
//   - After a successful v3 or template/msg send, the statuses of Options.StatusSequence
//     (default enqueued, sent, delivered; "read" and "failed" only when
//     listed), the first one CallbackInterval (default 20ms) after the send
//     and each next one CallbackInterval after the previous one was
//     delivered, so that they arrive in order per subscription. A status
//     goes to the subscriptions whose modes contain its name in upper case
//     (ENQUEUED, SENT, DELIVERED, READ, FAILED). ALL does not cover
//     statuses: Gupshup describes it as "all incoming messages (not
//     events)"; nor does OTHERS, which covers events without a mode of
//     their own.
//   - Inbound messages (Sim.Inbound, POST /sim/apps/{appId}/inbound) go to
//     the subscriptions with MESSAGE or ALL, at once; flow replies
//     (nfm_reply) only to v3 subscriptions with FLOWS_MESSAGE.
//   - EmitRaw posts a given body, unchanged, to every active subscription of
//     a version, whatever its modes (for duplicate and malformed-callback
//     tests).
//
// Subscriptions are looked up again before every attempt: a subscription
// deleted, deactivated or whose modes no longer match does not receive the
// pending events; a changed url or meta applies to them.
//
// Every callback is a POST with Content-Type application/json, User-Agent
// Gupshup-Callback-Simulator and every header named in the subscription's
// meta: the members of its "headers" object ({"headers":{"X-Secret":"…"}},
// the documented sample), or, when meta has no "headers" object, its
// top-level members. String values are sent as they are, numbers and
// booleans as their JSON text; other members are ignored. An attempt not
// answered 2xx within CallbackTimeout (default 10s; redirects are not
// followed) is retried after CallbackRetryDelay (default 10s), at most
// CallbackRetries times (default 3), with the same body. Gupshup does not
// document its retry count or backoff; these defaults are the simulator's.
//
// Each message is given a wamid when it is sent: "wamid." followed by the
// standard base64 of a small record holding the recipient's digits and ten
// random bytes, like WhatsApp's (WAMID returns it). Status timestamps are
// the send time plus (i+1)·CallbackInterval for the i-th status.
//
// v3 bodies have Gupshup's v3 shape (Meta's plus gs_app_id, gs_id, …):
//
//	{"object":"whatsapp_business_account","gs_app_id":"<app id>",
//	 "entry":[{"id":"<WABA id>","changes":[{"field":"messages","value":{
//	   "messaging_product":"whatsapp",
//	   "metadata":{"display_phone_number":"…","phone_number_id":"…"},
//	   "statuses":[{"gs_id":"<send answer's messages[0].id>","id":"<wamid>",
//	     "recipient_id":"<to, digits>","status":"sent","timestamp":"<unix s>",
//	     "conversation":{"id":"<32 hex>","expiration_timestamp":"<send+24h, unix s>",
//	                     "origin":{"type":"service"}},
//	     "pricing":{"billable":false,"category":"service","pricing_model":"PMP",
//	                "type":"free_customer_service"}}]}}]}]}
//
// conversation and pricing come with sent and delivered only; a template
// send reports origin "marketing" and pricing {"billable":true,
// "category":"marketing","pricing_model":"PMP","type":"regular"}. Like
// Gupshup's sample, the enqueued status has a numeric timestamp in
// milliseconds and its body has neither entry[].id nor metadata. A failed
// status has the errors array shown above.
//
// v2 bodies have Gupshup's format:
//
//	{"app":"<app name>","timestamp":<ms>,"version":2,"type":"message-event",
//	 "payload":{"id":"<wamid>","gsId":"<gupshup id>","type":"delivered",
//	   "destination":"<to, digits>","payload":{"ts":<unix s>}}}
//
// where the enqueued event has "id":"<gupshup id>" and "payload":
// {"type":"session"|"template","whatsappMessageId":"<wamid>"}.
//
// The phone fields of v3 bodies come from App.PhoneNumberID,
// App.DisplayPhoneNumber and App.WABAID; when empty they are derived from
// the app id (15 digits, "91" + 10 digits, 15 digits), the same on every
// run (see Sim.App).
//
// # Inbound messages
//
// Sim.Inbound simulates a message from a user: text, image (a sim media
// url under Options.MediaBaseURL, with caption), button (a template quick
// reply: text and payload), button_reply (an interactive reply: title and
// id) or nfm_reply (a completed flow: Text is its response_json). v3:
//
//	{"object":"whatsapp_business_account","gs_app_id":"…","entry":[{"id":"<WABA id>",
//	 "changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
//	   "metadata":{…},"contacts":[{"profile":{"name":"Asha"},"wa_id":"919876543210"}],
//	   "messages":[{"from":"919876543210","id":"<wamid>","timestamp":"<unix s>",
//	     "type":"text","text":{"body":"Hi"}}]}}]}]}
//
// with "type":"image","image":{"caption","id","mime_type","sha256","url"},
// "type":"button","button":{"payload","text"} or "type":"interactive",
// "interactive":{"type":"button_reply","button_reply":{"id","title"}} or
// "interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent","name":"flow",
// "response_json":"…"}} (v3 only: v2 subscriptions get no flow replies). A
// reply (ContextGsID set) carries "context":{"from":"<display number>",
// "gs_id":"<gupshup id>","id":"<22-character token>","meta_msg_id":"<wamid>"}:
// as in Gupshup's sample, context.id is neither id, so clients should read
// gs_id or meta_msg_id. v2:
//
//	{"app":"<app name>","timestamp":<ms>,"version":2,"type":"message",
//	 "payload":{"id":"<wamid>","source":"919876543210","type":"text",
//	   "payload":{"text":"Hi"},"sender":{"phone":"919876543210","name":"Asha",
//	   "country_code":"91","dial_code":"9876543210"}}}
//
// with type "image" (payload {"caption","url","contentType","urlExpiry"}),
// "quick_reply" (payload {"text","type":"button","postbackText"}) or
// "button_reply" (payload {"title","id","postbackText"}), and for replies
// "context":{"id":"<wamid>","gsId":"<gupshup id>","forwarded":false,
// "frequently_forwarded":false}.
//
// A button reply to a template/msg send (Type "button", ContextGsID its
// messageId) without a Postback gets the postbackText that send registered
// for the first button of its template whose text is Text, by the button's
// index: from the postbackTexts field, else from the first carousel card
// (message.cards[].postbackTexts) that has one for that index. Without such
// a button or postbackText, and for other replies, Postback defaults to
// Text. This gives Gupshup's documented callback for a quick reply,
// "payload":{"text":"Yes","type":"button","postbackText":"hello"}.
//
// # Fast mode
//
// Options.Fast (gupshup-sim -fast) makes the simulator a load-test target.
// Every POST to /partner/app/{appId}/v3/message, and every POST to Meta's
// own path /{version}/{phone}/messages (so that a load generator or a plain
// forwarding proxy can send the client's request untranslated), is answered
// 200 with one canned body, the same bytes each time:
//
//	{"messaging_product":"whatsapp","contacts":[{"input":"15551234567","wa_id":"15551234567"}],"messages":[{"id":"5f3d6c1e-8a2b-4c7d-9e0f-1a2b3c4d5e6f"}]}
//
// (FastRecipient, FastMessageID), with Content-Type application/json and a
// Content-Length. The body is read and discarded; nothing else is done: no
// authentication (any app id, any or no token), no body checks, no magic
// destinations, no recording (Requests and Count do not see these
// requests), no queued fault consumed and no callbacks. It allocates
// nothing per request beyond what net/http does. Every other request
// (login, token, subscriptions, other methods on those paths …) is served
// as usual. The module's load harness, bench/run, runs the simulator this
// way.
//
// # Test hooks
//
// Every request is recorded (see Requests, Count and Reset), including those
// that hit a fault; media uploads without their body (Request.BodySize). Faults (see Inject) delay a request, answer it with a
// fixed status and body, add response headers, or reset the TCP connection.
// Note that Go's http.Transport transparently retries an idempotent request
// (such as a GET) that fails on a reused keep-alive connection, so a Reset
// fault on such a request may be consumed without the caller seeing an
// error; POST requests are not retried.
//
// Callback hooks: Subscriptions lists an app's subscriptions, Callbacks every
// delivery attempt (subscription, url, version, body, status or transport
// error, time), WAMID the wamid of a sent message, App an app's fields.
// Media hooks: Media and MediaInfo describe an uploaded file (type, size,
// sha256, filename), MediaDownloads counts downloads, Events lists the
// accepted v1 events. Reset forgets events, not media. Flow hooks: Flow and
// Flows return an app's flows (SimFlow: status, name, categories,
// endpoint_uri, json_version, the last uploaded asset's bytes, filename and
// part Content-Type, its validation errors, the upload count). Reset keeps
// flows. Template hooks: Templates returns an app's templates (defaults
// filled in), AddTemplate and SetTemplateStatus change them,
// TemplateListCalls counts the list calls answered. Reset keeps templates,
// their list-call counts and what sends left for replies.
// Options.OnCallback observes attempts as they happen, and
// Options.DisableCallbacks turns emission off. Reset also forgets
// subscriptions and callback records and cancels pending callbacks. Close
// cancels pending callbacks and waits for their goroutines; call it when a
// test ends (it is safe to call twice).
//
// A Sim is safe for concurrent use.
package gupshupsim
