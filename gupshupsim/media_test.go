package gupshupsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"waproxy/internal/heapwatch"

	"github.com/tidwall/gjson"
)

var mediaIDPattern = regexp.MustCompile(`^[1-9][0-9]{15}$`)

// startMediaSim starts a Sim (closed at the end of the test) with a fake
// clock.
func startMediaSim(t *testing.T, opts Options) (*Sim, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	sim := New(opts)
	sim.now = clock.Now
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	return sim, srv, clock
}

func mediaURL(base, appID, id string) string {
	u := base + "/partner/app/" + appID + "/media"
	if id != "" {
		u += "/" + id
	}
	return u
}

// part is one multipart part for multipartBody.
type part struct {
	name, filename, ctype string
	body                  io.Reader
}

// multipartBody streams the parts through a pipe; it returns the body and
// its Content-Type.
func multipartBody(parts ...part) (io.Reader, string) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, p := range parts {
			h := textproto.MIMEHeader{}
			if p.filename != "" {
				h.Set("Content-Disposition", multipart.FileContentDisposition(p.name, p.filename))
			} else {
				h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
			}
			if p.ctype != "" {
				h.Set("Content-Type", p.ctype)
			}
			w, err := mw.CreatePart(h)
			if err == nil {
				_, err = io.Copy(w, p.body)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	return pr, mw.FormDataContentType()
}

// bufferedMultipart returns a multipart body in memory (so requests carry a
// Content-Length).
func bufferedMultipart(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	r, ct := multipartBody(parts...)
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b, ct
}

func fileParts(fileType, filename, ctype string, content []byte) []part {
	return []part{
		{name: "file_type", body: strings.NewReader(fileType)},
		{name: "file", filename: filename, ctype: ctype, body: bytes.NewReader(content)},
	}
}

// post sends body to u with the headers and returns the answer.
func post(t *testing.T, method, u string, header map[string]string, body io.Reader, length int64) response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// uploadMedia uploads content and returns the media id.
func uploadMedia(t *testing.T, base, appID, token, fileType string, content []byte) string {
	t.Helper()
	body, ct := bufferedMultipart(t, fileParts(fileType, "f.bin", fileType, content)...)
	r := post(t, "POST", mediaURL(base, appID, ""), map[string]string{"Authorization": token, "Content-Type": ct},
		bytes.NewReader(body), int64(len(body)))
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "mediaId").String()
	if !mediaIDPattern.MatchString(id) {
		t.Fatalf("upload answer %s", r.body)
	}
	return id
}

// genReader produces n deterministic bytes without holding them.
type genReader struct{ n, off int64 }

var genBlock = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}()

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if rem := g.n - g.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := copy(p, genBlock[g.off%int64(len(genBlock)):])
	g.off += int64(n)
	return n, nil
}

func genSHA256(n int64) string {
	h := sha256.New()
	io.Copy(h, &genReader{n: n})
	return hex.EncodeToString(h.Sum(nil))
}

