// Sends messages through the proxy with @kapso/whatsapp-cloud-api, changing
// nothing but the SDK's base URL, and prints one JSON line per scenario:
//   {"scenario":"text","ok":true,"response":{...}}            (send scenarios)
//   {"scenario":"error_bad_to","ok":true,"error":{...}}       (error scenarios)
// A scenario that does not behave as expected prints "ok":false; the exit code
// is then 1 (0 when every scenario passed, 2 on missing configuration).
//
// Environment:
//   PROXY_BASE_URL   proxy root, e.g. http://127.0.0.1:12345 (required)
//   ACCESS_TOKEN     token the proxy accepts (required)
//   PHONE_NUMBER_ID  sender phone number id (required)
//   TO               recipient the backend accepts (required)
//   BAD_TO           recipient the backend rejects (required)
//   GRAPH_VERSION    Graph API version in the path (default v23.0)
//   CONTEXT_MESSAGE_ID  message id replied to in reply_context (optional)
//   BAD_ACCESS_TOKEN    token the proxy rejects, for error_bad_token (optional)

import { GraphApiError, WhatsAppClient, buildTemplatePayload } from "@kapso/whatsapp-cloud-api";
import { describeError, emit, finish, requireEnv } from "./scenario.mjs";

requireEnv("kapso.mjs", ["PROXY_BASE_URL", "ACCESS_TOKEN", "PHONE_NUMBER_ID", "TO", "BAD_TO"]);

const baseUrl = process.env.PROXY_BASE_URL;
const accessToken = process.env.ACCESS_TOKEN;
const phoneNumberId = process.env.PHONE_NUMBER_ID;
const to = process.env.TO;
const badTo = process.env.BAD_TO;
const graphVersion = process.env.GRAPH_VERSION || "v23.0";
const contextMessageId =
  process.env.CONTEXT_MESSAGE_ID || "wamid.HBgLMTU1NTAwMDAwMDEVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA==";
const badAccessToken = process.env.BAD_ACCESS_TOKEN || "not-a-valid-token";

// The only client configuration: base URL, token and Graph version.
const client = new WhatsAppClient({ baseUrl, accessToken, graphVersion });

// A send that must succeed: print the SDK's return value as-is.
async function expectSuccess(scenario, send) {
  try {
    const response = await send();
    emit({ scenario, ok: true, response });
  } catch (err) {
    emit({ scenario, ok: false, error: describeError(err) });
  }
}

// A send that must fail with the SDK's GraphApiError.
async function expectGraphError(scenario, send) {
  try {
    const response = await send();
    emit({ scenario, ok: false, message: "expected a GraphApiError, the send succeeded", response });
  } catch (err) {
    if (err instanceof GraphApiError) {
      const error = describeError(err, { stack: false });
      emit({ scenario, ok: true, error });
    } else {
      emit({ scenario, ok: false, message: "expected a GraphApiError", error: describeError(err) });
    }
  }
}

await expectSuccess("text", () =>
  client.messages.sendText({
    phoneNumberId,
    to,
    body: "héllo ✓ 😀 https://example.com/page",
    previewUrl: true,
  }),
);

// Meta-style components through the SDK's raw template builder; the currency
// amount uses Meta's wire name amount_1000.
await expectSuccess("template", () =>
  client.messages.sendTemplate({
    phoneNumberId,
    to,
    template: buildTemplatePayload({
      name: "order_update",
      language: "en_US",
      components: [
        {
          type: "header",
          parameters: [{ type: "image", image: { link: "https://example.com/header.jpg" } }],
        },
        {
          type: "body",
          parameters: [
            { type: "text", text: "Zoë" },
            {
              type: "currency",
              currency: { fallback_value: "$100.99", code: "USD", amount_1000: 100990 },
            },
          ],
        },
        {
          type: "button",
          sub_type: "quick_reply",
          index: "0",
          parameters: [{ type: "payload", payload: "STOP_PROMOS" }],
        },
      ],
    }),
  }),
);

await expectSuccess("interactive_button", () =>
  client.messages.sendInteractiveButtons({
    phoneNumberId,
    to,
    header: { type: "text", text: "Delivery" },
    bodyText: "Confirm delivery for tomorrow?",
    footerText: "Reply with a button",
    buttons: [
      { id: "confirm", title: "Confirm" },
      { id: "reschedule", title: "Reschedule" },
      { id: "cancel", title: "Cancel" },
    ],
  }),
);

await expectSuccess("interactive_list", () =>
  client.messages.sendInteractiveList({
    phoneNumberId,
    to,
    header: { type: "text", text: "Menu" },
    bodyText: "Pick a dish",
    footerText: "Prices include tax",
    buttonText: "View menu",
    sections: [
      {
        title: "Mains",
        rows: [
          { id: "pasta", title: "Pasta", description: "Fresh tagliatelle" },
          { id: "curry", title: "Curry" },
        ],
      },
      {
        title: "Desserts",
        rows: [{ id: "tiramisu", title: "Tiramisù", description: "House special" }],
      },
    ],
  }),
);

await expectSuccess("interactive_cta_url", () =>
  client.messages.sendInteractiveCtaUrl({
    phoneNumberId,
    to,
    header: { type: "text", text: "Your order" },
    bodyText: "Track your parcel online",
    footerText: "Link valid for 7 days",
    parameters: { displayText: "Track order", url: "https://example.com/track?id=42&lang=en" },
  }),
);

await expectSuccess("reply_context", () =>
  client.messages.sendText({
    phoneNumberId,
    to,
    body: "Replying to your message",
    contextMessageId,
  }),
);

await expectGraphError("error_bad_to", () =>
  client.messages.sendText({ phoneNumberId, to: badTo, body: "This recipient is rejected" }),
);

// A second client that differs only in its access token.
const badTokenClient = new WhatsAppClient({ baseUrl, accessToken: badAccessToken, graphVersion });
await expectGraphError("error_bad_token", () =>
  badTokenClient.messages.sendText({ phoneNumberId, to, body: "This token is rejected" }),
);

finish();
