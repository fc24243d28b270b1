// Drives the proxy's Flows API with @kapso/whatsapp-cloud-api's flows
// client, changing nothing but its base URL, and prints one JSON line per
// scenario:
//   {"scenario":"create","ok":true,"id":"…"}
//   {"scenario":"publish_again","ok":true,"error":{…}}
// A scenario that does not behave as expected prints "ok":false with what
// went wrong; the exit code is then 1 (0 when every scenario passed, 2 on
// missing configuration).
//
// The lifecycle, in order:
//   create            flows.create with a valid flow JSON (create + asset
//                     upload through the proxy): an id, no validation errors
//   create_invalid    flows.create with a flow JSON lacking "screens" and
//                     publish: the SDK gets the draft's id and parses Meta's
//                     validation_errors (camel-cased); no publish is tried
//   update_asset      flows.updateAsset fixes the invalid flow's JSON
//   get_draft         flows.get with fields: DRAFT, the categories, no
//                     validation errors, the WABA in health_status
//   get_default       flows.get without fields: Graph's default fields
//   preview           flows.preview: a preview URL and its expiry
//   list              flows.list: both flows, Graph's data/paging shape
//   publish           flows.publish, then get says PUBLISHED
//   send_flow         messages.sendInteractiveFlow of the published flow
//   publish_again     a second publish: GraphApiError code 100, Gupshup's
//                     reason in the details
//   update_published  updateAsset on the published flow: GraphApiError 100
//   delete_published  DELETE of the published flow: GraphApiError 100
//   deprecate_draft   flows.deprecate of the never-published flow: 100
//   deprecate         flows.deprecate of the published flow, then DEPRECATED
//   delete_draft      DELETE of the draft: {"success":true}; a get then
//                     answers Graph's unknown object (100/33)
//   foreign_get, foreign_publish, foreign_list
//                     tenant B's token on tenant A's flow and WABA: 100/33
//
// Environment:
//   PROXY_BASE_URL   proxy root, e.g. http://127.0.0.1:12345 (required)
//   ACCESS_TOKEN     token of the tenant that owns the WABA (required)
//   OTHER_TOKEN      another tenant's token (required)
//   WABA_ID          the tenant's WhatsApp Business Account id (required)
//   PHONE_NUMBER_ID  sender phone number id (required)
//   TO               recipient the backend accepts (required)
//   FLOW_NAME        name of the flow created first (required)
//   GRAPH_VERSION    Graph API version in the path (default v23.0)

import { WhatsAppClient } from "@kapso/whatsapp-cloud-api";
import { check, expectGraphError, finish, flowJson, requireEnv, step } from "./scenario.mjs";

requireEnv("flows.mjs", ["PROXY_BASE_URL", "ACCESS_TOKEN", "OTHER_TOKEN", "WABA_ID", "PHONE_NUMBER_ID", "TO", "FLOW_NAME"]);

const baseUrl = process.env.PROXY_BASE_URL.replace(/\/+$/, "");
const graphVersion = process.env.GRAPH_VERSION || "v23.0";
const wabaId = process.env.WABA_ID;
const phoneNumberId = process.env.PHONE_NUMBER_ID;
const to = process.env.TO;
const flowName = process.env.FLOW_NAME;


const client = new WhatsAppClient({ baseUrl, accessToken: process.env.ACCESS_TOKEN, graphVersion });
const other = new WhatsAppClient({ baseUrl, accessToken: process.env.OTHER_TOKEN, graphVersion });
const flowFields = "id,name,status,categories,validation_errors,json_version,health_status";

let mainId = "";
let draftId = "";

// ids returns the flow ids once both creates succeeded (later scenarios
// would otherwise test an empty id).
function ids() {
  check(mainId !== "" && draftId !== "", "the creates failed: no flow ids");
  return { mainId, draftId };
}

await step("create", async () => {
  const res = await client.flows.create({ wabaId, name: flowName, categories: ["APPOINTMENT_BOOKING", "OTHER"], flowJson });
  check(typeof res.id === "string" && /^\d+$/.test(res.id), "no numeric id", res);
  check(res.success === true, "success must be true when flow_json was given", res);
  check(res.validationErrors === undefined, "a valid flow JSON has no validation errors", res);
  mainId = res.id;
  return { id: res.id };
});

await step("create_invalid", async () => {
  const res = await client.flows.create({ wabaId, name: flowName + " (draft)", flowJson: { version: "6.0" }, publish: true });
  check(typeof res.id === "string" && res.id !== "" && res.id !== mainId, "no new id", res);
  const e = res.validationErrors?.[0];
  check(res.validationErrors?.length === 1, "want one validation error", res);
  check(e.error === "MISSING_REQUIRED_PROPERTY" && typeof e.errorType === "string" && /screens/.test(e.message ?? ""),
    "validation error shape", e);
  check(Number.isInteger(e.lineStart) && Number.isInteger(e.columnEnd), "line and column numbers", e);
  draftId = res.id;
  return { id: res.id, validation_errors: res.validationErrors };
});

