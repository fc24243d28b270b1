// Compatibility scenario for @kapso/whatsapp-cloud-api 0.3.0 (protocol and
// capability list: protocol.mjs and the Go orchestrator,
// integration/compat_test.go). The client's only configuration is the
// proxy as its base URL, the token and the Graph version.
//
// Send side: the SDK's dedicated helpers (messages.send*, markRead with a
// typing indicator, media.upload/get/download/delete, flows.create/get/
// publish/deprecate); templates go through messages.sendTemplate, built with
// buildTemplatePayload where that builder knows the component (it rejects
// limited_time_offer components and mpm buttons, which sendTemplate passes
// through as Meta wrote them). Every send checks the SDK's parsed
// (camel-cased) answer: a message id and contacts[0].waId.
//
// Webhook side: a node:http server calling @kapso/whatsapp-cloud-api/server
// verifySignature (HMAC over the raw bytes) and normalizeWebhook (the
// parser). The SDK has no verification-handshake helper: the server answers
// GET hub.challenge with plain code and webhook_verify is n/a.

import { flowJson } from "../scenario.mjs";
import * as meta from "./meta.mjs";
import { GraphApiError, WhatsAppClient, buildTemplatePayload } from "@kapso/whatsapp-cloud-api";
import { normalizeWebhook, verifySignature } from "@kapso/whatsapp-cloud-api/server";
import {
  CheckError, Scenario, WebhookLog, check, describeError, fakeJPEG, headersOf, listen, loadEnv, readBody,
  reportWebhooks, na, sample, sha256hex, started } from "./protocol.mjs";

const env = loadEnv("kapso.mjs");
const sc = new Scenario("kapso.mjs");
const hook = new WebhookLog();

// ------------------------------------------------------------ webhook side
await listen(sc, env.webhookPort, async (req, res, url) => {
  if (req.method === "GET") {
    // No SDK helper for Meta's handshake: the app's own code.
    const q = url.searchParams;
    if (q.get("hub.mode") === "subscribe" && q.get("hub.verify_token") === env.verifyToken) {
      hook.handshake(false);
      res.setHeader("Content-Type", "text/plain");
      res.end(q.get("hub.challenge") ?? "");
    } else {
      res.statusCode = 403;
      res.end();
    }
    return;
  }
  if (req.method !== "POST") {
    res.statusCode = 405;
    res.end();
    return;
  }
  const raw = await readBody(req);
  const ok = verifySignature({ appSecret: env.appSecret, rawBody: raw, signatureHeader: headersOf(req)["x-hub-signature-256"] });
  if (!ok) {
    hook.delivery(false);
    sc.log(`webhook: signature rejected: ${raw.toString("utf8").slice(0, 500)}`);
    res.statusCode = 401;
    res.end();
    return;
  }
  let n;
  try {
    n = normalizeWebhook(JSON.parse(raw.toString("utf8")));
  } catch (err) {
    hook.delivery(true, String(err?.message ?? err));
    sc.log(`webhook: unparsable body: ${err}`);
    res.statusCode = 400;
    res.end();
    return;
  }
  hook.delivery(true);
  for (const m of n.messages) hook.message({ id: m.id, from: m.from, text: m.text?.body });
  for (const s of n.statuses) hook.status({ id: s.id, status: s.status });
  res.statusCode = 200;
  res.end();
});
sc.event("listening");
await sc.awaitVerified();

// ---------------------------------------------------------------- send side
const { phoneNumberId, to } = env;
const client = new WhatsAppClient({ baseUrl: env.baseUrl, accessToken: env.accessToken, graphVersion: env.graphVersion });

// sent checks the SDK's parsed answer of a send and records its id.
function sent(res) {
  return sc.answered(res, to, { messagingProduct: "messagingProduct", waId: "waId" }); // Kapso camel-cases keys
}

// expectUnknownObject: fn must fail with the SDK's GraphApiError 100/33.
async function expectUnknownObject(fn, what) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    check(err instanceof GraphApiError, `${what}: the SDK did not raise its GraphApiError`, describeError(err));
    check(err.code === 100 && err.errorSubcode === 33, `${what}: the SDK's error is not Graph's unknown object`, describeError(err));
    return;
  }
  throw new CheckError(`${what} succeeded`, res);
}

