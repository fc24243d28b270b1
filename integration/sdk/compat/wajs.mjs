// Compatibility scenario for whatsapp-api-js 6.3.0 (protocol and capability
// list: protocol.mjs and the Go orchestrator, integration/compat_test.go).
//
// The SDK has Graph's host built in; its only configuration is a fetch
// ponyfill that sends https://graph.facebook.com/… to the proxy. One
// WhatsAppAPI of the SDK's node-http middleware is the whole app: it sends
// (sendMessage with the SDK's message builders, markAsRead, uploadMedia,
// retrieveMedia, fetchMedia, deleteMedia) and serves the webhook
// (handle_get: Meta's handshake; handle_post: the signature check over the
// body re-escaped the way Meta escapes it, then on.message / on.status).
// The SDK returns Graph's error bodies instead of throwing: error_surface
// checks the body it hands back.
//
// Not offered by the SDK: an address_message builder and a Flows API.

import { WhatsAppAPI } from "whatsapp-api-js/middleware/node-http";
import {
  ActionButtons, ActionCatalog, ActionCTA, ActionList, ActionLocation, ActionNavigateFlow, ActionProduct,
  ActionProductList, Body, BodyComponent, BodyParameter, Button, CarouselCard, CarouselComponent, CatalogProduct,
  Contacts, CopyComponent, Currency, DateTime, Email, Footer, Header, HeaderComponent, HeaderParameter, Image,
  Interactive, ListSection, Location, LTOComponent, MPMComponent, Name, Organization, PayloadComponent, Phone,
  Product, ProductSection, Reaction, Row, Template, Text, URLComponent,
} from "whatsapp-api-js/messages";
import {
  CheckError, Scenario, WebhookLog, check, checkNoGraphError, fakeJPEG, isUnknownObject, listen, loadEnv, reportWebhooks, sample,
  sha256hex, started } from "./protocol.mjs";

const env = loadEnv("wajs.mjs");
const sc = new Scenario("wajs.mjs");
const hook = new WebhookLog();

const graph = "https://graph.facebook.com";
const api = new WhatsAppAPI({
  token: env.accessToken,
  appSecret: env.appSecret,
  webhookVerifyToken: env.verifyToken,
  v: env.graphVersion,
  ponyfill: {
    fetch: (url, init) => {
      const s = String(url);
      return fetch(s.startsWith(graph) ? env.baseUrl + s.slice(graph.length) : s, init);
    },
  },
});

// ------------------------------------------------------------ webhook side
// post() dispatches entry[0].changes[0]'s first message or status here.
api.on.message = ({ message, from }) => {
  hook.message({ id: message?.id, from, text: message?.text?.body });
};
api.on.status = ({ id, status }) => {
  hook.status({ id, status });
};
await listen(sc, env.webhookPort, async (req, res) => {
  if (req.method === "GET") {
    let challenge;
    try {
      challenge = api.handle_get(req);
    } catch (code) {
      sc.log(`webhook: handshake refused with ${code}`);
      res.statusCode = typeof code === "number" ? code : 500;
      res.end();
      return;
    }
    hook.handshake(true);
    res.setHeader("Content-Type", "text/plain");
    res.end(String(challenge ?? ""));
    return;
  }
  if (req.method !== "POST") {
    res.statusCode = 405;
    res.end();
    return;
  }
  // 200: signature checked and the payload dispatched (or ignored as
  // "unexpected", which the SDK also answers 200); 401: the signature
  // failed; anything else: the SDK refused the request before or after it.
  const status = await api.handle_post(req);
  if (status === 200) hook.delivery(true);
  else if (status === 401) hook.delivery(false);
  else hook.delivery(null, `HTTP ${status}`);
  if (status !== 200) sc.log(`webhook: handle_post answered ${status}`);
  res.statusCode = status;
  res.end();
});
sc.event("listening");
await sc.awaitVerified();

// ---------------------------------------------------------------- send side
const { phoneNumberId, to } = env;

// send sends a message built with the SDK and checks the answer it parsed.
async function send(message, context) {
  const res = await api.sendMessage(phoneNumberId, { phone: to }, message, context);
  checkNoGraphError(res);
  return sc.answered(res, to);
}

let textId = null;
await sc.run("text", async () => {
  textId = await send(new Text(sample.text, true));
});

