// Sends Meta-format template messages with @kapso/whatsapp-cloud-api to a
// phone number the proxy serves through Gupshup's template/msg call (send_api
// v2), changing nothing but the SDK's base URL, and prints one JSON line per
// scenario:
//   {"scenario":"text_params","ok":true,"message_id":"…"}
//   {"scenario":"unknown_template","ok":true,"error":{…}}
// The Go test (integration/templates_v2_test.go) checks what reached the
// simulated Gupshup for each message id.
//
// Scenarios (the templates exist in the simulator, see the Go test):
//   text_params       order_update: header text, body text + currency +
//                     date_time, two quick replies with payloads
//   named_params      named_greeting: body parameters by name, in another
//                     order than the template text uses them
//   media_header      receipt_doc: a document header by link
//   carousel          summer_carousel: two image cards (link and id) with
//                     quick-reply payloads
//   lto               flash_sale: limited-time offer, copy code, URL suffix
//   mpm               catalog_mpm: multi-product sections and a thumbnail
//   unknown_template  a name Gupshup does not have: GraphApiError 132001
//   wrong_language    order_update in a language it lacks: 132001
//   session_text      a text message: GraphApiError 131051 (the number only
//                     sends templates)
//   unsupported_card_body  a carousel card with body parameters: 100
//
// Environment:
//   PROXY_BASE_URL   proxy root (required)
//   ACCESS_TOKEN     the tenant's token (required)
//   PHONE_NUMBER_ID  the send_api v2 number (required)
//   TO               recipient (required)
//   IMAGE_MEDIA_ID   a media id for the second carousel card (required)
//   GRAPH_VERSION    default v23.0

import { WhatsAppClient } from "@kapso/whatsapp-cloud-api";
import { check, expectGraphError, finish, requireEnv, step } from "./scenario.mjs";

requireEnv("templates-v2.mjs", ["PROXY_BASE_URL", "ACCESS_TOKEN", "PHONE_NUMBER_ID", "TO", "IMAGE_MEDIA_ID"]);

const client = new WhatsAppClient({
  baseUrl: process.env.PROXY_BASE_URL.replace(/\/+$/, ""),
  accessToken: process.env.ACCESS_TOKEN,
  graphVersion: process.env.GRAPH_VERSION || "v23.0",
});
const phoneNumberId = process.env.PHONE_NUMBER_ID;
const to = process.env.TO;

// send sends one template and returns the message id.
async function send(name, code, components) {
  const res = await client.messages.sendTemplate({ phoneNumberId, to, template: { name, language: { code }, components } });
  check(typeof res?.messages?.[0]?.id === "string" && res.messages[0].id !== "", "no message id", res);
  check(res.contacts?.[0]?.waId === to.replace(/\D/g, ""), "contacts[0].wa_id", res);
  return { message_id: res.messages[0].id };
}

await step("text_params", () =>
  send("order_update", "en", [
    { type: "header", parameters: [{ type: "text", text: "#4711" }] },
    {
      type: "body",
      parameters: [
        { type: "text", text: "Zoë" },
        { type: "currency", currency: { fallback_value: "€12,50", code: "EUR", amount_1000: 12500 } },
        { type: "date_time", date_time: { fallback_value: "tomorrow" } },
      ],
    },
    { type: "button", sub_type: "quick_reply", index: "0", parameters: [{ type: "payload", payload: "TRACK-4711" }] },
    { type: "button", sub_type: "quick_reply", index: 1, parameters: [{ type: "payload", payload: "STOP-4711" }] },
  ]),
);

await step("named_params", () =>
  send("named_greeting", "en_US", [
    {
      type: "body",
      parameters: [
        { type: "text", parameter_name: "ticket", text: "T-99" },
        { type: "text", parameter_name: "first_name", text: "Åsa" },
      ],
    },
  ]),
);

await step("media_header", () =>
  send("receipt_doc", "en", [
    { type: "header", parameters: [{ type: "document", document: { link: "https://example.com/r/42.pdf", filename: "receipt-42.pdf" } }] },
    { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
  ]),
);

await step("carousel", () =>
  send("summer_carousel", "en", [
    { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
    {
      type: "carousel",
      cards: [
        {
          card_index: 0,
          components: [
            { type: "header", parameters: [{ type: "image", image: { link: "https://example.com/c/1.jpg" } }] },
            { type: "button", sub_type: "quick_reply", index: 0, parameters: [{ type: "payload", payload: "CARD-1" }] },
          ],
        },
        {
          card_index: 1,
          components: [
            { type: "header", parameters: [{ type: "image", image: { id: process.env.IMAGE_MEDIA_ID } }] },
            { type: "button", sub_type: "quick_reply", index: 0, parameters: [{ type: "payload", payload: "CARD-2" }] },
          ],
        },
      ],
    },
  ]),
);

await step("lto", () =>
  send("flash_sale", "en", [
    { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
    { type: "limited_time_offer", parameters: [{ type: "limited_time_offer", limited_time_offer: { expiration_time_ms: 1767225599000 } }] },
    { type: "button", sub_type: "copy_code", index: 0, parameters: [{ type: "coupon_code", coupon_code: "SAVE25" }] },
    { type: "button", sub_type: "url", index: 1, parameters: [{ type: "text", text: "sale/summer?ref=wa" }] },
  ]),
);

await step("mpm", () =>
  send("catalog_mpm", "en", [
    { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
    {
      type: "button",
      sub_type: "mpm",
      index: 0,
      parameters: [
        {
          type: "action",
          action: {
            thumbnail_product_retailer_id: "sku-thumb",
            sections: [
              { title: "Shoes", product_items: [{ product_retailer_id: "sku-1" }, { product_retailer_id: "sku-2" }] },
              { title: "Hats", product_items: [{ product_retailer_id: "sku-3" }] },
            ],
          },
        },
      ],
    },
  ]),
);

await step("unknown_template", () => expectGraphError(() => send("no_such_template", "en", []), 404, 132001));
await step("wrong_language", () =>
  expectGraphError(
    () => send("order_update", "pt_BR", [{ type: "body", parameters: [{ type: "text", text: "x" }] }]),
    404,
    132001,
  ),
);
await step("session_text", () =>
  expectGraphError(() => client.messages.sendText({ phoneNumberId, to, body: "hello" }), 400, 131051),
);
await step("unsupported_card_body", () =>
  expectGraphError(
    () =>
      send("summer_carousel", "en", [
        { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
        {
          type: "carousel",
          cards: [
            {
              card_index: 0,
              components: [
                { type: "header", parameters: [{ type: "image", image: { link: "https://example.com/c/1.jpg" } }] },
                { type: "body", parameters: [{ type: "text", text: "card text" }] },
              ],
            },
          ],
        },
      ]),
    400,
    100,
  ),
);

finish();