// checkStatus checks only the status (media answers are not JSON).
func checkStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %.200s)", r.status, status, r.body)
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestMediaLifecycle(t *testing.T) {
	sim, srv, _ := startMediaSim(t, testOptions())
	content := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte("jpeg"), 5000)...)
	auth := map[string]string{"Authorization": testAppToken}

	body, ct := bufferedMultipart(t, fileParts("image/jpeg", "photo.jpg", "image/jpeg; x=1", content)...)
	r := post(t, "POST", mediaURL(srv.URL, testAppID, ""), map[string]string{"Authorization": testAppToken, "Content-Type": ct},
		bytes.NewReader(body), int64(len(body)))
	r.check(t, 200, "")
	var up struct{ MediaID, Status string }
	if err := json.Unmarshal(r.body, &up); err != nil || !mediaIDPattern.MatchString(up.MediaID) || up.Status != "success" {
		t.Fatalf("upload answer %s", r.body)
	}
	if want := `{"mediaId":"` + up.MediaID + `","status":"success"}`; string(r.body) != want {
		t.Errorf("upload answer %s, want %s", r.body, want)
	}
	id := up.MediaID

	mt, size, sum, ok := sim.Media(testAppID, id)
	if !ok || mt != "image/jpeg" || size != int64(len(content)) || sum != sha256Hex(content) {
		t.Errorf("Media = %q %d %q %v", mt, size, sum, ok)
	}
	if _, _, _, ok := sim.Media(otherAppID, id); ok {
		t.Error("Media found the id under another app")
	}
	info, ok := sim.MediaInfo(testAppID, id)
	if !ok || info.FileName != "photo.jpg" || info.PartContentType != "image/jpeg; x=1" || info.AppID != testAppID {
		t.Errorf("MediaInfo = %+v", info)
	}
	// The upload is recorded without its body.
	reqs := sim.Requests()
	if len(reqs) != 1 || reqs[0].Body != nil || reqs[0].BodySize != int64(len(body)) || reqs[0].Path != "/partner/app/"+testAppID+"/media" {
		t.Errorf("recorded %+v (body %d bytes)", reqs, len(body))
	}

	for i, u := range []string{mediaURL(srv.URL, testAppID, id), mediaURL(srv.URL, testAppID, id) + "/"} {
		res := doRequest(t, nil, "GET", u, auth, "")
		if res.status != 200 || !bytes.Equal(res.body, content) || res.header.Get("Content-Type") != "image/jpeg" ||
			res.header.Get("Content-Length") != fmt.Sprint(len(content)) {
			t.Errorf("download %s: %d %s %s, %d bytes", u, res.status, res.header.Get("Content-Type"), res.header.Get("Content-Length"), len(res.body))
		}
		if n := sim.MediaDownloads(id); n != i+1 {
			t.Errorf("MediaDownloads = %d, want %d", n, i+1)
		}
	}

	// Another app's media and unknown ids are invalid.
	otherToken := sim.AppToken(otherAppID)
	doRequest(t, nil, "GET", mediaURL(srv.URL, otherAppID, id), map[string]string{"Authorization": otherToken}, "").
		check(t, 400, errJSON("Invalid Media Id"))
	doRequest(t, nil, "DELETE", mediaURL(srv.URL, otherAppID, id), map[string]string{"Authorization": otherToken}, "").
		check(t, 400, errJSON("Invalid Media Id"))
	doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, "1234567890123456"), auth, "").check(t, 400, errJSON("Invalid Media Id"))
	// Auth comes first.
	doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), map[string]string{"Authorization": otherToken}, "").
		check(t, 401, errJSON("Authentication Failed"))
	doRequest(t, nil, "GET", mediaURL(srv.URL, "nope", id), auth, "").check(t, 400, errJSON("Invalid App Details"))
	if n := sim.MediaDownloads(id); n != 2 {
		t.Errorf("failed downloads counted: %d", n)
	}

	// Delete.
	doRequest(t, nil, "DELETE", mediaURL(srv.URL, testAppID, id), auth, "").check(t, 200, `{"status":"success"}`)
	if _, _, _, ok := sim.Media(testAppID, id); ok {
		t.Error("deleted media still known")
	}
	doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), auth, "").check(t, 400, errJSON("Invalid Media Id"))
	doRequest(t, nil, "DELETE", mediaURL(srv.URL, testAppID, id)+"/", auth, "").check(t, 400, errJSON("Invalid Media Id"))
	if n := sim.MediaDownloads(id); n != 2 {
		t.Errorf("MediaDownloads after delete = %d, want 2", n)
	}
	if files, _ := os.ReadDir(sim.store.dir); len(files) != 0 {
		t.Errorf("media dir holds %d files after delete", len(files))
	}

	// Reset keeps media.
	id2 := uploadMedia(t, srv.URL, testAppID, testAppToken, "application/pdf", []byte("%PDF-1.4"))
	sim.Reset()
	if _, _, _, ok := sim.Media(testAppID, id2); !ok {
		t.Error("Reset forgot media")
	}
	if id2 == id {
		t.Error("media id reused")
	}
}