let textId = null;
await sc.run("text", async () => {
  textId = sent(await client.messages.sendText({ phoneNumberId, to, body: sample.text, previewUrl: true }));
});

// One upload, shared by media_id and the media_* capabilities.
const img = { mime: "image/jpeg", name: "kapso.jpg", data: fakeJPEG(64 * 1024) };
img.sha256 = sha256hex(img.data);
const uploaded = started(async () => {
  const res = await client.media.upload({
    phoneNumberId, type: img.mime, file: new Blob([img.data], { type: img.mime }), fileName: img.name,
  });
  check(typeof res?.id === "string" && res.id !== "", "the SDK's upload answer has no media id", res);
  img.id = res.id;
});

await sc.run("media_id", async () => {
  await uploaded();
  sent(await client.messages.sendImage({ phoneNumberId, to, image: { id: img.id, caption: "by id" } }));
});
await sc.run("media_link", async () => {
  sent(await client.messages.sendImage({ phoneNumberId, to, image: { link: sample.imageLink, caption: "by link" } }));
});
await sc.run("location", async () => {
  sent(await client.messages.sendLocation({ phoneNumberId, to, location: sample.location }));
});
await sc.run("contacts", async () => {
  sent(await client.messages.sendContacts({
    phoneNumberId,
    to,
    contacts: [{
      name: { formattedName: "Zoë Müller", firstName: "Zoë", lastName: "Müller" },
      phones: [{ phone: "+1 555 0100", type: "WORK", waId: "15550100" }],
      emails: [{ email: "zoe@example.com", type: "WORK" }],
      org: { company: "Example Café" },
    }],
  }));
});
await sc.run("reaction", async () => {
  check(textId !== null, "no text message to react to");
  sent(await client.messages.sendReaction({ phoneNumberId, to, reaction: { messageId: textId, emoji: "👍" } }));
});
await sc.run("reply_context", async () => {
  check(textId !== null, "no text message to reply to");
  sent(await client.messages.sendText({ phoneNumberId, to, body: "Replying to your message", contextMessageId: textId }));
});

await sc.run("interactive_button", async () => {
  sent(await client.messages.sendInteractiveButtons({
    phoneNumberId,
    to,
    header: { type: "text", text: "Delivery" },
    bodyText: "Confirm delivery for tomorrow?",
    footerText: "Reply with a button",
    buttons: [{ id: "confirm", title: "Confirm" }, { id: "reschedule", title: "Reschedule" }],
  }));
});
await sc.run("interactive_list", async () => {
  sent(await client.messages.sendInteractiveList({
    phoneNumberId,
    to,
    header: { type: "text", text: "Menu" },
    bodyText: "Pick a dish",
    buttonText: "View menu",
    sections: [
      { title: "Mains", rows: [{ id: "pasta", title: "Pasta", description: "Fresh tagliatelle" }] },
      { title: "Desserts", rows: [{ id: "tiramisu", title: "Tiramisù" }] },
    ],
  }));
});
await sc.run("interactive_cta_url", async () => {
  sent(await client.messages.sendInteractiveCtaUrl({
    phoneNumberId,
    to,
    bodyText: "Track your parcel online",
    parameters: { displayText: "Track order", url: "https://example.com/track?id=42&lang=en" },
  }));
});
await sc.run("interactive_flow", async () => {
  sent(await client.messages.sendInteractiveFlow({
    phoneNumberId,
    to,
    header: { type: "text", text: "Réservation" },
    bodyText: "Réservez votre table",
    parameters: {
      flowId: sample.flowId, flowCta: "Réserver", flowToken: "flow-token-1", flowMessageVersion: "3",
      flowAction: "navigate", flowActionPayload: { screen: "WELCOME" },
    },
  }));
});
await sc.run("interactive_product", async () => {
  sent(await client.messages.sendInteractiveProduct({
    phoneNumberId, to, bodyText: "Our bestseller", catalogId: sample.catalogId, productRetailerId: "sku-1",
  }));
});
await sc.run("interactive_product_list", async () => {
  sent(await client.messages.sendInteractiveProductList({
    phoneNumberId,
    to,
    header: { type: "text", text: "Summer sale" },
    bodyText: "Pick your favourites",
    catalogId: sample.catalogId,
    sections: [
      { title: "Shoes", productItems: [{ productRetailerId: "sku-1" }, { productRetailerId: "sku-2" }] },
      { title: "Hats", productItems: [{ productRetailerId: "sku-3" }] },
    ],
  }));
});
await sc.run("interactive_catalog", async () => {
  sent(await client.messages.sendInteractiveCatalogMessage({
    phoneNumberId, to, bodyText: "Browse our catalog", parameters: { thumbnailProductRetailerId: "sku-1" },
  }));
});
await sc.run("interactive_location_request", async () => {
  sent(await client.messages.sendInteractiveLocationRequest({
    phoneNumberId, to, bodyText: "Where should we deliver?", parameters: { requestMessage: "Share your location" },
  }));
});
await sc.run("interactive_address", async () => {
  sent(await client.messages.sendInteractiveAddress({
    phoneNumberId,
    to,
    bodyText: "Where should we deliver?",
    parameters: { country: "IN", values: { name: "Zoë", phone_number: "+919876543210", city: "Pune" } },
  }));
});