// One upload, shared by media_id and the media_* capabilities.
const img = { mime: "image/jpeg", name: "wajs.jpg", data: fakeJPEG(64 * 1024) };
img.sha256 = sha256hex(img.data);
const uploaded = started(async () => {
  // messaging_product goes in the query string; no "type" field.
  const form = new FormData();
  form.append("file", new Blob([img.data], { type: img.mime }), img.name);
  const res = await api.uploadMedia(phoneNumberId, form);
  checkNoGraphError(res);
  check(typeof res?.id === "string" && res.id !== "", "the SDK's upload answer has no media id", res);
  img.id = res.id;
});

await sc.run("media_id", async () => {
  await uploaded();
  await send(new Image(img.id, true, "by id"));
});
await sc.run("media_link", () => send(new Image(sample.imageLink, false, "by link")));
await sc.run("location", () =>
  send(new Location(sample.location.longitude, sample.location.latitude, sample.location.name, sample.location.address)),
);
await sc.run("contacts", () =>
  send(new Contacts([
    new Name("Zoë Müller", "Zoë", "Müller"),
    new Phone("+1 555 0100", "WORK", "15550100"),
    new Email("zoe@example.com", "WORK"),
    new Organization("Example Café"),
  ])),
);
await sc.run("reaction", async () => {
  check(textId !== null, "no text message to react to");
  await send(new Reaction(textId, "👍"));
});
await sc.run("reply_context", async () => {
  check(textId !== null, "no text message to reply to");
  await send(new Text("Replying to your message"), textId);
});

await sc.run("interactive_button", () =>
  send(new Interactive(
    new ActionButtons(new Button("confirm", "Confirm"), new Button("reschedule", "Reschedule")),
    new Body("Confirm delivery for tomorrow?"),
    new Header("Delivery"),
    new Footer("Reply with a button"),
  )),
);
await sc.run("interactive_list", () =>
  send(new Interactive(
    new ActionList(
      "View menu",
      new ListSection("Mains", new Row("pasta", "Pasta", "Fresh tagliatelle")),
      new ListSection("Desserts", new Row("tiramisu", "Tiramisù")),
    ),
    new Body("Pick a dish"),
    new Header("Menu"),
  )),
);
await sc.run("interactive_cta_url", () =>
  send(new Interactive(
    new ActionCTA("Track order", "https://example.com/track?id=42&lang=en"),
    new Body("Track your parcel online"),
  )),
);
await sc.run("interactive_flow", () =>
  send(new Interactive(
    new ActionNavigateFlow("flow-token-1", sample.flowId, "Réserver", "WELCOME", { table: "4" }),
    new Body("Réservez votre table"),
    new Header("Réservation"),
  )),
);
await sc.run("interactive_product", () =>
  send(new Interactive(new ActionProduct(new CatalogProduct("sku-1", sample.catalogId)), new Body("Our bestseller"))),
);
await sc.run("interactive_product_list", () =>
  send(new Interactive(
    new ActionProductList(
      sample.catalogId,
      new ProductSection("Shoes", new Product("sku-1"), new Product("sku-2")),
      new ProductSection("Hats", new Product("sku-3")),
    ),
    new Body("Pick your favourites"),
    new Header("Summer sale"),
  )),
);
await sc.run("interactive_catalog", () =>
  send(new Interactive(new ActionCatalog(new Product("sku-1")), new Body("Browse our catalog"))),
);
await sc.run("interactive_location_request", () =>
  send(new Interactive(new ActionLocation(), new Body("Where should we deliver?"))),
);
sc.report("interactive_address", "n/a", "no address message builder");