func TestMediaRoutesAndMethods(t *testing.T) {
	_, srv, _ := startMediaSim(t, testOptions())
	auth := map[string]string{"Authorization": testAppToken}
	tests := []struct {
		method, path string
		status       int
		msg, allow   string
	}{
		{"GET", "/media", 405, "Method Not Allowed", "POST"},
		{"DELETE", "/media/", 405, "Method Not Allowed", "POST"},
		{"PUT", "/media/123", 405, "Method Not Allowed", "GET, DELETE"},
		{"POST", "/media/123", 405, "Method Not Allowed", "GET, DELETE"},
		{"GET", "/media/1/2", 404, "Not Found", ""},
		{"GET", "/media//", 404, "Not Found", ""},
		{"GET", "/v1/event", 405, "Method Not Allowed", "POST"},
		{"POST", "/v1/event/", 404, "Not Found", ""},
	}
	for _, tc := range tests {
		r := doRequest(t, nil, tc.method, srv.URL+"/partner/app/"+testAppID+tc.path, auth, "")
		r.check(t, tc.status, errJSON(tc.msg))
		if r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, r.header.Get("Allow"), tc.allow)
		}
	}
}

func TestMediaUploadErrors(t *testing.T) {
	opts := testOptions()
	opts.Apps = append(opts.Apps, App{ID: "legacy", Name: "Legacy", Token: "sk_legacy", NotCAPI: true})
	sim, srv, _ := startMediaSim(t, opts)
	jpeg := []byte("\xff\xd8\xff\xe0jpeg")
	good, goodCT := bufferedMultipart(t, fileParts("image/jpeg", "a.jpg", "image/jpeg", jpeg)...)
	mp := func(parts ...part) ([]byte, string) { return bufferedMultipart(t, parts...) }

	type tcase struct {
		name   string
		app    string
		token  string
		ctype  string
		body   []byte
		status int
		msg    string
	}
	var tests []tcase
	add := func(name, app, token string, body []byte, ctype string, status int, msg string) {
		tests = append(tests, tcase{name, app, token, ctype, body, status, msg})
	}
	add("unknown app", "nope", testAppToken, good, goodCT, 400, "Invalid App Details")
	add("no token", testAppID, "", good, goodCT, 401, "Authentication Failed")
	add("bearer token", testAppID, "Bearer "+testAppToken, good, goodCT, 401, "Authentication Failed")
	add("not a CAPI app", "legacy", "sk_legacy", good, goodCT, 400, "Only CAPI apps allowed to generate media ID")
	add("not multipart", testAppID, testAppToken, []byte("file_type=image/jpeg"), "application/x-www-form-urlencoded", 400, "Unsupported Content-Type")
	add("no boundary", testAppID, testAppToken, good, "multipart/form-data", 400, "Unsupported Content-Type")
	b, ct := mp(fileParts("image/gif", "a.gif", "image/gif", jpeg)...)
	add("file type not allowed", testAppID, testAppToken, b, ct, 400, "Invalid file type")
	b, ct = mp(part{name: "file", filename: "a.gif", ctype: "image/gif", body: bytes.NewReader(jpeg)},
		part{name: "file_type", body: strings.NewReader("application/zip")})
	add("file type not allowed after the file", testAppID, testAppToken, b, ct, 400, "Invalid file type")
	b, ct = mp(part{name: "file_type", body: strings.NewReader("image/jpeg")})
	add("no file", testAppID, testAppToken, b, ct, 400, "file is missing/invalid")
	b, ct = mp(part{name: "file", filename: "a.jpg", ctype: "image/jpeg", body: bytes.NewReader(jpeg)})
	add("no file_type", testAppID, testAppToken, b, ct, 400, "file_type is missing/invalid")
	b, ct = mp(part{name: "file_type", body: strings.NewReader("jpeg")}, part{name: "file", filename: "a.jpg", body: bytes.NewReader(jpeg)})
	add("file_type not a media type", testAppID, testAppToken, b, ct, 400, "file_type is missing/invalid")
	b, ct = mp(part{name: "file_type", body: strings.NewReader("image/jpeg")},
		part{name: "file", body: strings.NewReader("https://example.com/a.jpg")})
	add("file as a URL string", testAppID, testAppToken, b, ct, 400, "file is missing/invalid")
	b, ct = mp(append(fileParts("image/jpeg", "a.jpg", "image/jpeg", jpeg),
		part{name: "file", filename: "b.jpg", body: bytes.NewReader(jpeg)})...)
	add("two files", testAppID, testAppToken, b, ct, 400, "file is missing/invalid")
	add("truncated multipart", testAppID, testAppToken, good[:len(good)-20], goodCT, 400, "body is missing/invalid")
	add("garbage", testAppID, testAppToken, []byte("garbage"), goodCT, 400, "body is missing/invalid")

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": tc.ctype}
			if tc.token != "" {
				h["Authorization"] = tc.token
			}
			post(t, "POST", mediaURL(srv.URL, tc.app, ""), h, bytes.NewReader(tc.body), int64(len(tc.body))).
				check(t, tc.status, errJSON(tc.msg))
		})
	}
	sim.mu.Lock()
	n := len(sim.store.items)
	sim.mu.Unlock()
	if n != 0 {
		t.Errorf("%d media stored by failed uploads", n)
	}
	if sim.store.dir != "" {
		if files, _ := os.ReadDir(sim.store.dir); len(files) != 0 {
			t.Errorf("failed uploads left %d files", len(files))
		}
	}

	// Every allowed type is accepted, with parameters and in any case.
	for _, mt := range mediaTypes {
		uploadMedia(t, srv.URL, testAppID, testAppToken, mt, []byte("x"))
	}
	id := uploadMedia(t, srv.URL, testAppID, testAppToken, "Audio/OGG; codecs=opus", []byte("ogg"))
	if mt, _, _, _ := sim.Media(testAppID, id); mt != "audio/ogg" {
		t.Errorf("file_type stored as %q", mt)
	}
}

