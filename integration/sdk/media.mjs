// Drives the proxy's media routes and read receipts with three Node SDKs,
// changing nothing but their base URL, and prints one JSON line per scenario:
//   {"scenario":"kapso_upload_image","ok":true,"id":"…","sha256":"…","size":204800}
//   {"scenario":"kapso_get_deleted","ok":true,"error":{…}}
// A scenario that does not behave as expected prints "ok":false with what
// went wrong; the exit code is then 1 (0 when every scenario passed, 2 on
// missing configuration).
//
// Per SDK: upload generated files (a 200 KB image/jpeg, a 1 MB
// application/pdf), send them by id, look them up (url, mime_type, sha256,
// file_size), download them (with the SDK, and with a plain fetch of the url
// without any Authorization: the URL token must suffice) comparing sha256,
// delete one and check a lookup then answers Graph's 100/33, and mark a
// message as read with and without a typing indicator.
//
//   kapso  @kapso/whatsapp-cloud-api: media.upload/get/download({auth:
//          "always"})/delete, messages.sendImage/sendDocument/markRead. The
//          PDF goes up as bytes without a type (the part is
//          application/octet-stream; the form's "type" field names it).
//   great  @great-detail/whatsapp: media.upload/getURL/download/delete,
//          message.createMessage/createStatus. Its download sends no
//          Authorization and a foreign Host header (lookaside.fbsbx.com).
//   wajs   whatsapp-api-js (Graph's host is hard-coded; a fetch ponyfill
//          sends it to the proxy): uploadMedia (messaging_product in the
//          query, no "type" field), retrieveMedia, fetchMedia, deleteMedia,
//          sendMessage(Image), markAsRead.
//
// The upload lines carry id, sha256 (hex) and size; send lines carry the
// message id; the Go test checks them against the simulator.
//
// Kept at the end (the Go test finds them at the simulator): Kapso's
// document and great's image. Deleted: Kapso's image, great's document and
// whatsapp-api-js's image.
//
// Environment:
//   PROXY_BASE_URL   proxy root, e.g. http://127.0.0.1:12345 (required)
//   ACCESS_TOKEN     token the proxy accepts (required)
//   PHONE_NUMBER_ID  sender phone number id (required)
//   TO               recipient the backend accepts (required)
//   READ_MESSAGE_ID  message id marked as read (required)
//   GRAPH_VERSION    Graph API version in the path (default v23.0)

import { createHash, randomBytes } from "node:crypto";
import { GraphApiError, WhatsAppClient } from "@kapso/whatsapp-cloud-api";
import { Client as GreatClient } from "@great-detail/whatsapp";
import { WhatsAppAPI } from "whatsapp-api-js";
import { Image } from "whatsapp-api-js/messages";
import { CheckError, check, describeError, finish, requireEnv, step } from "./scenario.mjs";

requireEnv("media.mjs", ["PROXY_BASE_URL", "ACCESS_TOKEN", "PHONE_NUMBER_ID", "TO", "READ_MESSAGE_ID"]);

const baseUrl = process.env.PROXY_BASE_URL.replace(/\/+$/, "");
const accessToken = process.env.ACCESS_TOKEN;
const phoneNumberId = process.env.PHONE_NUMBER_ID;
const to = process.env.TO;
const readMessageId = process.env.READ_MESSAGE_ID;
const graphVersion = process.env.GRAPH_VERSION || "v23.0";

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

// A random body between a format's magic bytes.
function fakeFile(size, head, tail) {
  const buf = randomBytes(size);
  Buffer.from(head).copy(buf, 0);
  Buffer.from(tail).copy(buf, size - tail.length);
  return buf;
}
const fakeJPEG = (size) => fakeFile(size, [0xff, 0xd8, 0xff, 0xe0], [0xff, 0xd9]);
const fakePDF = (size) => fakeFile(size, "%PDF-1.4\n", "\n%%EOF\n");

