package server

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/store"
	"waproxy/upstream"
)

// openIndex opens a store in the test's directory holding media and flows.
func openIndex(t *testing.T, media []store.Media, flows []store.Flow) *store.Bolt {
	t.Helper()
	q, err := store.Open(filepath.Join(t.TempDir(), "index.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	for _, m := range media {
		if err := q.PutMedia(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range flows {
		if err := q.PutFlow(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

// failure is how the fake Gupshup fails the call under test.
type failure string

const (
	hangs   failure = "hang" // no answer until the client's deadline
	http500 failure = "500"
	http502 failure = "502"
	refused failure = "refused" // nothing listens
	http401 failure = "401"
	http403 failure = "403"
)

// serve answers like Gupshup failing with f.
func (f failure) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch f {
	case hangs:
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	case http500:
		w.WriteHeader(500)
		_, _ = io.WriteString(w, `{"status":"error","message":"Internal Server Error"}`)
	case http502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = io.WriteString(w, `<html><body>502 Bad Gateway</body></html>`)
	case http401:
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"status":"error","message":"Authentication Failed"}`)
	case http403:
		w.WriteHeader(403)
		_, _ = io.WriteString(w, `{"status":"error","message":"Forbidden"}`)
	}
}

// fakeGupshup answers the partner API; the calls whose path contains
// target fail with f, the others succeed.
func fakeGupshup(target string, f failure) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, target) {
			f.serve(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/partner/account/login":
			_, _ = io.WriteString(w, `{"token":"pt"}`)
		case strings.HasSuffix(r.URL.Path, "/token"):
			_, _ = io.WriteString(w, `{"status":"success","token":{"token":"sk_fetched"}}`)
		case strings.Contains(r.URL.Path, "/media/"):
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = io.WriteString(w, "JPEG")
		case strings.HasSuffix(r.URL.Path, "/v3/message"):
			_, _ = io.WriteString(w, `{"messages":[{"id":"gs-1"}]}`)
		default:
			_, _ = io.WriteString(w, `{"status":"success"}`)
		}
	}
}

// failingServer is a proxy in front of a fake Gupshup whose calls matching
// target fail with f. Phone 100 (app "app-p") gets its token with partner
// credentials, phone 200 (app "app-s") has a static one; media "m-p"/"m-s"
// and flows "f-p"/"f-s" belong to those apps.
func failingServer(t *testing.T, target string, f failure) *Server {
	t.Helper()
	var base string
	if f == refused {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base = "http://" + l.Addr().String()
		l.Close()
	} else {
		gs := httptest.NewServer(fakeGupshup(target, f))
		t.Cleanup(gs.Close)
		base = gs.URL
	}
	up := upstream.New(upstream.Config{BaseURL: base, Timeout: time.Second, DialTimeout: time.Second})
	dir, err := auth.NewDirectory([]config.Tenant{{Name: "t", Tokens: []string{"tok"}, PhoneNumbers: []config.PhoneNumber{
		{ID: "100", AppID: "app-p", WABAID: "900"},
		{ID: "200", AppID: "app-s", AppToken: "sk_static", WABAID: "901"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	idx := openIndex(t,
		[]store.Media{
			{ID: "m-p", Tenant: "t", AppID: "app-p", Size: -1},
			{ID: "m-s", Tenant: "t", AppID: "app-s", Size: -1},
		},
		[]store.Flow{
			{ID: "f-p", Tenant: "t", AppID: "app-p"},
			{ID: "f-s", Tenant: "t", AppID: "app-s"},
		})
	signer, err := auth.NewURLSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{
		Directory: dir,
		Tokens:    auth.NewTokens(up, auth.TokensConfig{Email: "p@example.com", Secret: "s"}),
		Upstream:  up,
		Media:     &MediaOptions{API: up, Index: idx, Signer: signer, PublicURL: "http://proxy.test"},
		Flows:     &FlowOptions{API: up, Index: idx, Signer: signer, PublicURL: "http://proxy.test"},
	})
}

// The proxy's answers, as the tests expect them.
type metaAnswer struct {
	status    int
	code      int64
	message   string
	transient bool
	details   string
}

var (
	tokenTransient = metaAnswer{503, 2, "(#2) Service temporarily unavailable", true,
		"The messaging gateway could not obtain its Gupshup app token: Gupshup's token service failed, did not answer in time or could not be reached. Nothing was sent. Retry later."}
	tokenRejected = metaAnswer{500, 1, "(#1) An unknown error occurred", false,
		"Gateway configuration problem: no Gupshup app token could be obtained for this phone number."}
	unreachable = metaAnswer{503, 2, "(#2) Service temporarily unavailable", true,
		"The messaging gateway could not reach its upstream; nothing was sent. Retry later. (connection failed)"}
	appTokenRejected = metaAnswer{500, 1, "(#1) An unknown error occurred", false,
		"Gateway configuration problem: Gupshup rejected the gateway's app token."}
	gupshup500 = metaAnswer{500, 131000, "(#131000) Something went wrong", false, "Gupshup: Internal Server Error"}
	gupshup502 = metaAnswer{500, 131000, "(#131000) Something went wrong", false, "Gupshup: no message"}
	gupshup403 = metaAnswer{500, 131000, "(#131000) Something went wrong", false, "Gupshup: Forbidden"}
)

// call is one client request through the proxy.
type call struct{ method, path, body string }

var (
	sendText = func(phone string) call {
		return call{"POST", "/v23.0/" + phone + "/messages",
			`{"messaging_product":"whatsapp","to":"15550001111","type":"text","text":{"body":"hi"}}`}
	}
	mediaDownload = func(id string) call { return call{"GET", "/waproxy/media/" + id, ""} }
	flowGet       = func(id string) call { return call{"GET", "/v23.0/" + id, ""} }
	flowPublish   = func(id string) call { return call{"POST", "/v23.0/" + id + "/publish", ""} }
)

func (r call) do(t *testing.T, s *Server) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	req.Header.Set("Authorization", "Bearer tok")
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

func (want metaAnswer) check(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	e := gjson.Get(w.Body.String(), "error")
	transient := e.Get("is_transient")
	if w.Code != want.status || e.Get("code").Int() != want.code || e.Get("message").Str != want.message ||
		transient.Bool() != want.transient || (transient.Exists() && !want.transient) ||
		e.Get("error_data.details").Str != want.details {
		t.Errorf("HTTP %d %s\nwant HTTP %d code %d %q is_transient %v %q",
			w.Code, w.Body, want.status, want.code, want.message, want.transient, want.details)
	}
}

// TestTokenFetchFailures: a partner-login number whose token cannot be
// fetched answers Meta's transient 503/2 when Gupshup's token service may
// come back (no answer in time, 5xx, nothing listening), and the
// configuration error only when Gupshup refused the credentials (401, 403).
// The same holds for sends, media downloads and flow calls.
func TestTokenFetchFailures(t *testing.T) {
	t.Parallel()
	modes := []struct {
		f    failure
		want metaAnswer
	}{
		{hangs, tokenTransient},
		{http500, tokenTransient},
		{http502, tokenTransient},
		{refused, tokenTransient},
		{http401, tokenRejected},
		{http403, tokenRejected},
	}
	calls := []struct {
		name string
		req  call
	}{
		{"send", sendText("100")},
		{"media download", mediaDownload("m-p")},
		{"flow get", flowGet("f-p")},
	}
	for _, m := range modes {
		for _, c := range calls {
			t.Run("login "+string(m.f)+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				s := failingServer(t, "/partner/account/login", m.f)
				m.want.check(t, c.req.do(t, s))
			})
		}
	}
	// The app-token call itself failing is classified the same way.
	for _, m := range []struct {
		f    failure
		want metaAnswer
	}{{hangs, tokenTransient}, {http502, tokenTransient}, {http403, tokenRejected}} {
		t.Run("app token "+string(m.f), func(t *testing.T) {
			t.Parallel()
			m.want.check(t, sendText("100").do(t, failingServer(t, "/token", m.f)))
		})
	}
}

// TestMediaDownloadFailures pins the answer to each way Gupshup's media
// download can fail (static app token, so no token fetch is involved).
func TestMediaDownloadFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    failure
		want metaAnswer
	}{
		{hangs, metaAnswer{503, 2, "(#2) Service temporarily unavailable", true,
			"The upstream did not answer in time. The media was not fetched; retry later."}},
		{http500, gupshup500},
		{http502, gupshup502},
		{refused, unreachable},
		{http401, appTokenRejected},
		{http403, gupshup403},
	}
	for _, tt := range tests {
		t.Run(string(tt.f), func(t *testing.T) {
			t.Parallel()
			tt.want.check(t, mediaDownload("m-s").do(t, failingServer(t, "/media/", tt.f)))
		})
	}
}

// TestFlowCallFailures pins the answer to each way a Gupshup flow call can
// fail: a lookup that timed out is transient; a change that timed out may
// have been made, and the details say so (not "the message may have been
// sent").
func TestFlowCallFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f                failure
		get, publish     metaAnswer
		publishSameAsGet bool
	}{
		{f: hangs,
			get: metaAnswer{503, 2, "(#2) Service temporarily unavailable", true,
				"The upstream did not answer in time. This call changes nothing; retry later."},
			publish: metaAnswer{503, 131000, "(#131000) Something went wrong", false,
				"The upstream did not answer in time; the change to the flow may have been made. Get the flow to check before repeating it."}},
		{f: http500, get: gupshup500, publishSameAsGet: true},
		{f: http502, get: gupshup502, publishSameAsGet: true},
		{f: refused, get: unreachable, publishSameAsGet: true},
		{f: http401, get: appTokenRejected, publishSameAsGet: true},
		{f: http403, get: gupshup403, publishSameAsGet: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.f), func(t *testing.T) {
			t.Parallel()
			s := failingServer(t, "/flows/", tt.f)
			tt.get.check(t, flowGet("f-s").do(t, s))
			publish := tt.publish
			if tt.publishSameAsGet {
				publish = tt.get
			}
			publish.check(t, flowPublish("f-s").do(t, s))
		})
	}
}

// TestSendTimeoutStillSaysTheMessageMayHaveBeenSent: the send wording
// stays where it is right.
func TestSendTimeoutStillSaysTheMessageMayHaveBeenSent(t *testing.T) {
	t.Parallel()
	want := metaAnswer{503, 131000, "(#131000) Something went wrong", false,
		"The upstream did not answer in time (no answer); the message may have been sent. Check status webhooks before resending."}
	want.check(t, sendText("200").do(t, failingServer(t, "/v3/message", hangs)))
}