func TestMediaUploadRoundTrip20MB(t *testing.T) {
	sim, srv, _ := startMediaSim(t, testOptions())
	const size = 20 << 20
	body, ct := multipartBody(fileParts("video/mp4", "clip.mp4", "video/mp4", nil)[0],
		part{name: "file", filename: "clip.mp4", ctype: "video/mp4", body: &genReader{n: size}})
	hw := heapwatch.Start()
	r := post(t, "POST", mediaURL(srv.URL, testAppID, ""), map[string]string{"Authorization": testAppToken, "Content-Type": ct}, body, -1)
	growth := hw.Growth()
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "mediaId").String()
	want := genSHA256(size)
	if mt, n, sum, ok := sim.Media(testAppID, id); !ok || mt != "video/mp4" || n != size || sum != want {
		t.Fatalf("Media = %q %d %s %v", mt, n, sum, ok)
	}
	if growth >= 16<<20 {
		t.Errorf("heap grew by %d MB during a 20 MB upload", growth>>20)
	}
	reqs := sim.Requests()
	if last := reqs[len(reqs)-1]; last.Body != nil || last.BodySize <= size || last.BodySize > size+4096 {
		t.Errorf("recorded upload: body %d bytes, size %d", len(last.Body), last.BodySize)
	}

	res, err := http.DefaultClient.Do(func() *http.Request {
		req, _ := http.NewRequest("GET", mediaURL(srv.URL, testAppID, id), nil)
		req.Header.Set("Authorization", testAppToken)
		return req
	}())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, res.Body)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want || res.ContentLength != size ||
		res.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("download: %d bytes (%v), Content-Length %d, type %s, sha match %v", n, err, res.ContentLength,
			res.Header.Get("Content-Type"), hex.EncodeToString(h.Sum(nil)) == want)
	}
}

