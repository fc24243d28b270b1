package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"waproxy/internal/heapwatch"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// readWAMID is the message id the read-receipt tests mark as read.
const readWAMID = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzRUIwQUJDREVGMDEyMzQ1Njc4OQA="

// formPart is one part of a hand-built multipart body: a file part when
// filename is set, else a plain field.
type formPart struct {
	name, filename, contentType string
	data                        []byte
}

func field(name, value string) formPart { return formPart{name: name, data: []byte(value)} }

func filePart(filename, contentType string, data []byte) formPart {
	return formPart{name: "file", filename: filename, contentType: contentType, data: data}
}

// multipartBody builds a multipart/form-data body and its Content-Type.
func multipartBody(t *testing.T, parts ...formPart) (string, []byte) {
	t.Helper()
	ct, body, err := buildMultipart(parts...)
	if err != nil {
		t.Fatal(err)
	}
	return ct, body
}

// buildMultipart writes parts into a multipart/form-data body (in memory,
// so only a part header that cannot be written fails it).
func buildMultipart(parts ...formPart) (string, []byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" {
			h.Set("Content-Disposition", multipart.FileContentDisposition(p.name, p.filename))
		} else {
			h.Set("Content-Disposition", fmt.Sprintf("form-data; name=%q", p.name))
		}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			return "", nil, err
		}
		if _, err := pw.Write(p.data); err != nil {
			return "", nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return mw.FormDataContentType(), b.Bytes(), nil
}

// uploadForm posts a multipart body to /v23.0/{phone}/media.
func (w *world) uploadForm(t *testing.T, token, phone string, parts ...formPart) answer {
	t.Helper()
	ct, body := multipartBody(t, parts...)
	return w.call(t, http.MethodPost, "/v23.0/"+phone+"/media", ct, token, body)
}

// upload uploads data as Meta's SDKs do (messaging_product, type, file)
// and returns the media id; anything but 200 {"id"} fails the test.
func (w *world) upload(t *testing.T, token, phone, mimeType string, data []byte) string {
	t.Helper()
	a := w.uploadForm(t, token, phone, field("messaging_product", "whatsapp"), field("type", mimeType),
		filePart("upload.bin", mimeType, data))
	if a.status != http.StatusOK || a.json("id").Str == "" {
		t.Fatalf("upload: HTTP %d %s", a.status, a.body)
	}
	return a.json("id").Str
}

// lookup is GET /v23.0/{id}{query} with the token.
func (w *world) lookup(t *testing.T, token, id, query string) answer {
	t.Helper()
	return w.call(t, http.MethodGet, "/v23.0/"+id+query, "", token, nil)
}

// downloadByBearer is GET /waproxy/media/{id} with the token and no URL
// token.
func (w *world) downloadByBearer(t *testing.T, token, id string) answer {
	t.Helper()
	return w.call(t, http.MethodGet, "/waproxy/media/"+id, "", token, nil)
}

// fetch GETs an absolute URL, with a bearer token when token is not empty.
func fetch(t *testing.T, rawURL, token string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return roundTrip(t, req)
}

// mediaURL looks the media up and returns the download URL it hands out.
func (w *world) mediaURL(t *testing.T, token, id string) string {
	t.Helper()
	a := w.lookup(t, token, id, "")
	if a.status != http.StatusOK || a.json("url").Str == "" {
		t.Fatalf("lookup %s: HTTP %d %s", id, a.status, a.body)
	}
	return a.json("url").Str
}

// mediaCalls returns the requests the simulator got on its media
// endpoints (upload, download, delete).
func (w *world) mediaCalls() []gupshupsim.Request {
	var out []gupshupsim.Request
	for _, r := range w.sim.Requests() {
		if strings.Contains(r.Path, "/media") {
			out = append(out, r)
		}
	}
	return out
}