// Templates: Meta's component shapes.
async function sendTemplate(template) {
  sent(await client.messages.sendTemplate({ phoneNumberId, to, template }));
}
await sc.run("template_params", () =>
  sendTemplate(buildTemplatePayload({
    name: "order_update",
    language: "en_US",
    components: [
      { type: "header", parameters: [{ type: "text", text: "#4711" }] },
      {
        type: "body",
        parameters: [
          { type: "text", text: "Zoë" },
          { type: "currency", currency: { fallback_value: "$100.99", code: "USD", amount_1000: 100990 } },
          { type: "date_time", date_time: { fallback_value: "February 25, 1977" } },
        ],
      },
    ],
  })),
);
await sc.run("template_media_header", () =>
  sendTemplate(buildTemplatePayload({
    name: "order_receipt",
    language: "en_US",
    components: [
      { type: "header", parameters: [{ type: "image", image: { link: sample.imageLink } }] },
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
    ],
  })),
);
await sc.run("template_quick_reply", () =>
  sendTemplate(buildTemplatePayload({
    name: "delivery_confirm",
    language: "en_US",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      { type: "button", sub_type: "quick_reply", index: "0", parameters: [{ type: "payload", payload: "CONFIRM-4711" }] },
      { type: "button", sub_type: "quick_reply", index: "1", parameters: [{ type: "payload", payload: "STOP-4711" }] },
    ],
  })),
);
await sc.run("template_copy_code", () =>
  sendTemplate(buildTemplatePayload({
    name: "coupon_offer",
    language: "en_US",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      { type: "button", sub_type: "copy_code", index: "0", parameters: [{ type: "coupon_code", coupon_code: "SAVE25" }] },
    ],
  })),
);
await sc.run("template_lto", () =>
  // buildTemplatePayload rejects limited_time_offer: Meta's object as is.
  sendTemplate({
    name: "flash_sale",
    language: { code: "en_US" },
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      {
        type: "limited_time_offer",
        parameters: [{ type: "limited_time_offer", limited_time_offer: { expiration_time_ms: sample.ltoExpiration } }],
      },
      { type: "button", sub_type: "copy_code", index: "0", parameters: [{ type: "coupon_code", coupon_code: "SAVE25" }] },
      { type: "button", sub_type: "url", index: "1", parameters: [{ type: "text", text: "sale/summer?ref=wa" }] },
    ],
  }),
);
await sc.run("template_carousel", () =>
  sendTemplate(buildTemplatePayload({
    name: "summer_carousel",
    language: "en_US",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      {
        type: "carousel",
        cards: [0, 1].map((i) => ({
          card_index: i,
          components: [
            { type: "header", parameters: [{ type: "image", image: { link: `https://example.com/c/${i + 1}.jpg` } }] },
            { type: "button", sub_type: "quick_reply", index: "0", parameters: [{ type: "payload", payload: `CARD-${i + 1}` }] },
          ],
        })),
      },
    ],
  })),
);
await sc.run("template_mpm", () => {
  // buildTemplatePayload rejects the mpm button: Meta's object as is.
  const { name, components } = meta.templates.template_mpm;
  return sendTemplate({ name, language: { code: "en_US" }, components });
});