func TestMediaUploadTooLarge(t *testing.T) {
	sim, srv, _ := startMediaSim(t, testOptions())
	const size = 120 << 20
	h := func(ct string) map[string]string {
		return map[string]string{"Authorization": testAppToken, "Content-Type": ct}
	}

	// Streamed (chunked): the simulator reads until the limit, then answers.
	body, ct := multipartBody(fileParts("video/mp4", "big.mp4", "video/mp4", nil)[0],
		part{name: "file", filename: "big.mp4", ctype: "video/mp4", body: &genReader{n: size}})
	hw := heapwatch.Start()
	r := post(t, "POST", mediaURL(srv.URL, testAppID, ""), h(ct), body, -1)
	growth := hw.Growth()
	r.check(t, 413, errJSON("File size exceeds the maximum limit!"))
	if growth >= 16<<20 {
		t.Errorf("heap grew by %d MB during a 120 MB upload", growth>>20)
	}
	reqs := sim.Requests()
	if last := reqs[len(reqs)-1]; last.Body != nil || last.BodySize < MaxMediaBytes || last.BodySize >= size {
		t.Errorf("recorded upload: body %d bytes, size %d", len(last.Body), last.BodySize)
	}

	// Exactly the limit is accepted.
	body, ct = multipartBody(fileParts("video/mp4", "max.mp4", "video/mp4", nil)[0],
		part{name: "file", filename: "max.mp4", ctype: "video/mp4", body: &genReader{n: MaxMediaBytes}})
	r = post(t, "POST", mediaURL(srv.URL, testAppID, ""), h(ct), body, -1)
	r.check(t, 200, "")
	if _, n, _, ok := sim.Media(testAppID, gjson.GetBytes(r.body, "mediaId").String()); !ok || n != MaxMediaBytes {
		t.Errorf("upload of exactly MaxMediaBytes: %d %v", n, ok)
	}

	// A declared Content-Length over the limit is refused before reading.
	body, ct = multipartBody(fileParts("video/mp4", "big.mp4", "video/mp4", nil)[0],
		part{name: "file", filename: "big.mp4", ctype: "video/mp4", body: &genReader{n: size}})
	// The framing has the same length for every (fixed-length) boundary.
	empty, _ := multipartBody(fileParts("video/mp4", "big.mp4", "video/mp4", nil)[0],
		part{name: "file", filename: "big.mp4", ctype: "video/mp4", body: &genReader{n: 0}})
	framing, _ := io.ReadAll(empty)
	r = post(t, "POST", mediaURL(srv.URL, testAppID, ""), h(ct), body, int64(len(framing))+size)
	r.check(t, 413, errJSON("File size exceeds the maximum limit!"))
	reqs = sim.Requests()
	if last := reqs[len(reqs)-1]; last.BodySize > 1<<20 {
		t.Errorf("read %d bytes of a body declared too large", last.BodySize)
	}

	sim.mu.Lock()
	n := len(sim.store.items)
	sim.mu.Unlock()
	if files, _ := os.ReadDir(sim.store.dir); len(files) != n || n != 1 {
		t.Errorf("media dir holds %d files for %d media", len(files), n)
	}
}

func TestMediaDownloadsOfInboundImages(t *testing.T) {
	opts := testOptions()
	opts.DisableCallbacks = true
	sim, srv, _ := startMediaSim(t, opts)
	sim.cb.mediaBase = srv.URL
	if _, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Type: "image"}); err != nil {
		t.Fatal(err)
	}
	sim.mu.Lock()
	var id string
	for k := range sim.media {
		id = k
	}
	sim.mu.Unlock()
	u := srv.URL + "/wa/" + testAppID + "/wa/media/" + id + "?download=false"
	for range 3 {
		if r := doRequest(t, nil, "GET", u, nil, ""); r.status != 200 || r.header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("inbound media: %d", r.status)
		}
	}
	doRequest(t, nil, "POST", u, nil, "").check(t, 405, errJSON("Method Not Allowed"))
	doRequest(t, nil, "GET", srv.URL+"/wa/"+testAppID+"/wa/media/42", nil, "").check(t, 404, errJSON("Not Found"))
	if n := sim.MediaDownloads(id); n != 3 {
		t.Errorf("MediaDownloads(%s) = %d, want 3", id, n)
	}
	if n := sim.MediaDownloads("42"); n != 0 {
		t.Errorf("unknown id counted %d", n)
	}
}