// randomData is n reproducible pseudo-random bytes.
func randomData(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func sha256bytes(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

// assertBytes checks a download answer carries exactly want.
func assertBytes(t *testing.T, what string, a answer, want []byte, mimeType string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %.300s", what, a.status, a.body)
	}
	if !bytes.Equal(a.body, want) {
		t.Fatalf("%s: %d bytes (sha256 %s), want %d bytes (sha256 %s)", what, len(a.body), sha256bytes(a.body), len(want), sha256bytes(want))
	}
	if ct := a.header.Get("Content-Type"); mimeType != "" && ct != mimeType {
		t.Errorf("%s: Content-Type %q, want %q", what, ct, mimeType)
	}
}

// assertNoSpool checks that no upload is left in the world's spool
// directory.
func assertNoSpool(t *testing.T, w *world) {
	t.Helper()
	pollUntil(t, 2*time.Second, "an empty spool directory", func() bool {
		left, err := os.ReadDir(w.spoolDir)
		if err != nil {
			t.Fatal(err)
		}
		return len(left) == 0
	})
}

// TestMediaSDKRoundTrip runs integration/sdk/media.mjs: three Node SDKs
// upload, send by id, look up, download (with and without a bearer token),
// delete media and mark a message as read; then checks what reached the
// simulator: the bytes, the media ids in the sends, the deletes and the
// read events.
func TestMediaSDKRoundTrip(t *testing.T) {
	w := newWorld(t, worldOptions{})
	res := nodeScript(t, "media.mjs",
		"PROXY_BASE_URL="+w.proxy.URL, "ACCESS_TOKEN="+tokenA, "PHONE_NUMBER_ID="+phoneA,
		"TO=15551234567", "READ_MESSAGE_ID="+readWAMID, "GRAPH_VERSION=v23.0")
	for _, sc := range []string{
		"kapso_upload_image", "kapso_upload_document", "kapso_send_image", "kapso_send_document",
		"kapso_get_image", "kapso_download_image", "kapso_fetch_image_no_auth",
		"kapso_get_document", "kapso_download_document", "kapso_fetch_document_no_auth",
		"kapso_delete_image", "kapso_get_deleted", "kapso_fetch_deleted", "kapso_mark_read", "kapso_mark_read_typing",
		"great_upload_image", "great_send_image", "great_get_image", "great_download_image",
		"great_upload_document", "great_send_document", "great_get_document", "great_download_document",
		"great_delete_document", "great_get_deleted", "great_mark_read", "great_mark_read_typing",
		"wajs_upload_image", "wajs_send_image", "wajs_get_image", "wajs_download_image", "wajs_fetch_image_no_auth",
		"wajs_delete_image", "wajs_get_deleted", "wajs_mark_read_typing",
	} {
		if _, ok := res[sc]; !ok {
			t.Errorf("scenario %s did not run", sc)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The uploads the SDKs kept are at Gupshup with the bytes' sha256; the
	// deleted ones are gone there too.
	uploads := map[string]gjson.Result{}
	for sc, line := range res {
		if strings.Contains(sc, "_upload_") {
			uploads[sc] = line
		}
	}
	deleted := map[string]bool{"kapso_upload_image": true, "great_upload_document": true, "wajs_upload_image": true}
	for sc, line := range uploads {
		id := line.Get("id").Str
		mimeType, size, sum, ok := w.sim.Media(appA, id)
		if deleted[sc] {
			if ok {
				t.Errorf("%s: media %s still at Gupshup after the delete", sc, id)
			}
			if !hasCall(w, http.MethodDelete, "/partner/app/"+appA+"/media/"+id) {
				t.Errorf("%s: no DELETE of %s reached Gupshup", sc, id)
			}
		} else if !ok || sum != line.Get("sha256").Str || size != line.Get("size").Int() || mimeType != line.Get("mime").Str {
			t.Errorf("%s: Gupshup has %s: ok=%v %s %d bytes sha256 %s; the SDK uploaded %s", sc, id, ok, mimeType, size, sum, line.Raw)
		}
		// However often the SDKs downloaded it, Gupshup served it once
		// (the proxy's cache).
		if n := w.sim.MediaDownloads(id); n != 1 {
			t.Errorf("%s: Gupshup served media %s %d times, want 1", sc, id, n)
		}
	}
	// Kapso's PDF went up as application/octet-stream with type=application/pdf:
	// Gupshup got the type from the field.
	if info, ok := w.sim.MediaInfo(appA, res["kapso_upload_document"].Get("id").Str); !ok ||
		info.FileType != "application/pdf" || info.PartContentType != "application/pdf" || info.FileName != "report.pdf" {
		t.Errorf("Kapso's document at Gupshup: %+v", info)
	}

	// Every send by id reached Gupshup with the media id in its object.
	sends := w.sends()
	for sc, line := range res {
		if !strings.Contains(sc, "_send_") {
			continue
		}
		kind := sc[strings.LastIndexByte(sc, '_')+1:]
		id := line.Get("media_id").Str
		found := false
		for _, r := range sends {
			if r.Form.Get("type") == kind && gjson.Get(r.Form.Get(kind), "id").Str == id {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s send with media id %s reached Gupshup", sc, kind, id)
		}
	}
	if len(sends) != 5 {
		t.Errorf("%d sends reached Gupshup, want 5", len(sends))
	}

	// The read receipts reached Gupshup's v1/event: two plain, three with
	// a typing indicator.
	events := w.sim.Events()
	plain, typing := 0, 0
	for _, e := range events {
		m := gjson.ParseBytes(e)
		if m.Get("message_id").Str != readWAMID || m.Get("status").Str != "read" {
			t.Errorf("event %s", e)
			continue
		}
		if m.Get("typing_indicator.type").Str == "text" {
			typing++
		} else {
			plain++
		}
	}
	if plain != 2 || typing != 3 {
		t.Errorf("read events: %d plain, %d with typing, want 2 and 3: %q", plain, typing, events)
	}
}

// hasCall reports whether the simulator got method on path.
func hasCall(w *world, method, path string) bool {
	for _, r := range w.sim.Requests() {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

// TestMediaUploadRejectedBeforeGupshup sends uploads Graph would refuse:
// each gets Meta's error and none reaches Gupshup or stays on disk.
func TestMediaUploadRejectedBeforeGupshup(t *testing.T) {
	w := newWorld(t, worldOptions{})
	mp := field("messaging_product", "whatsapp")
	cases := []struct {
		name    string
		parts   []formPart
		status  int
		code    int64
		details string // substring of error_data.details
	}{
		{"oversize image", []formPart{mp, field("type", "image/jpeg"), filePart("big.jpg", "image/jpeg", make([]byte, 5<<20+1))},
			400, 131053, "image files may be at most 5 MB (5242880 bytes)"},
		{"wrong MIME", []formPart{mp, field("type", "application/zip"), filePart("a.zip", "application/zip", []byte("PK\x03\x04"))},
			400, 131053, "Received file of type 'application/zip'"},
		{"oversize sticker", []formPart{mp, field("type", "image/webp"), filePart("s.webp", "image/webp", make([]byte, 500<<10+1))},
			400, 131053, "sticker files may be at most 500 KB (512000 bytes)"},
		{"no file part", []formPart{mp, field("type", "image/jpeg")}, 400, 100, "file"},
		{"no messaging_product", []formPart{field("type", "image/jpeg"), filePart("a.jpg", "image/jpeg", []byte{0xff, 0xd8})},
			400, 100, "messaging_product"},
		{"wrong messaging_product", []formPart{field("messaging_product", "sms"), field("type", "image/jpeg"), filePart("a.jpg", "image/jpeg", []byte{0xff, 0xd8})},
			400, 100, "messaging_product"},
	}
	for _, c := range cases {
		a := w.uploadForm(t, tokenA, phoneA, c.parts...)
		t.Logf("%s: HTTP %d %s", c.name, a.status, a.body)
		assertMetaError(t, a, c.status, c.code)
		if d := a.json("error.error_data.details").Str; !strings.Contains(d, c.details) {
			t.Errorf("%s: details %q, want them to mention %q", c.name, d, c.details)
		}
	}
	// Not multipart at all.
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", ""} {
		a := w.call(t, http.MethodPost, "/v23.0/"+phoneA+"/media", ct, tokenA, []byte(`{"messaging_product":"whatsapp","file":"aGVsbG8="}`))
		assertMetaError(t, a, 400, 100)
	}
	// No token, another tenant's phone number.
	a := w.uploadForm(t, "", phoneA, mp, filePart("a.jpg", "image/jpeg", []byte{0xff, 0xd8}))
	assertMetaError(t, a, 401, 190)
	a = w.uploadForm(t, tokenB, phoneA, mp, filePart("a.jpg", "image/jpeg", []byte{0xff, 0xd8}))
	assertMetaError(t, a, 400, 100)
	if a.json("error.error_subcode").Int() != 33 {
		t.Errorf("another tenant's phone: %s", a.body)
	}

	// A client that goes away mid-file.
	cutUpload(t, w)

	if calls := w.mediaCalls(); len(calls) != 0 {
		t.Fatalf("%d requests reached Gupshup's media endpoints, want none: first %s %s", len(calls), calls[0].Method, calls[0].Path)
	}
	assertNoSpool(t, w)

	// The limits are inclusive: exactly 5 MiB of image and 500 KiB of
	// sticker go through.
	for _, c := range []struct {
		mime string
		size int
	}{{"image/jpeg", 5 << 20}, {"image/webp", 500 << 10}} {
		data := randomData(c.size, 7)
		id := w.upload(t, tokenA, phoneA, c.mime, data)
		if _, size, sum, ok := w.sim.Media(appA, id); !ok || size != int64(c.size) || sum != sha256bytes(data) {
			t.Errorf("%s at the limit: Gupshup has ok=%v %d bytes", c.mime, ok, size)
		}
	}
	assertNoSpool(t, w)
}

// cutUpload starts an upload and breaks it off after 1 MiB of the file.
func cutUpload(t *testing.T, w *world) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField("messaging_product", "whatsapp")
		part, err := mw.CreateFormFile("file", "cut.pdf")
		if err == nil {
			_, err = part.Write(randomData(1<<20, 8))
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.proxy.URL+"/v23.0/"+phoneA+"/media?type=application/pdf", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tokenA)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("a cut upload was accepted: %s", b)
		}
	}
	// The proxy saw the file end early (its answer may come after the
	// client gave up).
	pollUntil(t, 5*time.Second, "the proxy to refuse the cut upload", func() bool {
		return strings.Contains(w.logs.String(), `"error":"spooling upload failed"`)
	})
}

// streamUpload uploads size generated bytes as a document through a pipe
// (never holding the file) and returns the answer, the file's sha256 and
// the heap's peak growth meanwhile.
func streamUpload(t *testing.T, w *world, size int64, seed byte) (answer, string, int64) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	sum := make(chan string, 1)
	go func() {
		h := sha256.New()
		err := mw.WriteField("messaging_product", "whatsapp")
		var part io.Writer
		if err == nil {
			hdr := textproto.MIMEHeader{}
			hdr.Set("Content-Disposition", multipart.FileContentDisposition("file", "big.pdf"))
			hdr.Set("Content-Type", "application/pdf")
			part, err = mw.CreatePart(hdr)
		}
		if err == nil {
			_, err = io.Copy(io.MultiWriter(part, h), io.LimitReader(rand.NewChaCha8([32]byte{seed}), size))
		}
		if err == nil {
			err = mw.Close()
		}
		sum <- hex.EncodeToString(h.Sum(nil))
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.proxy.URL+"/v23.0/"+phoneA+"/media", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tokenA)
	hw := heapwatch.Start()
	start := time.Now()
	a := roundTrip(t, req)
	growth := hw.Growth()
	t.Logf("upload of %.1f MiB: HTTP %d in %s, heap peak growth %.1f MiB", float64(size)/(1<<20), a.status,
		time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20))
	pr.Close() // unblocks the writer if the proxy answered before the end
	return a, <-sum, growth
}

