package upstream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"waproxy/upstream"
)

// recordingTransport answers 200 "ok" to every request without a network
// and records each request's URL and Authorization header.
type recordingTransport struct {
	mu   sync.Mutex
	seen []string // "<url> auth=<value>"
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, r.URL.String()+" auth="+r.Header.Get("Authorization"))
	rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

func (rt *recordingTransport) requests() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.seen...)
}

// TestFetchURLSendsTheTokenOnlyToAllowedHosts pins which URLs receive the
// app token: the base URL's origin, and over https the media hosts;
// other https URLs are fetched without it, other http URLs not at all.
func TestFetchURLSendsTheTokenOnlyToAllowedHosts(t *testing.T) {
	t.Parallel()
	const tok = "sk_app"
	tests := []struct {
		name     string
		base     string
		hosts    []string
		url      string
		wantAuth string // header the request carried
		refused  bool   // ErrBadURL, nothing sent
	}{
		{"base origin", "https://partner.gupshup.io", nil, "https://partner.gupshup.io/partner/app/a/media/1", tok, false},
		{"base origin, explicit default port", "https://partner.gupshup.io", nil, "https://PARTNER.gupshup.io:443/x", tok, false},
		{"base host over http", "https://partner.gupshup.io", nil, "http://partner.gupshup.io/x", "", true},
		{"loopback simulator base over http", "http://127.0.0.1:9000", nil, "http://127.0.0.1:9000/wa/a/wa/media/1", tok, false},
		{"simulator host on another port", "http://127.0.0.1:9000", nil, "http://127.0.0.1:9001/x", "", true},
		{"simulator host on another port over https", "http://127.0.0.1:9000", nil, "https://127.0.0.1:9001/x", "", false},
		{"documented media host", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"},
			"https://filemanager.gupshup.io/wa/a/wa/media/1?download=false", tok, false},
		{"media host, other case and trailing dot", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"},
			"https://FileManager.Gupshup.io./fm/wamedia/x", tok, false},
		{"media host over http", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"},
			"http://filemanager.gupshup.io/wa/a/wa/media/1", "", true},
		{"not listed without a wildcard", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"},
			"https://cdn.gupshup.io/x", "", false},
		{"wildcard subdomain", "https://partner.gupshup.io", []string{"*.gupshup.io"}, "https://cdn.gupshup.io/x", tok, false},
		{"wildcard deeper subdomain", "https://partner.gupshup.io", []string{"*.gupshup.io"}, "https://a.b.gupshup.io/x", tok, false},
		{"wildcard does not match the bare domain", "https://partner.gupshup.io", []string{"*.gupshup.io"}, "https://gupshup.io/x", "", false},
		{"wildcard does not match a look-alike", "https://partner.gupshup.io", []string{"*.gupshup.io"}, "https://evilgupshup.io/x", "", false},
		{"suffix in another domain", "https://partner.gupshup.io", []string{"*.gupshup.io", "filemanager.gupshup.io"},
			"https://filemanager.gupshup.io.attacker.example/x", "", false},
		{"user info naming the media host", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"},
			"https://filemanager.gupshup.io@attacker.example/x", "", true},
		{"attacker https", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"}, "https://attacker.example/x", "", false},
		{"attacker http", "https://partner.gupshup.io", []string{"filemanager.gupshup.io"}, "http://attacker.example/x", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &recordingTransport{}
			c := newClient(tt.base, func(c *upstream.Config) { c.Transport, c.MediaHosts = rt, tt.hosts })
			resp, err := c.FetchURL(context.Background(), tt.url, tok)
			if tt.refused {
				if !errors.Is(err, upstream.ErrBadURL) || resp != nil || len(rt.requests()) != 0 {
					t.Fatalf("FetchURL = %v, %v after %q; want ErrBadURL and nothing sent", resp, err, rt.requests())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := rt.requests()
			if len(got) != 1 || !strings.HasSuffix(got[0], " auth="+tt.wantAuth) {
				t.Errorf("sent %q, want one request with auth=%q", got, tt.wantAuth)
			}
		})
	}
}

// authServer is an httptest server that records, per request, the path and
// the Authorization header it received.
type authServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "<path> auth=<value>"
}

func startAuthServer(t *testing.T, tls bool, h http.HandlerFunc) *authServer {
	t.Helper()
	s := &authServer{}
	hf := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.URL.Path+" auth="+r.Header.Get("Authorization"))
		s.mu.Unlock()
		h(w, r)
	})
	if tls {
		s.Server = httptest.NewTLSServer(hf)
	} else {
		s.Server = httptest.NewServer(hf)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *authServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// TestMediaDownloadsNeverLeakTheTokenToAnotherHost runs two real servers on
// loopback: "gupshup" (the base URL) and "attacker" (another port, the
// same host name, so Go's own redirect rule would forward the header). The
// attacker never receives an Authorization header; gupshup does.
func TestMediaDownloadsNeverLeakTheTokenToAnotherHost(t *testing.T) {
	t.Parallel()
	const tok = "sk_secret"
	attacker := startAuthServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/back" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "evil")
	})
	attackerTLS := startAuthServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "evil")
	})
	var gsURL string
	gupshup := startAuthServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-attacker", "/partner/app/app/media/to-attacker":
			http.Redirect(w, r, attacker.URL+"/stolen", http.StatusFound)
		case "/to-attacker-tls":
			http.Redirect(w, r, attackerTLS.URL+"/stolen", http.StatusFound)
		case "/bounce":
			http.Redirect(w, r, attacker.URL+"/back?to="+gsURL+"/returned", http.StatusFound)
		case "/hop":
			http.Redirect(w, r, "/media", http.StatusFound)
		default:
			_, _ = io.WriteString(w, "media")
		}
	})
	gsURL = gupshup.URL
	tr := attackerTLS.Client().Transport.(*http.Transport).Clone() // trusts the TLS server
	c := newClient(gupshup.URL, func(c *upstream.Config) { c.Transport = tr })

	read := func(resp *http.Response, err error) (string, error) {
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	fetch := func(u string) (string, error) { return read(c.FetchURL(context.Background(), u, tok)) }

	tests := []struct {
		name     string
		do       func() (string, error)
		wantBody string
		wantErr  error
	}{
		{"gupshup media url", func() (string, error) { return fetch(gupshup.URL + "/media") }, "media", nil},
		{"redirect within gupshup", func() (string, error) { return fetch(gupshup.URL + "/hop") }, "media", nil},
		{"attacker over https", func() (string, error) { return fetch(attackerTLS.URL + "/direct") }, "evil", nil},
		{"attacker over http", func() (string, error) { return fetch(attacker.URL + "/direct") }, "", upstream.ErrBadURL},
		{"gupshup redirects to the attacker's port", func() (string, error) { return fetch(gupshup.URL + "/to-attacker") }, "evil", nil},
		{"gupshup redirects to the attacker over https", func() (string, error) { return fetch(gupshup.URL + "/to-attacker-tls") }, "evil", nil},
		{"a redirect back to gupshup after the attacker", func() (string, error) { return fetch(gupshup.URL + "/bounce") }, "media", nil},
		{"https to http", func() (string, error) { return fetch(attackerTLS.URL + "/down?to=" + gupshup.URL + "/downgraded") }, "", upstream.ErrBadURL},
		{"DownloadMedia redirected to the attacker", func() (string, error) {
			return read(c.DownloadMedia(context.Background(), "app", tok, "to-attacker"))
		}, "evil", nil},
	}
	for _, tt := range tests {
		body, err := tt.do()
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: %q, %v; want %v", tt.name, body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || body != tt.wantBody {
			t.Errorf("%s: %q, %v; want %q", tt.name, body, err, tt.wantBody)
		}
	}

	for _, s := range []*authServer{attacker, attackerTLS} {
		for _, r := range s.requests() {
			if !strings.HasSuffix(r, " auth=") {
				t.Errorf("the attacker received credentials: %s", r)
			}
		}
	}
	if got := attacker.requests(); len(got) != 3 { // two redirects to it and the bounce; never the plain-http fetch
		t.Errorf("attacker saw %q", got)
	}
	want := []string{
		"/media auth=" + tok,
		"/hop auth=" + tok,
		"/media auth=" + tok, // same host keeps the header
		"/to-attacker auth=" + tok,
		"/to-attacker-tls auth=" + tok,
		"/bounce auth=" + tok,
		"/returned auth=", // the chain left gupshup: no header even back home
		"/partner/app/app/media/to-attacker auth=" + tok,
	}
	if got := gupshup.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("gupshup saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseMediaHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entry    string
		name     string
		wildcard bool
		ok       bool
	}{
		{"filemanager.gupshup.io", "filemanager.gupshup.io", false, true},
		{" FileManager.Gupshup.IO. ", "filemanager.gupshup.io", false, true},
		{"*.gupshup.io", "gupshup.io", true, true},
		{"localhost", "localhost", false, true},
		{"10.0.0.7", "10.0.0.7", false, true},
		{"", "", false, false},
		{"*", "", false, false},
		{"*.io", "", false, false},
		{"*gupshup.io", "", false, false},
		{"a.*.gupshup.io", "", false, false},
		{"https://filemanager.gupshup.io", "", false, false},
		{"filemanager.gupshup.io/wa", "", false, false},
		{"filemanager.gupshup.io:443", "", false, false},
		{"user@filemanager.gupshup.io", "", false, false},
		{".gupshup.io", "", false, false},
		{"a..b", "", false, false},
	}
	for _, tt := range tests {
		name, wildcard, err := upstream.ParseMediaHost(tt.entry)
		if (err == nil) != tt.ok || name != tt.name || wildcard != tt.wildcard {
			t.Errorf("ParseMediaHost(%q) = %q, %v, %v", tt.entry, name, wildcard, err)
		}
	}
}