func TestMediaRateLimits(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		sim, srv, _ := startMediaSim(t, testOptions())
		id := uploadMedia(t, srv.URL, testAppID, testAppToken, "text/plain", []byte("hi"))
		for range 3 * MediaDownloadRateLimit {
			checkStatus(t, doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), map[string]string{"Authorization": testAppToken}, ""), 200)
		}
		if sim.MediaDownloads(id) != 3*MediaDownloadRateLimit {
			t.Error("downloads not counted")
		}
	})

	t.Run("DisableRateLimits wins", func(t *testing.T) {
		opts := testOptions()
		opts.MediaRateLimits, opts.DisableRateLimits = true, true
		_, srv, _ := startMediaSim(t, opts)
		id := uploadMedia(t, srv.URL, testAppID, testAppToken, "text/plain", []byte("hi"))
		for range 2 * MediaDownloadRateLimit {
			checkStatus(t, doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), map[string]string{"Authorization": testAppToken}, ""), 200)
		}
	})

	t.Run("on", func(t *testing.T) {
		opts := testOptions()
		opts.MediaRateLimits = true
		sim, srv, clock := startMediaSim(t, opts)
		auth := map[string]string{"Authorization": testAppToken}
		id := uploadMedia(t, srv.URL, testAppID, testAppToken, "text/plain", []byte("hi"))
		for i := range MediaDownloadRateLimit {
			if i == 2 {
				// Invalid ids count too.
				doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, "9"), auth, "").check(t, 400, errJSON("Invalid Media Id"))
				continue
			}
			checkStatus(t, doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), auth, ""), 200)
			clock.Advance(time.Minute)
		}
		r := doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), auth, "")
		r.check(t, 429, errJSON("Too Many Requests"))
		if ra := r.header.Get("Retry-After"); ra != fmt.Sprint(int((time.Hour - 4*time.Minute).Seconds())) {
			t.Errorf("Retry-After %q", ra)
		}
		if n := sim.MediaDownloads(id); n != MediaDownloadRateLimit-1 {
			t.Errorf("downloads %d", n)
		}
		// Per app: the other app is not limited.
		otherToken := sim.AppToken(otherAppID)
		oid := uploadMedia(t, srv.URL, otherAppID, otherToken, "text/plain", []byte("o"))
		checkStatus(t, doRequest(t, nil, "GET", mediaURL(srv.URL, otherAppID, oid), map[string]string{"Authorization": otherToken}, ""), 200)
		// The window slides.
		clock.Advance(time.Hour - 4*time.Minute)
		checkStatus(t, doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), auth, ""), 200)

		// Deletes: MediaDeleteRateLimit per hour.
		for range MediaDeleteRateLimit {
			del := uploadMedia(t, srv.URL, testAppID, testAppToken, "text/plain", []byte("d"))
			doRequest(t, nil, "DELETE", mediaURL(srv.URL, testAppID, del), auth, "").check(t, 200, `{"status":"success"}`)
		}
		doRequest(t, nil, "DELETE", mediaURL(srv.URL, testAppID, id), auth, "").check(t, 429, errJSON("Too Many Requests"))
		if _, _, _, ok := sim.Media(testAppID, id); !ok {
			t.Error("rate-limited delete deleted")
		}
		clock.Advance(time.Hour)
		doRequest(t, nil, "DELETE", mediaURL(srv.URL, testAppID, id), auth, "").check(t, 200, `{"status":"success"}`)
		// Uploads are not limited.
		uploadMedia(t, srv.URL, testAppID, testAppToken, "text/plain", []byte("u"))
	})
}