// TestMediaUploadStreamsLargeFile uploads a 50 MiB document generated on
// the fly through a pipe: the heap of the test process (client, proxy and
// simulator all run in it) must grow far less than the file, and Gupshup
// gets every byte. The download, too large for the cache, streams back.
func TestMediaUploadStreamsLargeFile(t *testing.T) {
	const size = 50 << 20
	const maxGrowth = 24 << 20
	w := newWorld(t, worldOptions{})

	a, want, up := streamUpload(t, w, size, 50)
	if a.status != http.StatusOK {
		t.Fatalf("upload: HTTP %d %s", a.status, a.body)
	}
	if up > maxGrowth {
		t.Errorf("heap grew %d bytes during a %d byte upload, want < %d: the upload is buffered", up, size, maxGrowth)
	}
	id := a.json("id").Str
	mimeType, got, gotSum, ok := w.sim.Media(appA, id)
	if !ok || got != size || gotSum != want || mimeType != "application/pdf" {
		t.Fatalf("Gupshup has ok=%v %s %d bytes sha256 %s, want %d bytes sha256 %s", ok, mimeType, got, gotSum, size, want)
	}
	assertNoSpool(t, w)

	// The lookup knows size and hash from the upload (no fetch).
	l := w.lookup(t, tokenA, id, "")
	if l.status != 200 || l.json("file_size").Int() != size || l.json("sha256").Str != want || l.json("mime_type").Str != "application/pdf" {
		t.Fatalf("lookup: HTTP %d %s", l.status, l.body)
	}
	if n := w.sim.MediaDownloads(id); n != 0 {
		t.Errorf("the lookup fetched the media %d times", n)
	}

	// Downloads stream (the object is over the cache's item limit), so
	// each one is a fetch from Gupshup.
	for i := 1; i <= 2; i++ {
		hw := heapwatch.Start()
		start := time.Now()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, l.json("url").Str, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		down := hw.Growth()
		t.Logf("download %d: %s, heap peak growth %.1f MiB", i, time.Since(start).Round(time.Millisecond), float64(down)/(1<<20))
		if err != nil || resp.StatusCode != 200 || n != size || hex.EncodeToString(h.Sum(nil)) != want {
			t.Fatalf("download %d: HTTP %d, %d bytes, err %v, sha256 match %v", i, resp.StatusCode, n, err, hex.EncodeToString(h.Sum(nil)) == want)
		}
		if resp.ContentLength != size || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("download %d: Content-Length %d, Content-Type %q", i, resp.ContentLength, resp.Header.Get("Content-Type"))
		}
		if down > maxGrowth {
			t.Errorf("download %d: heap grew %d bytes, want < %d: the download is buffered", i, down, maxGrowth)
		}
		if got := w.sim.MediaDownloads(id); got != i {
			t.Errorf("after download %d Gupshup served the media %d times (cached?)", i, got)
		}
	}

	// One byte over the largest kind's limit (documents, 100 MiB): refused
	// once spooled, never sent on.
	w.sim.Reset()
	a, _, up = streamUpload(t, w, 100<<20+1, 51)
	assertMetaError(t, a, 400, 131053)
	if d := a.json("error.error_data.details").Str; !strings.Contains(d, "document files may be at most 100 MB (104857600 bytes)") {
		t.Errorf("details %q", d)
	}
	if up > maxGrowth {
		t.Errorf("heap grew %d bytes during a refused 100 MiB upload, want < %d", up, maxGrowth)
	}
	if calls := w.mediaCalls(); len(calls) != 0 {
		t.Errorf("%d requests reached Gupshup's media endpoints, want none", len(calls))
	}
	assertNoSpool(t, w)
}