// checkLookup checks a media lookup answer (snake_case, as Graph sends it).
function checkLookup(info, file) {
  check(info && typeof info === "object", "lookup answer is not an object", info);
  check(info.messaging_product === "whatsapp", "messaging_product", info);
  check(info.id === file.id, "id", info);
  check(info.mime_type === file.mime, "mime_type", info);
  check(info.sha256 === file.sha256, "sha256", info);
  check(typeof info.file_size === "number" && info.file_size === file.size, "file_size must be the size as a number", info);
  const prefix = `${baseUrl}/waproxy/media/${encodeURIComponent(file.id)}?token=`;
  check(typeof info.url === "string" && info.url.startsWith(prefix), `url must start with ${prefix}`, info);
}

// rawLookup is GET /{version}/{id} by hand, to see the JSON as sent.
async function rawLookup(id) {
  const res = await fetch(`${baseUrl}/${graphVersion}/${encodeURIComponent(id)}`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  const text = await res.text();
  check(res.status === 200, `lookup: HTTP ${res.status}`, text);
  return JSON.parse(text);
}

// fetchNoAuth downloads a lookup url with no Authorization header at all.
async function fetchNoAuth(url, file) {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  check(res.status === 200, `plain fetch: HTTP ${res.status}`, body.toString("utf8", 0, 500));
  check((res.headers.get("content-type") ?? "").startsWith(file.mime), "content-type", res.headers.get("content-type"));
  check(body.length === file.size, `downloaded ${body.length} bytes, want ${file.size}`);
  check(sha256(body) === file.sha256, "downloaded bytes differ from the upload");
  return { status: res.status, content_type: res.headers.get("content-type") };
}

// checkGraphNotFound checks Graph's unknown-object error body.
function checkNotFound(status, body) {
  check(status === 400, `HTTP ${status}, want 400`, body);
  check(body?.error?.code === 100 && body?.error?.error_subcode === 33, "want error 100/33", body);
}

const image = { mime: "image/jpeg", name: "photo.jpg" };
const pdf = { mime: "application/pdf", name: "report.pdf" };

// ---------------------------------------------------------------- Kapso
{
  const client = new WhatsAppClient({ baseUrl, accessToken, graphVersion });
  const img = { ...image, data: fakeJPEG(200 * 1024) };
  const doc = { ...pdf, data: fakePDF(1024 * 1024) };
  for (const f of [img, doc]) {
    f.size = f.data.length;
    f.sha256 = sha256(f.data);
  }

  await step("kapso_upload_image", async () => {
    const res = await client.media.upload({
      phoneNumberId,
      type: img.mime,
      file: new Blob([img.data], { type: img.mime }),
      fileName: img.name,
    });
    check(typeof res?.id === "string" && res.id !== "", "no id", res);
    img.id = res.id;
    return { id: img.id, sha256: img.sha256, size: img.size, mime: img.mime };
  });
  await step("kapso_upload_document", async () => {
    // Bytes without a type: the part is application/octet-stream.
    const res = await client.media.upload({ phoneNumberId, type: doc.mime, file: new Uint8Array(doc.data), fileName: doc.name });
    check(typeof res?.id === "string" && res.id !== "", "no id", res);
    doc.id = res.id;
    return { id: doc.id, sha256: doc.sha256, size: doc.size, mime: doc.mime };
  });
  await step("kapso_send_image", async () => {
    const res = await client.messages.sendImage({ phoneNumberId, to, image: { id: img.id, caption: "a photo" } });
    check(typeof res?.messages?.[0]?.id === "string", "no message id", res);
    return { media_id: img.id, message_id: res.messages[0].id };
  });
  await step("kapso_send_document", async () => {
    const res = await client.messages.sendDocument({ phoneNumberId, to, document: { id: doc.id, filename: doc.name } });
    check(typeof res?.messages?.[0]?.id === "string", "no message id", res);
    return { media_id: doc.id, message_id: res.messages[0].id };
  });
  for (const f of [img, doc]) {
    const kind = f === img ? "image" : "document";
    await step(`kapso_get_${kind}`, async () => {
      // The SDK camel-cases the answer.
      const info = await client.media.get({ mediaId: f.id, phoneNumberId });
      check(info.messagingProduct === "whatsapp" && info.mimeType === f.mime && info.sha256 === f.sha256 &&
        info.fileSize === f.size && info.id === f.id && typeof info.url === "string", "SDK lookup", info);
      const raw = await rawLookup(f.id);
      checkLookup(raw, f);
      f.url = raw.url;
      return { response: raw };
    });
    await step(`kapso_download_${kind}`, async () => {
      const buf = Buffer.from(await client.media.download({ mediaId: f.id, phoneNumberId, auth: "always" }));
      check(buf.length === f.size && sha256(buf) === f.sha256, `downloaded ${buf.length} bytes that differ from the upload`);
      return { size: buf.length };
    });
    await step(`kapso_fetch_${kind}_no_auth`, () => fetchNoAuth(f.url, f));
  }
  await step("kapso_delete_image", async () => {
    const res = await client.media.delete({ mediaId: img.id, phoneNumberId });
    check(res?.success === true, "want {success:true}", res);
    return { id: img.id };
  });
  await step("kapso_get_deleted", async () => {
    try {
      const res = await client.media.get({ mediaId: img.id, phoneNumberId });
      throw new CheckError("lookup of a deleted media succeeded", res);
    } catch (err) {
      if (err instanceof CheckError) throw err;
      check(err instanceof GraphApiError, "want a GraphApiError", describeError(err));
      check(err.httpStatus === 400 && err.code === 100 && err.errorSubcode === 33, "want HTTP 400 100/33", describeError(err));
      const error = describeError(err);
      delete error.stack;
      return { error };
    }
  });
  await step("kapso_fetch_deleted", async () => {
    // The URL token is still within its lifetime: the media is gone all
    // the same.
    const res = await fetch(img.url);
    checkNotFound(res.status, await res.json().catch(() => null));
  });
  await step("kapso_mark_read", async () => {
    const res = await client.messages.markRead({ phoneNumberId, messageId: readMessageId });
    check(res?.success === true, "want {success:true}", res);
    return { response: res };
  });
  await step("kapso_mark_read_typing", async () => {
    const res = await client.messages.markRead({ phoneNumberId, messageId: readMessageId, typingIndicator: { type: "text" } });
    check(res?.success === true, "want {success:true}", res);
    return { response: res };
  });
}

// ---------------------------------------------------- @great-detail/whatsapp
{
  const client = new GreatClient({
    prefixUrl: baseUrl,
    graphVersion,
    // No retries: every answer is the proxy's first.
    request: { headers: { Authorization: `Bearer ${accessToken}` }, retry: 0 },
  });
  const img = { ...image, name: "great.jpg", data: fakeJPEG(200 * 1024) };
  const doc = { ...pdf, name: "great.pdf", data: fakePDF(1024 * 1024) };
  for (const f of [img, doc]) {
    f.size = f.data.length;
    f.sha256 = sha256(f.data);
  }
  for (const f of [img, doc]) {
    const kind = f === img ? "image" : "document";
    await step(`great_upload_${kind}`, async () => {
      // The file part comes before the "type" field.
      const res = await client.media
        .upload({ phoneNumberID: phoneNumberId, file: new Blob([f.data], { type: f.mime }), filename: f.name, mimeType: f.mime })
        .json();
      check(typeof res?.id === "string" && res.id !== "", "no id", res);
      f.id = res.id;
      return { id: f.id, sha256: f.sha256, size: f.size, mime: f.mime };
    });
    await step(`great_send_${kind}`, async () => {
      const res = await client.message
        .createMessage({ phoneNumberID: phoneNumberId, to, type: kind, [kind]: { id: f.id } })
        .json();
      check(typeof res?.messages?.[0]?.id === "string", "no message id", res);
      return { media_id: f.id, message_id: res.messages[0].id };
    });
    await step(`great_get_${kind}`, async () => {
      const info = await client.media.getURL({ mediaID: f.id, phoneNumberID: phoneNumberId }).json();
      checkLookup(info, f);
      f.url = info.url;
      return { response: info };
    });
    await step(`great_download_${kind}`, async () => {
      // No Authorization, Host: lookaside.fbsbx.com.
      const res = await client.media.download({ mediaURL: f.url, request: { retry: 0 } });
      const buf = Buffer.from(await res.arrayBuffer());
      check(buf.length === f.size && sha256(buf) === f.sha256, `downloaded ${buf.length} bytes that differ from the upload`);
      return { size: buf.length };
    });
  }
  await step("great_delete_document", async () => {
    const res = await client.media.delete({ mediaID: doc.id, phoneNumberID: phoneNumberId }).json();
    check(res?.success === true, "want {success:true}", res);
    return { id: doc.id };
  });
  await step("great_get_deleted", async () => {
    try {
      const res = await client.media.getURL({ mediaID: doc.id, phoneNumberID: phoneNumberId }).json();
      throw new CheckError("lookup of a deleted media succeeded", res);
    } catch (err) {
      if (err instanceof CheckError) throw err;
      check(err?.name === "HTTPError" && err.response, "want ky's HTTPError", describeError(err));
      const body = await err.response.json();
      checkNotFound(err.response.status, body);
      return { status: err.response.status, body };
    }
  });
  await step("great_mark_read", async () => {
    const res = await client.message.createStatus({ phoneNumberID: phoneNumberId, status: "read", message_id: readMessageId }).json();
    check(res?.success === true, "want {success:true}", res);
    return { response: res };
  });
  await step("great_mark_read_typing", async () => {
    const res = await client.message
      .createStatus({ phoneNumberID: phoneNumberId, status: "read", message_id: readMessageId, typing_indicator: { type: "text" } })
      .json();
    check(res?.success === true, "want {success:true}", res);
    return { response: res };
  });
}

// ------------------------------------------------------------ whatsapp-api-js
{
  const graph = "https://graph.facebook.com";
  const api = new WhatsAppAPI({
    token: accessToken,
    v: graphVersion,
    secure: false,
    ponyfill: {
      // The SDK has Graph's host built in: send those calls to the proxy.
      fetch: (url, init) => {
        const s = String(url);
        return fetch(s.startsWith(graph) ? baseUrl + s.slice(graph.length) : s, init);
      },
    },
  });
  const img = { ...image, name: "wajs.jpg", data: fakeJPEG(100 * 1024) };
  img.size = img.data.length;
  img.sha256 = sha256(img.data);

  await step("wajs_upload_image", async () => {
    // messaging_product in the query string, no "type" field.
    const form = new FormData();
    form.append("file", new Blob([img.data], { type: img.mime }), img.name);
    const res = await api.uploadMedia(phoneNumberId, form);
    check(typeof res?.id === "string" && res.id !== "", "no id", res);
    img.id = res.id;
    return { id: img.id, sha256: img.sha256, size: img.size, mime: img.mime };
  });
  await step("wajs_send_image", async () => {
    const res = await api.sendMessage(phoneNumberId, { phone: to }, new Image(img.id, true, "from whatsapp-api-js"));
    check(typeof res?.messages?.[0]?.id === "string", "no message id", res);
    return { media_id: img.id, message_id: res.messages[0].id };
  });
  await step("wajs_get_image", async () => {
    const info = await api.retrieveMedia(img.id, phoneNumberId);
    checkLookup(info, img);
    img.url = info.url;
    return { response: info };
  });
  await step("wajs_download_image", async () => {
    const res = await api.fetchMedia(img.url);
    const buf = Buffer.from(await res.arrayBuffer());
    check(res.status === 200, `HTTP ${res.status}`, buf.toString("utf8", 0, 500));
    check(buf.length === img.size && sha256(buf) === img.sha256, `downloaded ${buf.length} bytes that differ from the upload`);
    return { size: buf.length };
  });
  await step("wajs_fetch_image_no_auth", () => fetchNoAuth(img.url, img));
  await step("wajs_delete_image", async () => {
    const res = await api.deleteMedia(img.id, phoneNumberId);
    check(res?.success === true, "want {success:true}", res);
    return { id: img.id };
  });
  await step("wajs_get_deleted", async () => {
    // The SDK hands back the error body as it hands back answers.
    const res = await api.$$apiFetch$$(`${baseUrl}/${graphVersion}/${img.id}?phone_number_id=${phoneNumberId}`);
    const body = await res.json();
    checkNotFound(res.status, body);
    return { status: res.status, body };
  });
  await step("wajs_mark_read_typing", async () => {
    const res = await api.markAsRead(phoneNumberId, readMessageId, "text");
    check(res?.success === true, "want {success:true}", res);
    return { response: res };
  });
}

finish();