await step("update_asset", async () => {
  ids();
  const res = await client.flows.updateAsset({ flowId: draftId, json: flowJson, phoneNumberId });
  check(res.success === true && res.validationErrors === undefined, "a valid upload", res);
  return { id: draftId };
});

await step("get_draft", async () => {
  ids();
  const res = await client.flows.get({ flowId: mainId, fields: flowFields });
  check(res.id === mainId && res.name === flowName && res.status === "DRAFT", "id, name, status", res);
  check(JSON.stringify(res.categories) === JSON.stringify(["APPOINTMENT_BOOKING", "OTHER"]), "categories", res);
  check(Array.isArray(res.validationErrors) && res.validationErrors.length === 0, "validation_errors []", res);
  check(res.jsonVersion === "6.0", "json_version", res);
  const waba = res.healthStatus?.entities?.find((e) => e.entityType === "WABA");
  check(waba?.id === wabaId, "health_status names the configured WABA", res);
  return { flow: res };
});

await step("get_default", async () => {
  ids();
  const res = await client.flows.get({ flowId: mainId });
  const keys = Object.keys(res).sort().join(",");
  check(keys === "categories,id,name,status,validationErrors", `Graph's default fields, got ${keys}`, res);
  return {};
});

await step("preview", async () => {
  ids();
  const res = await client.flows.preview({ flowId: mainId, phoneNumberId });
  check(/^https:\/\/business\.facebook\.com\//.test(res.preview.previewUrl), "preview_url", res);
  check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/.test(res.preview.expiresAt), "expires_at in Graph's format", res);
  const again = await client.flows.preview({ flowId: mainId });
  check(again.preview.previewUrl === res.preview.previewUrl, "invalidate(false) keeps the URL", again);
  const fresh = await client.flows.preview({ flowId: mainId, fields: "preview.invalidate(true)" });
  check(fresh.preview.previewUrl !== res.preview.previewUrl, "invalidate(true) issues a new URL", fresh);
  return { preview_url: res.preview.previewUrl };
});

await step("list", async () => {
  ids();
  const res = await client.flows.list({ wabaId, limit: 10 });
  check(Array.isArray(res.data), "data array", res);
  const listed = res.data.map((f) => f.id);
  check(listed.includes(mainId) && listed.includes(draftId), "both flows listed", res);
  const main = res.data.find((f) => f.id === mainId);
  check(main.name === flowName && main.status === "DRAFT" && Array.isArray(main.categories), "list item", main);
  check(typeof res.paging?.cursors?.before === "string" && typeof res.paging?.cursors?.after === "string", "paging cursors", res);
  return { ids: listed };
});

await step("publish", async () => {
  ids();
  const res = await client.flows.publish({ flowId: mainId });
  check(res.success === true, "success", res);
  const got = await client.flows.get({ flowId: mainId, fields: "status" });
  check(got.status === "PUBLISHED" && got.id === mainId, "status PUBLISHED", got);
  return {};
});

await step("send_flow", async () => {
  ids();
  const res = await client.messages.sendInteractiveFlow({
    phoneNumberId,
    to,
    bodyText: "Réservez votre table",
    parameters: { flowId: mainId, flowCta: "Réserver", flowToken: "flow-token-1", flowMessageVersion: "3", flowAction: "navigate",
      flowActionPayload: { screen: "WELCOME" } },
  });
  check(typeof res?.messages?.[0]?.id === "string", "no message id", res);
  return { message_id: res.messages[0].id };
});

await step("publish_again", () => ids() && expectGraphError(() => client.flows.publish({ flowId: mainId }), 400, 100));
await step("update_published", () => ids() && expectGraphError(() => client.flows.updateAsset({ flowId: mainId, json: flowJson }), 400, 100));
await step("delete_published", () =>
  ids() && expectGraphError(() => client.request("DELETE", `/${mainId}`, { responseType: "json" }), 400, 100));
await step("deprecate_draft", () => ids() && expectGraphError(() => client.flows.deprecate({ flowId: draftId }), 400, 100));

await step("deprecate", async () => {
  ids();
  const res = await client.flows.deprecate({ flowId: mainId });
  check(res.success === true, "success", res);
  const got = await client.flows.get({ flowId: mainId, fields: "name,status" });
  check(got.status === "DEPRECATED" && got.name === flowName, "status DEPRECATED", got);
  return {};
});

await step("foreign_get", () => ids() && expectGraphError(() => other.flows.get({ flowId: mainId }), 400, 100, 33));
await step("foreign_publish", () => ids() && expectGraphError(() => other.flows.publish({ flowId: draftId }), 400, 100, 33));
await step("foreign_list", () => ids() && expectGraphError(() => other.flows.list({ wabaId }), 400, 100, 33));

await step("delete_draft", async () => {
  ids();
  const res = await client.request("DELETE", `/${draftId}`, { responseType: "json" });
  check(res.success === true, "success", res);
  return expectGraphError(() => client.flows.get({ flowId: draftId }), 400, 100, 33);
});

finish();