// TestMediaTenantIsolation: tenant b cannot see, download or delete tenant
// a's media, whatever token or URL it tries; URL tokens are bound to one
// media id and cannot be forged.
func TestMediaTenantIsolation(t *testing.T) {
	w := newWorld(t, worldOptions{})
	dataA := randomData(20<<10, 1)
	idA := w.upload(t, tokenA, phoneA, "image/jpeg", dataA)
	dataB := randomData(20<<10, 2)
	idB := w.upload(t, tokenB, phoneB, "image/png", dataB)
	urlA := w.mediaURL(t, tokenA, idA)

	notFound := func(what string, a answer) {
		t.Helper()
		assertMetaError(t, a, 400, 100)
		if a.json("error.error_subcode").Int() != 33 {
			t.Errorf("%s: want subcode 33: %s", what, a.body)
		}
		if bytes.Contains(a.body, dataA[:64]) || strings.Contains(string(a.body), sha256bytes(dataA)) {
			t.Errorf("%s: the answer leaks the media: %s", what, a.body)
		}
	}
	notFound("b looks up a's media", w.lookup(t, tokenB, idA, ""))
	notFound("b downloads a's media by bearer", w.downloadByBearer(t, tokenB, idA))
	notFound("b downloads a's media with access_token", w.call(t, http.MethodGet, "/waproxy/media/"+idA+"?access_token="+tokenB, "", "", nil))
	notFound("b deletes a's media", w.call(t, http.MethodDelete, "/v23.0/"+idA, "", tokenB, nil))
	notFound("a looks up b's media", w.lookup(t, tokenA, idB, ""))
	// A phone_number_id of another tenant is not a way in, even for the
	// owner.
	notFound("a's media with b's phone_number_id", w.lookup(t, tokenA, idA, "?phone_number_id="+phoneB))
	notFound("delete with b's phone_number_id", w.call(t, http.MethodDelete, "/v23.0/"+idA+"?phone_number_id="+phoneB, "", tokenA, nil))
	if a := w.lookup(t, tokenA, idA, "?phone_number_id="+phoneA); a.status != 200 {
		t.Errorf("a's media with a's phone_number_id: HTTP %d %s", a.status, a.body)
	}

	// a's URL token opens a's media, and only it: with b's media id, with
	// a tampered MAC or tenant it is refused.
	u, err := url.Parse(urlA)
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("token")
	assertBytes(t, "a's URL without a bearer", fetch(t, urlA, ""), dataA, "image/jpeg")
	assertMetaError(t, fetch(t, w.proxy.URL+"/waproxy/media/"+idB+"?token="+tok, ""), 401, 190)
	// Not even with a's own bearer, which does not own b's media.
	if a := fetch(t, w.proxy.URL+"/waproxy/media/"+idB+"?token="+tok, tokenA); a.status == http.StatusOK || bytes.Contains(a.body, dataB[:64]) {
		t.Errorf("a's token and bearer on b's media id: HTTP %d", a.status)
	}
	payload, mac, _ := strings.Cut(tok, ".")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, bad := range map[string]string{
		"tampered MAC":     payload + "." + flip(mac, 3),
		"tampered payload": flip(payload, len(payload)-2) + "." + mac,
		"truncated":        payload + "." + mac[:len(mac)-2],
		"no MAC":           payload,
		"garbage":          "not-a-token",
	} {
		a := fetch(t, w.proxy.URL+"/waproxy/media/"+idA+"?token="+url.QueryEscape(bad), "")
		if a.status != 401 || a.json("error.code").Int() != 190 {
			t.Errorf("%s: HTTP %d %s", name, a.status, a.body)
		}
	}
	// b cannot mint a token for a's media by looking it up.
	if a := w.lookup(t, tokenB, idA, ""); a.json("url").Exists() {
		t.Errorf("b got a URL for a's media: %s", a.body)
	}

	// Nothing of a's was fetched or deleted on b's behalf.
	if _, _, sum, ok := w.sim.Media(appA, idA); !ok || sum != sha256bytes(dataA) {
		t.Errorf("a's media at Gupshup: ok=%v", ok)
	}
	for _, r := range w.mediaCalls() {
		if r.Method == http.MethodDelete {
			t.Errorf("a delete reached Gupshup: %s", r.Path)
		}
	}
	assertBytes(t, "a downloads by bearer", w.downloadByBearer(t, tokenA, idA), dataA, "image/jpeg")
	assertBytes(t, "b downloads its own", fetch(t, w.mediaURL(t, tokenB, idB), ""), dataB, "image/png")
}

