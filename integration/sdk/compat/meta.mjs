// Meta's own request objects, as a raw-JSON SDK sends them: the interactive
// kinds and the templates of the SDK suite (great.mjs and wabiz.mjs send
// them through their generic send; other scripts use their SDK's builders).

import { check, sample } from "./protocol.mjs";

// contacts is the "contacts" array of the contacts capability.
export const contacts = [{
  name: { formatted_name: "Zoë Müller", first_name: "Zoë", last_name: "Müller" },
  phones: [{ phone: "+1 555 0100", type: "WORK", wa_id: "15550100" }],
  emails: [{ email: "zoe@example.com", type: "WORK" }],
  org: { company: "Example Café" },
}];

// interactive holds the "interactive" object of each interactive_* capability.
export const interactive = {
  interactive_button: {
    type: "button",
    header: { type: "text", text: "Delivery" },
    body: { text: "Confirm delivery for tomorrow?" },
    footer: { text: "Reply with a button" },
    action: {
      buttons: [
        { type: "reply", reply: { id: "confirm", title: "Confirm" } },
        { type: "reply", reply: { id: "reschedule", title: "Reschedule" } },
      ],
    },
  },
  interactive_list: {
    type: "list",
    header: { type: "text", text: "Menu" },
    body: { text: "Pick a dish" },
    action: {
      button: "View menu",
      sections: [
        { title: "Mains", rows: [{ id: "pasta", title: "Pasta", description: "Fresh tagliatelle" }] },
        { title: "Desserts", rows: [{ id: "tiramisu", title: "Tiramisù" }] },
      ],
    },
  },
  interactive_cta_url: {
    type: "cta_url",
    body: { text: "Track your parcel online" },
    action: { name: "cta_url", parameters: { display_text: "Track order", url: "https://example.com/track?id=42&lang=en" } },
  },
  interactive_flow: {
    type: "flow",
    header: { type: "text", text: "Réservation" },
    body: { text: "Réservez votre table" },
    action: {
      name: "flow",
      parameters: {
        flow_message_version: "3", flow_token: "flow-token-1", flow_id: sample.flowId, flow_cta: "Réserver",
        flow_action: "navigate", flow_action_payload: { screen: "WELCOME" },
      },
    },
  },
  interactive_product: {
    type: "product",
    body: { text: "Our bestseller" },
    action: { catalog_id: sample.catalogId, product_retailer_id: "sku-1" },
  },
  interactive_product_list: {
    type: "product_list",
    header: { type: "text", text: "Summer sale" },
    body: { text: "Pick your favourites" },
    action: {
      catalog_id: sample.catalogId,
      sections: [
        { title: "Shoes", product_items: [{ product_retailer_id: "sku-1" }, { product_retailer_id: "sku-2" }] },
        { title: "Hats", product_items: [{ product_retailer_id: "sku-3" }] },
      ],
    },
  },
  interactive_catalog: {
    type: "catalog_message",
    body: { text: "Browse our catalog" },
    action: { name: "catalog_message", parameters: { thumbnail_product_retailer_id: "sku-1" } },
  },
  interactive_location_request: {
    type: "location_request_message",
    body: { text: "Where should we deliver?" },
    action: { name: "send_location" },
  },
  interactive_address: {
    type: "address_message",
    body: { text: "Where should we deliver?" },
    action: {
      name: "address_message",
      parameters: { country: "IN", values: { name: "Zoë", phone_number: "+919876543210", city: "Pune" } },
    },
  },
};

// templates holds the template name and components of each template_*
// capability (language en_US).
export const templates = {
  template_params: {
    name: "order_update",
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
  },
  template_media_header: {
    name: "order_receipt",
    components: [
      { type: "header", parameters: [{ type: "image", image: { link: sample.imageLink } }] },
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
    ],
  },
  template_quick_reply: {
    name: "delivery_confirm",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      { type: "button", sub_type: "quick_reply", index: "0", parameters: [{ type: "payload", payload: "CONFIRM-4711" }] },
      { type: "button", sub_type: "quick_reply", index: "1", parameters: [{ type: "payload", payload: "STOP-4711" }] },
    ],
  },
  template_copy_code: {
    name: "coupon_offer",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      { type: "button", sub_type: "copy_code", index: "0", parameters: [{ type: "coupon_code", coupon_code: "SAVE25" }] },
    ],
  },
  template_lto: {
    name: "flash_sale",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      {
        type: "limited_time_offer",
        parameters: [{ type: "limited_time_offer", limited_time_offer: { expiration_time_ms: sample.ltoExpiration } }],
      },
      { type: "button", sub_type: "copy_code", index: "0", parameters: [{ type: "coupon_code", coupon_code: "SAVE25" }] },
      { type: "button", sub_type: "url", index: "1", parameters: [{ type: "text", text: "sale/summer?ref=wa" }] },
    ],
  },
  template_carousel: {
    name: "summer_carousel",
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
  },
  template_mpm: {
    name: "catalog_mpm",
    components: [
      { type: "body", parameters: [{ type: "text", text: "Zoë" }] },
      {
        type: "button",
        sub_type: "mpm",
        index: "0",
        parameters: [{
          type: "action",
          action: {
            thumbnail_product_retailer_id: "sku-thumb",
            sections: [
              { title: "Shoes", product_items: [{ product_retailer_id: "sku-1" }, { product_retailer_id: "sku-2" }] },
              { title: "Hats", product_items: [{ product_retailer_id: "sku-3" }] },
            ],
          },
        }],
      },
    ],
  },
};

// rawSends runs every message capability after "text" (media_id through
// template_mpm) for an SDK whose generic send takes Meta's objects:
// send(type, object, extra) returns the message id. mediaId() resolves to
// an uploaded image's id; textId() is the text message's id (or null).
export async function rawSends(sc, send, { mediaId, textId }) {
  await sc.run("media_id", async () => send("image", { id: await mediaId(), caption: "by id" }));
  await sc.run("media_link", () => send("image", { link: sample.imageLink, caption: "by link" }));
  await sc.run("location", () => send("location", sample.location));
  await sc.run("contacts", () => send("contacts", contacts));
  await sc.run("reaction", async () => {
    check(textId() !== null, "no text message to react to");
    await send("reaction", { message_id: textId(), emoji: "👍" });
  });
  await sc.run("reply_context", async () => {
    check(textId() !== null, "no text message to reply to");
    await send("text", { body: "Replying to your message" }, { context: { message_id: textId() } });
  });
  for (const [cap, obj] of Object.entries(interactive)) {
    await sc.run(cap, () => send("interactive", obj));
  }
  for (const [cap, t] of Object.entries(templates)) {
    await sc.run(cap, () => send("template", { name: t.name, language: { code: "en_US" }, components: t.components }));
  }
}