await sc.run("mark_read", async () => {
  const res = await client.messages.markRead({ phoneNumberId, messageId: env.readMessageId });
  check(res?.success === true, "the SDK's answer is not success true", res);
});
await sc.run("typing", async () => {
  const res = await client.messages.markRead({ phoneNumberId, messageId: env.readMessageId, typingIndicator: { type: "text" } });
  check(res?.success === true, "the SDK's answer is not success true", res);
});

await sc.run("media_upload", () => uploaded());
await sc.run("media_lookup", async () => {
  await uploaded();
  const info = await client.media.get({ mediaId: img.id, phoneNumberId });
  check(info?.id === img.id && info.messagingProduct === "whatsapp", "the SDK's lookup has the wrong id", info);
  check(info.mimeType === img.mime, "the SDK's lookup has the wrong mime type", info);
  check(info.sha256 === img.sha256, "the SDK's lookup has the wrong sha256", info);
  check(info.fileSize === img.data.length, "the SDK's lookup has the wrong file size", info);
  check(typeof info.url === "string" && info.url.startsWith(env.baseUrl + "/"), "the SDK's lookup has no proxy url", info);
});
await sc.run("media_download", async () => {
  await uploaded();
  const buf = Buffer.from(await client.media.download({ mediaId: img.id, phoneNumberId, auth: "always" }));
  check(buf.length === img.data.length && sha256hex(buf) === img.sha256, "the downloaded bytes differ from the upload",
    { size: buf.length });
});
await sc.run("media_delete", async () => {
  await uploaded();
  const res = await client.media.delete({ mediaId: img.id, phoneNumberId });
  check(res?.success === true, "the SDK's delete answer is not success true", res);
  await expectUnknownObject(() => client.media.get({ mediaId: img.id, phoneNumberId }), "a lookup after the delete");
});

await sc.run("flows_lifecycle", async () => {
  const name = "Compat Kapso ☕";
  const created = await client.flows.create({ wabaId: env.wabaId, name, categories: ["APPOINTMENT_BOOKING"], flowJson });
  check(typeof created?.id === "string" && /^\d+$/.test(created.id), "create: the SDK's answer has no flow id", created);
  check(created.success === true && created.validationErrors === undefined, "create: the flow JSON was not accepted", created);
  const flowId = created.id;
  const status = async (want, step) => {
    const got = await client.flows.get({ flowId, fields: "id,name,status,categories" });
    check(got?.id === flowId && got.name === name && got.status === want, `${step}: get does not report ${want}`, got);
  };
  await status("DRAFT", "create");
  const pub = await client.flows.publish({ flowId });
  check(pub?.success === true, "publish: the SDK's answer is not success true", pub);
  await status("PUBLISHED", "publish");
  const dep = await client.flows.deprecate({ flowId });
  check(dep?.success === true, "deprecate: the SDK's answer is not success true", dep);
  await status("DEPRECATED", "deprecate");
});

await sc.run("error_surface", async () => {
  let res;
  try {
    res = await client.messages.sendText({ phoneNumberId, to: env.badTo, body: "This recipient is rejected" });
  } catch (err) {
    check(err instanceof GraphApiError, "the SDK did not raise its GraphApiError", describeError(err));
    check(err.httpStatus === 400 && err.code === 100, "the SDK's error is not HTTP 400 code 100", describeError(err));
    check(/Invalid parameter/.test(err.message), "the SDK's error lacks the proxy's message", describeError(err));
    check(typeof err.details === "string" && err.details !== "", "the SDK's error lacks the proxy's details", describeError(err));
    check(typeof err.fbtraceId === "string" && err.fbtraceId !== "", "the SDK's error lacks the trace id", describeError(err));
    return;
  }
  throw new CheckError("the send to the refused recipient succeeded", res);
});

// ------------------------------------------------------------- webhooks
const inbound = await sc.sendsDone();
await reportWebhooks(sc, hook, inbound, env, {
  webhook_verify: na("no webhook verification handshake helper"),
});
sc.finish();