// TestMediaExpiredURLToken: with a tiny media.url_ttl the download URL
// soon stops working without a bearer token; the owner's bearer still
// works.
func TestMediaExpiredURLToken(t *testing.T) {
	w := newWorld(t, worldOptions{mediaURLTTL: 50 * time.Millisecond})
	data := randomData(8<<10, 3)
	id := w.upload(t, tokenA, phoneA, "image/png", data)
	u := w.mediaURL(t, tokenA, id)

	var a answer
	pollUntil(t, 3*time.Second, "the URL token to expire", func() bool {
		a = fetch(t, u, "")
		return a.status != http.StatusOK
	})
	assertMetaError(t, a, 401, 190)
	if !strings.Contains(w.logs.String(), "url token expired") {
		t.Errorf("the refusal was not for expiry; logs:\n%s", w.logs.String())
	}
	// Another tenant's bearer does not revive it.
	if a := fetch(t, u, tokenB); a.status == http.StatusOK {
		t.Errorf("expired URL with b's bearer served the media")
	}
	// The owner's bearer: on the bare download path, and on the URL as
	// handed out (SDKs that download with auth send the URL as is).
	assertBytes(t, "bare path with the bearer", w.downloadByBearer(t, tokenA, id), data, "image/png")
	assertBytes(t, "expired URL with the bearer", fetch(t, u, tokenA), data, "image/png")
}