func TestMediaFaults(t *testing.T) {
	sim, srv, _ := startMediaSim(t, testOptions())
	auth := map[string]string{"Authorization": testAppToken}
	body, ct := bufferedMultipart(t, fileParts("image/png", "a.png", "image/png", bytes.Repeat([]byte("p"), 1<<20))...)
	h := map[string]string{"Authorization": testAppToken, "Content-Type": ct}

	// A status fault answers without storing anything.
	sim.Inject(Fault{PathSuffix: "/media", Status: 500, Body: `{"status":"error","message":"Unable to upload requested Media"}`,
		Header: map[string]string{"X-Sim": "fault"}})
	r := post(t, "POST", mediaURL(srv.URL, testAppID, ""), h, bytes.NewReader(body), int64(len(body)))
	r.check(t, 500, errJSON("Unable to upload requested Media"))
	if r.header.Get("X-Sim") != "fault" {
		t.Error("fault header missing")
	}
	sim.mu.Lock()
	stored := len(sim.store.items)
	sim.mu.Unlock()
	if stored != 0 {
		t.Error("faulted upload stored media")
	}

	// A reset fault on an upload.
	sim.Inject(Fault{PathSuffix: "/media", Reset: true})
	req, _ := http.NewRequest("POST", mediaURL(srv.URL, testAppID, ""), bytes.NewReader(body))
	req.Header.Set("Authorization", testAppToken)
	req.Header.Set("Content-Type", ct)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Errorf("reset upload answered %d", res.StatusCode)
	}

	// A delayed upload is then answered normally.
	sim.Inject(Fault{PathSuffix: "/media", Delay: 50 * time.Millisecond})
	start := time.Now()
	r = post(t, "POST", mediaURL(srv.URL, testAppID, ""), h, bytes.NewReader(body), int64(len(body)))
	r.check(t, 200, "")
	if time.Since(start) < 50*time.Millisecond {
		t.Error("delay not applied")
	}
	id := gjson.GetBytes(r.body, "mediaId").String()

	// Faults on downloads, deletes and events.
	sim.Inject(Fault{PathSuffix: "/media/" + id, Times: 2, Status: 429, Body: `{"status":"error","message":"Too Many Requests"}`,
		Header: map[string]string{"Retry-After": "9"}})
	r = doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), auth, "")
	r.check(t, 429, errJSON("Too Many Requests"))
	if r.header.Get("Retry-After") != "9" {
		t.Error("Retry-After missing")
	}
	doRequest(t, nil, "DELETE", mediaURL(srv.URL, testAppID, id), auth, "").check(t, 429, errJSON("Too Many Requests"))
	if sim.MediaDownloads(id) != 0 {
		t.Error("faulted download counted")
	}
	checkStatus(t, doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), auth, ""), 200)
	sim.Inject(Fault{PathSuffix: "/v1/event", Status: 503, Body: `{"status":"error","message":"busy"}`})
	doRequest(t, nil, "POST", eventURL(srv.URL, testAppID), auth, readEvent("wamid.A")).check(t, 503, errJSON("busy"))
	if len(sim.Events()) != 0 {
		t.Error("faulted event accepted")
	}
	if n := sim.Count("/media"); n != 3 {
		t.Errorf("Count(/media) = %d, want 3", n)
	}
}

func TestCloseRemovesMedia(t *testing.T) {
	sim, srv, _ := startMediaSim(t, testOptions())
	id := uploadMedia(t, srv.URL, testAppID, testAppToken, "text/plain", []byte("bye"))
	dir := sim.store.dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	sim.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("media dir still there: %v", err)
	}
	if _, _, _, ok := sim.Media(testAppID, id); ok {
		t.Error("media known after Close")
	}
	doRequest(t, nil, "GET", mediaURL(srv.URL, testAppID, id), map[string]string{"Authorization": testAppToken}, "").
		check(t, 400, errJSON("Invalid Media Id"))
	body, ct := bufferedMultipart(t, fileParts("text/plain", "a.txt", "text/plain", []byte("x"))...)
	post(t, "POST", mediaURL(srv.URL, testAppID, ""), map[string]string{"Authorization": testAppToken, "Content-Type": ct},
		bytes.NewReader(body), int64(len(body))).check(t, 500, errJSON("Unable to upload requested Media"))
	sim.Close() // twice is fine
}

func TestNoMediaDirWithoutUploads(t *testing.T) {
	sim := New(testOptions())
	sim.Close()
	if sim.store.dir != "" {
		t.Error("a media dir was created without uploads")
	}
}

func eventURL(base, appID string) string { return base + "/partner/app/" + appID + "/v1/event" }

func readEvent(id string) string {
	return `{"type":"message-event","message":{"messaging_product":"whatsapp","status":"read","message_id":"` + id + `"}}`
}