await sc.run("template_params", () =>
  send(new Template(
    "order_update",
    "en_US",
    new HeaderComponent(new HeaderParameter("#4711")),
    new BodyComponent(
      new BodyParameter("Zoë"),
      new BodyParameter(new Currency(100990, "USD", "$100.99")),
      new BodyParameter(new DateTime("February 25, 1977")),
    ),
  )),
);
await sc.run("template_media_header", () =>
  send(new Template(
    "order_receipt",
    "en_US",
    new HeaderComponent(new HeaderParameter(new Image(sample.imageLink))),
    new BodyComponent(new BodyParameter("Zoë")),
  )),
);
await sc.run("template_quick_reply", () =>
  send(new Template(
    "delivery_confirm",
    "en_US",
    new BodyComponent(new BodyParameter("Zoë")),
    new PayloadComponent("CONFIRM-4711"),
    new PayloadComponent("STOP-4711"),
  )),
);
await sc.run("template_copy_code", () =>
  send(new Template("coupon_offer", "en_US", new BodyComponent(new BodyParameter("Zoë")), new CopyComponent("SAVE25"))),
);
await sc.run("template_lto", () =>
  send(new Template(
    "flash_sale",
    "en_US",
    new BodyComponent(new BodyParameter("Zoë")),
    new LTOComponent(sample.ltoExpiration),
    new CopyComponent("SAVE25"),
    new URLComponent("sale/summer?ref=wa"),
  )),
);
await sc.run("template_carousel", () =>
  send(new Template(
    "summer_carousel",
    "en_US",
    new BodyComponent(new BodyParameter("Zoë")),
    new CarouselComponent(
      new CarouselCard(new Image("https://example.com/c/1.jpg"), new PayloadComponent("CARD-1")),
      new CarouselCard(new Image("https://example.com/c/2.jpg"), new PayloadComponent("CARD-2")),
    ),
  )),
);
await sc.run("template_mpm", () =>
  send(new Template(
    "catalog_mpm",
    "en_US",
    new BodyComponent(new BodyParameter("Zoë")),
    new MPMComponent(
      new Product("sku-thumb"),
      new ProductSection("Shoes", new Product("sku-1"), new Product("sku-2")),
      new ProductSection("Hats", new Product("sku-3")),
    ),
  )),
);

await sc.run("mark_read", async () => {
  const res = await api.markAsRead(phoneNumberId, env.readMessageId);
  checkNoGraphError(res);
  check(res?.success === true, "the SDK's answer is not success true", res);
});
await sc.run("typing", async () => {
  const res = await api.markAsRead(phoneNumberId, env.readMessageId, "text");
  checkNoGraphError(res);
  check(res?.success === true, "the SDK's answer is not success true", res);
});

await sc.run("media_upload", () => uploaded());
let mediaURL = null;
await sc.run("media_lookup", async () => {
  await uploaded();
  const info = await api.retrieveMedia(img.id, phoneNumberId);
  checkNoGraphError(info);
  check(info?.id === img.id && info.messaging_product === "whatsapp", "the SDK's lookup has the wrong id", info);
  check(info.mime_type === img.mime, "the SDK's lookup has the wrong mime type", info);
  check(info.sha256 === img.sha256, "the SDK's lookup has the wrong sha256", info);
  check(info.file_size === img.data.length, "the SDK's lookup has the wrong file size", info);
  check(typeof info.url === "string" && info.url.startsWith(env.baseUrl + "/"), "the SDK's lookup has no proxy url", info);
  mediaURL = info.url;
});
await sc.run("media_download", async () => {
  check(mediaURL !== null, "no media url: the lookup failed");
  const res = await api.fetchMedia(mediaURL);
  const buf = Buffer.from(await res.arrayBuffer());
  check(res.status === 200, "the download did not answer 200", { status: res.status, body: buf.toString("utf8", 0, 300) });
  check(buf.length === img.data.length && sha256hex(buf) === img.sha256, "the downloaded bytes differ from the upload",
    { size: buf.length });
});
await sc.run("media_delete", async () => {
  await uploaded();
  const res = await api.deleteMedia(img.id, phoneNumberId);
  checkNoGraphError(res);
  check(res?.success === true, "the SDK's delete answer is not success true", res);
  const after = await api.retrieveMedia(img.id, phoneNumberId);
  check(isUnknownObject(after), "a lookup after the delete is not Graph's unknown object", after);
});

sc.report("flows_lifecycle", "n/a", "no Flows API");

await sc.run("error_surface", async () => {
  // The SDK hands back Graph's error body as the send's answer.
  const res = await api.sendMessage(phoneNumberId, { phone: env.badTo }, new Text("This recipient is rejected"));
  if (res?.messages) throw new CheckError("the send to the refused recipient succeeded", res);
  const e = res?.error;
  check(e?.code === 100, "the SDK's answer has no error code 100", res);
  check(typeof e.message === "string" && /Invalid parameter/.test(e.message), "the SDK's answer lacks the proxy's message", res);
  check(typeof e.error_data?.details === "string" && e.error_data.details !== "", "the SDK's answer lacks the proxy's details", res);
  check(typeof e.fbtrace_id === "string" && e.fbtrace_id !== "", "the SDK's answer lacks the trace id", res);
});

// ------------------------------------------------------------- webhooks
const inbound = await sc.sendsDone();
await reportWebhooks(sc, hook, inbound, env, {});
sc.finish();