// TestMediaGupshupErrorsMapped: Gupshup's media failures reach the client
// as Meta's errors.
func TestMediaGupshupErrorsMapped(t *testing.T) {
	w := newWorld(t, worldOptions{})
	img := randomData(10<<10, 4)
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   int
		code   int64
	}{
		{"file too large", 413, `{"status":"error","message":"File size exceeds the maximum limit!"}`, 400, 131053},
		{"not a CAPI app", 400, `{"status":"error","message":"Only CAPI apps allowed to generate media ID"}`, 403, 10},
		{"upload failed", 500, `{"status":"error","message":"Unable to upload requested Media"}`, 500, 131000},
		{"app token rejected", 401, `{"status":"error","message":"Authentication Failed"}`, 500, 1},
		{"rate limited", 429, `{"status":"error","message":"Too Many Requests"}`, 400, 130429},
	} {
		w.sim.Reset()
		w.sim.Inject(gupshupsim.Fault{PathSuffix: "/media", Status: c.status, Body: c.body})
		a := w.uploadForm(t, tokenA, phoneA, field("messaging_product", "whatsapp"), filePart("a.jpg", "image/jpeg", img))
		t.Logf("%s: HTTP %d %s", c.name, a.status, a.body)
		assertMetaError(t, a, c.want, c.code)
		if n := w.sim.Count("/media"); n != 1 {
			t.Errorf("%s: %d uploads reached Gupshup, want 1 (no retry)", c.name, n)
		}
	}
	assertNoSpool(t, w)

	// A media id Gupshup no longer has (deleted or expired there): the
	// download and the delete answer Graph's unknown object.
	data := randomData(10<<10, 5)
	id := w.upload(t, tokenA, phoneA, "image/jpeg", data)
	req, err := http.NewRequest(http.MethodDelete, w.simTS.URL+"/partner/app/"+appA+"/media/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", appTokA)
	if a := roundTrip(t, req); a.status != 200 {
		t.Fatalf("deleting at the simulator: HTTP %d %s", a.status, a.body)
	}
	for what, a := range map[string]answer{
		"download by bearer": w.downloadByBearer(t, tokenA, id),
		"download by URL":    fetch(t, w.mediaURL(t, tokenA, id), ""),
		"delete":             w.call(t, http.MethodDelete, "/v23.0/"+id, "", tokenA, nil),
	} {
		assertMetaError(t, a, 400, 100)
		if a.json("error.error_subcode").Int() != 33 {
			t.Errorf("%s of a forgotten id: %s", what, a.body)
		}
	}
	// The same answer injected on a download of an id Gupshup has.
	id = w.upload(t, tokenA, phoneA, "image/jpeg", data)
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/media/" + id, Status: 400, Body: `{"status":"error","message":"Invalid Media Id"}`})
	a := w.downloadByBearer(t, tokenA, id)
	assertMetaError(t, a, 400, 100)
	if a.json("error.error_subcode").Int() != 33 {
		t.Errorf("injected Invalid Media Id: %s", a.body)
	}
	// Gupshup's download rate limit.
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/media/" + id, Status: 429, Body: `{"status":"error","message":"Too Many Requests"}`,
		Header: map[string]string{"Retry-After": "7"}})
	assertMetaError(t, w.downloadByBearer(t, tokenA, id), 400, 130429)
	// Then it works.
	assertBytes(t, "download after the faults", w.downloadByBearer(t, tokenA, id), data, "image/jpeg")

	// An app that is not on the Cloud API, as the simulator answers it.
	nc := newWorld(t, worldOptions{notCAPIA: true})
	a = nc.uploadForm(t, tokenA, phoneA, field("messaging_product", "whatsapp"), filePart("a.jpg", "image/jpeg", img))
	assertMetaError(t, a, 403, 10)
	if d := a.json("error.error_data.details").Str; !strings.Contains(d, "Only CAPI apps") {
		t.Errorf("not CAPI: details %q", d)
	}

	// Gupshup unreachable: nothing was sent, the client may retry.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	dw := newWorld(t, worldOptions{upstreamURL: dead})
	a = dw.uploadForm(t, tokenA, phoneA, field("messaging_product", "whatsapp"), filePart("a.jpg", "image/jpeg", img))
	assertMetaError(t, a, 503, 2)
	a = dw.send(t, tokenA, phoneA, `{"messaging_product":"whatsapp","status":"read","message_id":"`+readWAMID+`"}`)
	assertMetaError(t, a, 503, 2)
	assertNoSpool(t, dw)
}