func TestEvents(t *testing.T) {
	opts := testOptions()
	sim, srv, _ := startMediaSim(t, opts)
	auth := map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}
	typing := `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.T","typing_indicator":{"type":"text"}}`

	doRequest(t, nil, "POST", eventURL(srv.URL, testAppID), auth, readEvent("wamid.R")).check(t, 200, `{"status":"success"}`)
	doRequest(t, nil, "POST", eventURL(srv.URL, testAppID), auth,
		`{"type":"message-event","message":`+typing+`}`).check(t, 200, `{"status":"success"}`)
	// Gupshup's sample declares a form; the body is JSON all the same.
	doRequest(t, nil, "POST", eventURL(srv.URL, testAppID),
		map[string]string{"Authorization": testAppToken, "Content-Type": "application/x-www-form-urlencoded"},
		`{"type":"message-event","message":{"status":"read","message_id":"wamid.F"}}`).check(t, 200, `{"status":"success"}`)

	tests := []struct {
		name, app, token, body string
		status                 int
		msg                    string
	}{
		{"unknown app", "nope", testAppToken, readEvent("x"), 400, "Invalid App Details"},
		{"wrong token", testAppID, "sk_wrong", readEvent("x"), 401, "Authentication Failed"},
		{"not JSON", testAppID, testAppToken, `{"type":`, 400, "Invalid JSON payload"},
		{"JSON array", testAppID, testAppToken, `[1]`, 400, "Invalid JSON payload"},
		{"empty", testAppID, testAppToken, ``, 400, "Invalid JSON payload"},
		{"null", testAppID, testAppToken, `null`, 400, "Invalid JSON payload"},
		{"other type", testAppID, testAppToken, `{"type":"user-event","message":{"status":"read","message_id":"x"}}`, 400, "Outbound event not supported"},
		{"no type", testAppID, testAppToken, `{"message":{"status":"read","message_id":"x"}}`, 400, "Outbound event not supported"},
		{"delivered", testAppID, testAppToken, `{"type":"message-event","message":{"status":"delivered","message_id":"x"}}`, 400, "Outbound event not supported"},
		{"no status", testAppID, testAppToken, `{"type":"message-event","message":{"message_id":"x"}}`, 400, "Outbound event not supported"},
		{"no message", testAppID, testAppToken, `{"type":"message-event"}`, 400, "Please review the request parameters and retry"},
		{"message not an object", testAppID, testAppToken, `{"type":"message-event","message":"read"}`, 400, "Please review the request parameters and retry"},
		{"no message_id", testAppID, testAppToken, `{"type":"message-event","message":{"status":"read"}}`, 400, "Please review the request parameters and retry"},
		{"empty message_id", testAppID, testAppToken, `{"type":"message-event","message":{"status":"read","message_id":""}}`, 400, "Please review the request parameters and retry"},
		{"numeric message_id", testAppID, testAppToken, `{"type":"message-event","message":{"status":"read","message_id":7}}`, 400, "Please review the request parameters and retry"},
		{"wrong product", testAppID, testAppToken, `{"type":"message-event","message":{"messaging_product":"sms","status":"read","message_id":"x"}}`, 400, "Please review the request parameters and retry"},
		{"bad typing indicator", testAppID, testAppToken, `{"type":"message-event","message":{"status":"read","message_id":"x","typing_indicator":{"type":"audio"}}}`, 400, "Please review the request parameters and retry"},
		{"typing indicator not an object", testAppID, testAppToken, `{"type":"message-event","message":{"status":"read","message_id":"x","typing_indicator":true}}`, 400, "Please review the request parameters and retry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doRequest(t, nil, "POST", eventURL(srv.URL, tc.app), map[string]string{"Authorization": tc.token, "Content-Type": "application/json"}, tc.body).
				check(t, tc.status, errJSON(tc.msg))
		})
	}

	ev := sim.Events()
	want := []string{
		`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.R"}`,
		typing,
		`{"status":"read","message_id":"wamid.F"}`,
	}
	if len(ev) != len(want) {
		t.Fatalf("Events = %q", ev)
	}
	for i := range want {
		if string(ev[i]) != want[i] {
			t.Errorf("event %d = %s, want %s", i, ev[i], want[i])
		}
	}
	ev[0][0] = 'X'
	if sim.Events()[0][0] != '{' {
		t.Error("Events did not return a copy")
	}
	// Events are recorded as requests like any other.
	if n := sim.Count("/v1/event"); n != 3+len(tests) {
		t.Errorf("Count(/v1/event) = %d", n)
	}
	if r := sim.Requests()[0]; string(r.Body) != readEvent("wamid.R") || r.BodySize != int64(len(r.Body)) {
		t.Errorf("recorded %q (%d)", r.Body, r.BodySize)
	}
	sim.Reset()
	if len(sim.Events()) != 0 {
		t.Error("Reset kept events")
	}
}