// TestMediaDownloadCache: a lookup and two downloads (by URL token, by
// bearer) cost Gupshup one fetch.
func TestMediaDownloadCache(t *testing.T) {
	w := newWorld(t, worldOptions{})
	data := randomData(300<<10, 6)
	id := w.upload(t, tokenA, phoneA, "video/mp4", data)
	u := w.mediaURL(t, tokenA, id)
	if n := w.sim.MediaDownloads(id); n != 0 {
		t.Errorf("the lookup fetched the media %d times", n)
	}
	assertBytes(t, "download by URL token", fetch(t, u, ""), data, "video/mp4")
	assertBytes(t, "download by bearer", w.downloadByBearer(t, tokenA, id), data, "video/mp4")
	assertBytes(t, "second lookup's URL", fetch(t, w.mediaURL(t, tokenA, id), tokenA), data, "video/mp4")
	// The unversioned lookup path, the access_token parameter.
	if a := w.call(t, http.MethodGet, "/"+id+"?access_token="+tokenA, "", "", nil); a.status != 200 || a.json("sha256").Str != sha256bytes(data) {
		t.Fatalf("unversioned lookup: HTTP %d %s", a.status, a.body)
	} else {
		assertBytes(t, "unversioned lookup's URL", fetch(t, a.json("url").Str, ""), data, "video/mp4")
	}
	if n := w.sim.MediaDownloads(id); n != 1 {
		t.Fatalf("Gupshup served the media %d times, want 1", n)
	}
	n := 0
	for _, r := range w.mediaCalls() {
		if r.Method == http.MethodGet {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d GETs reached Gupshup's media endpoint, want 1", n)
	}
	// A delete drops the cached copy with the id.
	if a := w.call(t, http.MethodDelete, "/v23.0/"+id, "", tokenA, nil); a.status != 200 || string(a.body) != `{"success":true}` {
		t.Fatalf("delete: HTTP %d %s", a.status, a.body)
	}
	a := fetch(t, u, "")
	assertMetaError(t, a, 400, 100)
}

// TestInboundMediaLookupAndDownload: a user's image reaches the tenant's
// webhook with its media id (no Gupshup URL); the tenant looks it up and
// downloads the bytes Gupshup serves; another tenant cannot.
func TestInboundMediaLookupAndDownload(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{webhookA: &tenantWebhook{url: rc.URL, appSecret: metaSecretA}, subscribe: true})
	wamid, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Type: "image", Text: "look at this"})
	if err != nil {
		t.Fatal(err)
	}
	var msg gjson.Result
	pollUntil(t, 10*time.Second, "the image webhook", func() bool {
		for _, d := range rc.delivered() {
			if m := d.json("entry.0.changes.0.value.messages.0"); m.Get("id").Str == wamid {
				if !d.sigOK {
					t.Fatalf("bad signature on %s", d.body)
				}
				msg = m
				return true
			}
		}
		return false
	})
	img := msg.Get("image")
	id := img.Get("id").Str
	if msg.Get("type").Str != "image" || id == "" || img.Get("mime_type").Str != "image/jpeg" || img.Get("caption").Str != "look at this" {
		t.Fatalf("relayed message: %s", msg.Raw)
	}
	if img.Get("url").Exists() || strings.Contains(msg.Raw, w.simTS.URL) || strings.Contains(msg.Raw, "/wa/media/") {
		t.Errorf("the webhook carries Gupshup's media URL: %s", msg.Raw)
	}

	// What Gupshup serves for it.
	direct := fetch(t, w.simTS.URL+"/wa/"+appA+"/wa/media/"+id+"?download=false", "")
	if direct.status != 200 || len(direct.body) == 0 {
		t.Fatalf("direct GET at the simulator: HTTP %d", direct.status)
	}
	before := w.sim.MediaDownloads(id)

	l := w.lookup(t, tokenA, id, "")
	if l.status != 200 || l.json("id").Str != id || l.json("mime_type").Str != img.Get("mime_type").Str ||
		l.json("sha256").Str != sha256bytes(direct.body) || l.json("file_size").Int() != int64(len(direct.body)) ||
		l.json("file_size").Type != gjson.Number {
		t.Fatalf("lookup: HTTP %d %s (sim serves %d bytes, sha256 %s)", l.status, l.body, len(direct.body), sha256bytes(direct.body))
	}
	assertBytes(t, "download by bearer", w.downloadByBearer(t, tokenA, id), direct.body, "image/jpeg")
	assertBytes(t, "download by URL token", fetch(t, l.json("url").Str, ""), direct.body, "image/jpeg")
	if n := w.sim.MediaDownloads(id) - before; n != 1 {
		t.Errorf("lookup and downloads fetched the media %d times from Gupshup, want 1", n)
	}

	// Tenant b knows nothing of it.
	for what, a := range map[string]answer{
		"lookup":   w.lookup(t, tokenB, id, ""),
		"download": w.downloadByBearer(t, tokenB, id),
		"delete":   w.call(t, http.MethodDelete, "/v23.0/"+id, "", tokenB, nil),
	} {
		assertMetaError(t, a, 400, 100)
		if a.json("error.error_subcode").Int() != 33 {
			t.Errorf("b's %s: %s", what, a.body)
		}
	}
}

// TestMarkAsReadErrorsMapped: Gupshup's refusals of a read receipt become
// Meta's errors; a rotated app token is refreshed once and the receipt
// retried.
func TestMarkAsReadErrorsMapped(t *testing.T) {
	w := newWorld(t, worldOptions{})
	read := `{"messaging_product":"whatsapp","status":"read","message_id":"` + readWAMID + `"}`
	typing := `{"messaging_product":"whatsapp","status":"read","message_id":"` + readWAMID + `","typing_indicator":{"type":"text"}}`
	for _, body := range []string{read, typing} {
		if a := w.send(t, tokenA, phoneA, body); a.status != 200 || string(a.body) != `{"success":true}` {
			t.Fatalf("mark as read: HTTP %d %s", a.status, a.body)
		}
	}
	if n := len(w.sim.Events()); n != 2 {
		t.Fatalf("%d events reached Gupshup, want 2", n)
	}

	// Gupshup refuses the event.
	w.sim.Reset()
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v1/event", Status: 400, Body: `{"status":"error","message":"Outbound event not supported"}`})
	assertMetaError(t, w.send(t, tokenA, phoneA, read), 400, 100)
	// The same, as the simulator answers a status it does not support.
	a := w.send(t, tokenA, phoneA, `{"messaging_product":"whatsapp","status":"delivered","message_id":"`+readWAMID+`"}`)
	assertMetaError(t, a, 400, 100)
	// Refused before Gupshup: no message_id.
	assertMetaError(t, w.send(t, tokenA, phoneA, `{"messaging_product":"whatsapp","status":"read"}`), 400, 100)
	if n := w.sim.Count("/v1/event"); n != 2 {
		t.Errorf("%d events reached Gupshup, want 2", n)
	}
	// A typing indicator Gupshup does not take: its documented "Please
	// review the request parameters and retry" (400) is an invalid
	// parameter, as Graph answers it, not a server error to retry.
	a = w.send(t, tokenA, phoneA, `{"messaging_product":"whatsapp","status":"read","message_id":"`+readWAMID+`","typing_indicator":{"type":"audio"}}`)
	if a.status != 400 || a.json("error.code").Int() != 100 {
		t.Errorf("Gupshup's 400 \"Please review the request parameters and retry\": got HTTP %d code %d, want HTTP 400 code 100: %s",
			a.status, a.json("error.code").Int(), a.body)
	}
	if n := len(w.sim.Events()); n != 0 {
		t.Errorf("%d events accepted, want 0", n)
	}

	// Tenant b's app token (from partner login) is rotated at Gupshup: one
	// 401, one refresh, one retry with the new token.
	if a := w.send(t, tokenB, phoneB, read); a.status != 200 {
		t.Fatalf("b marks as read: HTTP %d %s", a.status, a.body)
	}
	newTok := w.sim.RotateAppToken(appB)
	w.sim.Reset()
	if a := w.send(t, tokenB, phoneB, typing); a.status != 200 || string(a.body) != `{"success":true}` {
		t.Fatalf("after rotation: HTTP %d %s", a.status, a.body)
	}
	var calls []gupshupsim.Request
	for _, r := range w.sim.Requests() {
		if strings.HasSuffix(r.Path, "/v1/event") {
			calls = append(calls, r)
		}
	}
	if len(calls) != 2 || calls[0].Header.Get("Authorization") == newTok || calls[1].Header.Get("Authorization") != newTok {
		t.Fatalf("v1/event calls %d, want 2 (rejected, then retried with the new token)", len(calls))
	}
	if n := w.sim.Count("/token"); n != 1 {
		t.Errorf("%d token fetches, want 1", n)
	}
	if ev := w.sim.Events(); len(ev) != 1 || gjson.GetBytes(ev[0], "typing_indicator.type").Str != "text" {
		t.Errorf("events after the retry: %q", ev)
	}
	// A 401 that persists: one retry, then the operator error.
	w.sim.Reset()
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v1/event", Times: 5, Status: 401, Body: `{"status":"error","message":"Authentication Failed"}`})
	assertMetaError(t, w.send(t, tokenB, phoneB, read), 500, 1)
	if n := w.sim.Count("/v1/event"); n != 2 {
		t.Errorf("persistent 401: %d v1/event calls, want 2", n)
	}
}
