package gupshupsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAppID    = "4f1c3a2e-0b7d-4e55-9a61-2d8f0c9b7e10"
	testAppToken = "sk_test_app_token"
	otherAppID   = "other-app"
	testEmail    = "partner@test.example"
	testSecret   = "s3cret"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testOptions() Options {
	return Options{
		Apps: []App{
			{ID: testAppID, Name: "TestApp", Token: testAppToken},
			{ID: otherAppID, Name: "Other"},
		},
		PartnerEmail:  testEmail,
		PartnerSecret: testSecret,
	}
}

func startSim(t *testing.T, opts Options) (*Sim, *httptest.Server) {
	t.Helper()
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

func startSimWithClock(t *testing.T, opts Options) (*Sim, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	sim := New(opts)
	sim.now = clock.Now
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv, clock
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func doRequest(t *testing.T, client *http.Client, method, u string, header map[string]string, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
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

func (r response) check(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if body != "" && string(r.body) != body {
		t.Errorf("body = %s, want %s", r.body, body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func errJSON(msg string) string {
	return fmt.Sprintf(`{"status":"error","message":%q}`, msg)
}

func formBody(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

func login(t *testing.T, base string) string {
	t.Helper()
	r := doRequest(t, nil, "POST", base+"/partner/account/login", formHeader,
		formBody("email", testEmail, "password", testSecret))
	r.check(t, 200, "")
	var lr struct{ Token string }
	if err := json.Unmarshal(r.body, &lr); err != nil || lr.Token == "" {
		t.Fatalf("login response %s: %v", r.body, err)
	}
	return lr.Token
}

func sendURL(base, appID string) string {
	return base + "/partner/app/" + appID + "/v3/message"
}

func TestHealthzAndUnknownRoutes(t *testing.T) {
	_, srv := startSim(t, testOptions())
	tests := []struct {
		method, path string
		status       int
		body         string
		allow        string
	}{
		{"GET", "/healthz", 200, `{"status":"ok"}`, ""},
		{"POST", "/healthz", 405, errJSON("Method Not Allowed"), "GET"},
		{"GET", "/", 404, errJSON("Not Found"), ""},
		{"GET", "/partner/account/logout", 404, errJSON("Not Found"), ""},
		{"GET", "/partner/app/", 404, errJSON("Not Found"), ""},
		{"GET", "/partner/app/" + testAppID, 404, errJSON("Not Found"), ""},
		{"GET", "/partner/app/" + testAppID + "/template/analytics", 404, errJSON("Not Found"), ""},
		{"POST", "/partner/app/" + testAppID + "/v1/message", 404, errJSON("Not Found"), ""},
		{"GET", "/partner/account/login", 405, errJSON("Method Not Allowed"), "POST"},
		{"POST", "/partner/app/" + testAppID + "/token", 405, errJSON("Method Not Allowed"), "GET"},
		{"DELETE", "/partner/app/" + testAppID + "/token/", 405, errJSON("Method Not Allowed"), "GET"},
		{"GET", "/partner/app/" + testAppID + "/v3/message", 405, errJSON("Method Not Allowed"), "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := doRequest(t, nil, tc.method, srv.URL+tc.path, nil, "")
			r.check(t, tc.status, tc.body)
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	_, srv := startSim(t, testOptions())
	invalid := errJSON("Invalid Credentials")
	tests := []struct {
		name   string
		header map[string]string
		body   string
		status int
	}{
		{"password field", formHeader, formBody("email", testEmail, "password", testSecret), 200},
		{"secret field", formHeader, formBody("email", testEmail, "secret", testSecret), 200},
		{"content type with charset", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
			formBody("email", testEmail, "password", testSecret), 200},
		{"wrong password", formHeader, formBody("email", testEmail, "password", "nope"), 401},
		{"wrong secret", formHeader, formBody("email", testEmail, "secret", "nope"), 401},
		{"wrong email", formHeader, formBody("email", "x@example.com", "password", testSecret), 401},
		{"missing secret", formHeader, formBody("email", testEmail), 401},
		{"missing email", formHeader, formBody("password", testSecret), 401},
		{"empty body", formHeader, "", 401},
		{"json body", map[string]string{"Content-Type": "application/json"},
			`{"email":"` + testEmail + `","password":"` + testSecret + `"}`, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doRequest(t, nil, "POST", srv.URL+"/partner/account/login", tc.header, tc.body)
			if tc.status != 200 {
				r.check(t, tc.status, invalid)
				return
			}
			r.check(t, 200, "")
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			tok, _ := got["token"].(string)
			if !strings.HasPrefix(tok, "ptk_") || len(tok) < 20 {
				t.Errorf("token = %q", tok)
			}
			want := fmt.Sprintf(`{"token":%q,"id":1003,"name":"Sim Partner","email":%q,"admin":true,`+
				`"billingType":"POSTPAID","enableWallet":true,"enableAppOnboarding":true,"isTpp":false}`, tok, testEmail)
			if string(r.body) != want {
				t.Errorf("body = %s, want %s", r.body, want)
			}
		})
	}
}

func TestLoginIssuesFreshTokensAllValid(t *testing.T) {
	_, srv := startSim(t, testOptions())
	tokens := map[string]bool{}
	for range 3 {
		tokens[login(t, srv.URL)] = true
	}
	if len(tokens) != 3 {
		t.Fatalf("got %d distinct tokens from 3 logins", len(tokens))
	}
	for tok := range tokens {
		r := doRequest(t, nil, "GET", srv.URL+"/partner/app/"+testAppID+"/token",
			map[string]string{"Authorization": tok}, "")
		r.check(t, 200, "")
	}
}

func TestDefaultCredentials(t *testing.T) {
	_, srv := startSim(t, Options{Apps: []App{{ID: "a"}}})
	r := doRequest(t, nil, "POST", srv.URL+"/partner/account/login", formHeader,
		formBody("email", DefaultPartnerEmail, "password", DefaultPartnerSecret))
	r.check(t, 200, "")
	r = doRequest(t, nil, "POST", srv.URL+"/partner/account/login", formHeader,
		formBody("email", "", "password", ""))
	r.check(t, 401, errJSON("Invalid Credentials"))
}

func TestLoginRateLimit(t *testing.T) {
	_, srv, clock := startSimWithClock(t, testOptions())
	good := formBody("email", testEmail, "password", testSecret)
	bad := formBody("email", testEmail, "password", "wrong")
	post := func(body string) response {
		return doRequest(t, nil, "POST", srv.URL+"/partner/account/login", formHeader, body)
	}
	// Failed logins count towards the limit.
	for i := range LoginRateLimit {
		body := good
		if i%2 == 1 {
			body = bad
		}
		post(body)
		clock.Advance(time.Second)
	}
	r := post(good)
	r.check(t, 429, errJSON("Too Many Requests"))
	// First login was at t0, now is t0+10s: 50 s until it leaves the window.
	if got := r.header.Get("Retry-After"); got != "50" {
		t.Errorf("Retry-After = %q, want 50", got)
	}
	clock.Advance(49 * time.Second) // t0+59s: the first call is still in the window
	post(good).check(t, 429, errJSON("Too Many Requests"))
	clock.Advance(time.Second) // t0+60s: the first call has left the window
	post(good).check(t, 200, "")
	post(good).check(t, 429, errJSON("Too Many Requests"))
}

func TestDisableRateLimits(t *testing.T) {
	opts := testOptions()
	opts.DisableRateLimits = true
	_, srv := startSim(t, opts)
	var tok string
	for range 3 * LoginRateLimit {
		tok = login(t, srv.URL)
	}
	for range 3 * AppTokenRateLimit {
		doRequest(t, nil, "GET", srv.URL+"/partner/app/"+testAppID+"/token",
			map[string]string{"Authorization": tok}, "").check(t, 200, "")
	}
}

func TestAppToken(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	ptok := login(t, srv.URL)
	authFailed := errJSON("Authentication Failed")
	tests := []struct {
		name   string
		path   string
		header map[string]string
		status int
		body   string
	}{
		{"authorization header", "/partner/app/" + testAppID + "/token", map[string]string{"Authorization": ptok}, 200, ""},
		{"token header", "/partner/app/" + testAppID + "/token", map[string]string{"token": ptok}, 200, ""},
		{"trailing slash", "/partner/app/" + testAppID + "/token/", map[string]string{"Authorization": ptok}, 200, ""},
		{"both headers", "/partner/app/" + testAppID + "/token", map[string]string{"Authorization": ptok, "token": ptok}, 200, ""},
		{"missing token", "/partner/app/" + testAppID + "/token", nil, 401, authFailed},
		{"unknown token", "/partner/app/" + testAppID + "/token", map[string]string{"Authorization": "ptk_unknown"}, 401, authFailed},
		{"bearer prefix", "/partner/app/" + testAppID + "/token", map[string]string{"Authorization": "Bearer " + ptok}, 401, authFailed},
		{"app token is not a partner token", "/partner/app/" + testAppID + "/token", map[string]string{"Authorization": testAppToken}, 401, authFailed},
		{"unknown app", "/partner/app/nope/token", map[string]string{"Authorization": ptok}, 400, errJSON("Invalid App Details")},
		{"unknown app without auth", "/partner/app/nope/token", nil, 401, authFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doRequest(t, nil, "GET", srv.URL+tc.path, tc.header, "")
			r.check(t, tc.status, tc.body)
			if tc.status != 200 {
				return
			}
			var got struct {
				Status string
				Token  struct {
					Token        string
					AuthoriserID string `json:"authoriserId"`
					RequestorID  string `json:"requestorId"`
					CreatedOn    int64
					ModifiedOn   int64
					ExpiresOn    *int64
					Active       bool
				}
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Status != "success" || got.Token.Token != testAppToken || !got.Token.Active ||
				got.Token.AuthoriserID == "" || got.Token.RequestorID == "" ||
				got.Token.CreatedOn <= 0 || got.Token.ModifiedOn < got.Token.CreatedOn ||
				got.Token.ExpiresOn == nil || *got.Token.ExpiresOn != 0 {
				t.Errorf("unexpected response %s", r.body)
			}
			want := fmt.Sprintf(`{"status":"success","token":{"token":%q,"authoriserId":%q,"requestorId":%q,`+
				`"createdOn":%d,"modifiedOn":%d,"expiresOn":0,"active":true}}`,
				testAppToken, got.Token.AuthoriserID, got.Token.RequestorID, got.Token.CreatedOn, got.Token.ModifiedOn)
			if string(r.body) != want {
				t.Errorf("body = %s, want %s", r.body, want)
			}
		})
	}

	// An app configured without a token gets a generated one.
	gen := sim.AppToken(otherAppID)
	if !strings.HasPrefix(gen, "sk_") || len(gen) < 10 {
		t.Errorf("generated token %q", gen)
	}
	r := doRequest(t, nil, "GET", srv.URL+"/partner/app/"+otherAppID+"/token", map[string]string{"Authorization": ptok}, "")
	r.check(t, 200, "")
	if !bytes.Contains(r.body, []byte(`"token":"`+gen+`"`)) {
		t.Errorf("body %s does not carry generated token %s", r.body, gen)
	}
	if sim.AppToken("nope") != "" || sim.RotateAppToken("nope") != "" {
		t.Error("unknown app should have no token")
	}
}

func TestAppTokenRateLimitPerApp(t *testing.T) {
	opts := testOptions()
	opts.DisableRateLimits = false
	sim, srv, clock := startSimWithClock(t, opts)
	_ = sim
	ptok := login(t, srv.URL)
	get := func(app string) response {
		return doRequest(t, nil, "GET", srv.URL+"/partner/app/"+app+"/token", map[string]string{"Authorization": ptok}, "")
	}
	for range AppTokenRateLimit {
		get(testAppID).check(t, 200, "")
	}
	r := get(testAppID)
	r.check(t, 429, errJSON("Too Many Requests"))
	if r.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After = %q, want 60", r.header.Get("Retry-After"))
	}
	get(otherAppID).check(t, 200, "")
	clock.Advance(RateLimitWindow)
	get(testAppID).check(t, 200, "")
}

func TestRotateAppToken(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	ptok := login(t, srv.URL)
	body := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	jsonHeader := func(tok string) map[string]string {
		return map[string]string{"Authorization": tok, "Content-Type": "application/json"}
	}

	if sim.AppToken(testAppID) != testAppToken {
		t.Fatalf("AppToken = %q", sim.AppToken(testAppID))
	}
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), jsonHeader(testAppToken), body).check(t, 200, "")

	newTok := sim.RotateAppToken(testAppID)
	if newTok == testAppToken || !strings.HasPrefix(newTok, "sk_") {
		t.Fatalf("rotated token %q", newTok)
	}
	if sim.AppToken(testAppID) != newTok {
		t.Errorf("AppToken after rotation = %q, want %q", sim.AppToken(testAppID), newTok)
	}
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), jsonHeader(testAppToken), body).
		check(t, 401, errJSON("Authentication Failed"))
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), jsonHeader(newTok), body).check(t, 200, "")

	r := doRequest(t, nil, "GET", srv.URL+"/partner/app/"+testAppID+"/token", map[string]string{"Authorization": ptok}, "")
	r.check(t, 200, "")
	var got struct{ Token struct{ Token string } }
	json.Unmarshal(r.body, &got)
	if got.Token.Token != newTok {
		t.Errorf("GET token = %q, want %q", got.Token.Token, newTok)
	}

	// Rotating one app leaves the other alone.
	other := sim.AppToken(otherAppID)
	sim.RotateAppToken(testAppID)
	if sim.AppToken(otherAppID) != other {
		t.Error("rotation changed another app's token")
	}
}

func TestSendMessageSuccess(t *testing.T) {
	_, srv := startSim(t, testOptions())
	tmpl := `{"language":{"policy":"deterministic","code":"en"},"name":"temp_lto","components":[{"type":"body","parameters":[{"type":"text","text":"User"}]}]}`
	tests := []struct {
		name   string
		ctype  string
		body   string
		input  string
		wantID string
	}{
		{"seed form template", "application/x-www-form-urlencoded",
			formBody("messaging_product", "whatsapp", "recipient_type", "individual", "to", "919970123444",
				"type", "template", "template", tmpl),
			"919970123444", "919970123444"},
		{"form text", "application/x-www-form-urlencoded; charset=UTF-8",
			formBody("messaging_product", "whatsapp", "to", "+1 (555) 123-4567", "type", "text", "text", `{"body":"hello"}`),
			"+1 (555) 123-4567", "15551234567"},
		{"form document", "application/x-www-form-urlencoded",
			formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "document",
				"document", ` { "link": "https://example.com/a.pdf"}`),
			"15551234567", "15551234567"},
		{"json text", "application/json",
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"15551234567","type":"text","text":{"preview_url":false,"body":"hi"}}`,
			"15551234567", "15551234567"},
		{"json template", "application/json; charset=utf-8",
			`{"messaging_product":"whatsapp","to":"919970123444","type":"template","template":` + tmpl + `}`,
			"919970123444", "919970123444"},
		{"json without content type", "",
			`{"messaging_product":"whatsapp","to":"15551234567","type":"reaction","reaction":{"message_id":"x","emoji":"👍"}}`,
			"15551234567", "15551234567"},
		{"form without content type", "",
			formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "text", "text", `{"body":"hi"}`),
			"15551234567", "15551234567"},
		{"recipient instead of to", "application/json",
			`{"messaging_product":"whatsapp","recipient":"US.13491208655302741918","type":"text","text":{"body":"hi"}}`,
			"US.13491208655302741918", "13491208655302741918"},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Authorization": testAppToken}
			if tc.ctype != "" {
				h["Content-Type"] = tc.ctype
			}
			r := doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), h, tc.body)
			r.check(t, 200, "")
			var got struct {
				Messages []struct{ ID string }
			}
			if err := json.Unmarshal(r.body, &got); err != nil || len(got.Messages) != 1 {
				t.Fatalf("response %s: %v", r.body, err)
			}
			id := got.Messages[0].ID
			if !uuidV4.MatchString(id) {
				t.Errorf("message id %q is not a uuid v4", id)
			}
			if seen[id] {
				t.Errorf("message id %q repeated", id)
			}
			seen[id] = true
			input, _ := json.Marshal(tc.input)
			want := fmt.Sprintf(`{"messages":[{"id":%q}],"messaging_product":"whatsapp","contacts":[{"input":%s,"wa_id":%q}]}`,
				id, input, tc.wantID)
			if string(r.body) != want {
				t.Errorf("body = %s, want %s", r.body, want)
			}
		})
	}
}

func TestSendMessageErrors(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	const jsonCT = "application/json"
	const formCT = "application/x-www-form-urlencoded"
	okJSON := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	withTo := func(to string) string {
		return `{"messaging_product":"whatsapp","to":"` + to + `","type":"text","text":{"body":"hi"}}`
	}
	tests := []struct {
		name       string
		app        string
		auth       string
		ctype      string
		body       string
		status     int
		want       string
		retryAfter string
	}{
		{"unknown app", "nope", testAppToken, jsonCT, okJSON, 400, errJSON("Invalid App Details"), ""},
		{"unknown app without auth", "nope", "", jsonCT, okJSON, 400, errJSON("Invalid App Details"), ""},
		{"missing token", testAppID, "", jsonCT, okJSON, 401, errJSON("Authentication Failed"), ""},
		{"wrong token", testAppID, "sk_wrong", jsonCT, okJSON, 401, errJSON("Authentication Failed"), ""},
		{"bearer prefix", testAppID, "Bearer " + testAppToken, jsonCT, okJSON, 401, errJSON("Authentication Failed"), ""},
		{"other app's token", otherAppID, testAppToken, jsonCT, okJSON, 401, errJSON("Authentication Failed"), ""},
		{"auth before validation", testAppID, "sk_wrong", jsonCT, `{}`, 401, errJSON("Authentication Failed"), ""},
		{"invalid json", testAppID, testAppToken, jsonCT, `{"messaging_product":`, 400, errJSON("body is missing/invalid"), ""},
		{"json array", testAppID, testAppToken, jsonCT, `[1,2]`, 400, errJSON("body is missing/invalid"), ""},
		{"empty json body", testAppID, testAppToken, jsonCT, ``, 400, errJSON("body is missing/invalid"), ""},
		{"unsupported content type", testAppID, testAppToken, "text/plain", okJSON, 400, errJSON("Unsupported Content-Type"), ""},
		{"missing messaging_product", testAppID, testAppToken, jsonCT,
			`{"to":"15551234567","type":"text","text":{"body":"hi"}}`, 400, errJSON("messaging_product is missing/invalid"), ""},
		{"wrong messaging_product", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"sms","to":"15551234567","type":"text","text":{"body":"hi"}}`, 400, errJSON("messaging_product is missing/invalid"), ""},
		{"missing to", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}`, 400, errJSON("to is missing/invalid"), ""},
		{"empty to", testAppID, testAppToken, jsonCT, withTo(""), 400, errJSON("to is missing/invalid"), ""},
		{"numeric to", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","to":15551234567,"type":"text","text":{"body":"hi"}}`, 400, errJSON("to is missing/invalid"), ""},
		{"missing type", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","to":"15551234567","text":{"body":"hi"}}`, 400, errJSON("type is missing/invalid"), ""},
		{"missing type object", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","to":"15551234567","type":"image","text":{"body":"hi"}}`, 400, errJSON("image is missing/invalid"), ""},
		{"type object not an object", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":"hi"}`, 400, errJSON("text is missing/invalid"), ""},
		{"form missing messaging_product", testAppID, testAppToken, formCT,
			formBody("to", "15551234567", "type", "text", "text", `{"body":"hi"}`), 400, errJSON("messaging_product is missing/invalid"), ""},
		{"form missing to", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "type", "text", "text", `{"body":"hi"}`), 400, errJSON("to is missing/invalid"), ""},
		{"form missing type", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "to", "15551234567", "text", `{"body":"hi"}`), 400, errJSON("type is missing/invalid"), ""},
		{"form type object not json", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "text", "text", `{"body":`), 400, errJSON("text is missing/invalid"), ""},
		{"form type object plain string", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "text", "text", `hello`), 400, errJSON("text is missing/invalid"), ""},
		{"form type object is array", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "text", "text", `[{"body":"x"}]`), 400, errJSON("text is missing/invalid"), ""},
		{"contacts as an empty array", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","to":"15551234567","type":"contacts","contacts":[]}`, 400, errJSON("contacts is missing/invalid"), ""},
		{"form missing type object", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "template"), 400, errJSON("template is missing/invalid"), ""},
		{"not on whatsapp", testAppID, testAppToken, jsonCT, withTo("91" + SuffixNotOnWhatsApp), 400,
			`{"status":"error","message":"Number does not exist on WhatsApp","code":1002}`, ""},
		{"wallet low", testAppID, testAppToken, jsonCT, withTo("91" + SuffixWalletLow), 400,
			`{"status":"error","message":"Wallet Balance Low","code":1003}`, ""},
		{"invalid destination", testAppID, testAppToken, jsonCT, withTo("91" + SuffixInvalidDestination), 400,
			errJSON("Invalid Destination"), ""},
		{"rate limited destination", testAppID, testAppToken, jsonCT, withTo("91" + SuffixRateLimited), 429,
			errJSON("Too Many Requests"), "1"},
		{"magic destination via form", testAppID, testAppToken, formCT,
			formBody("messaging_product", "whatsapp", "to", "1"+SuffixWalletLow, "type", "text", "text", `{"body":"hi"}`), 400,
			`{"status":"error","message":"Wallet Balance Low","code":1003}`, ""},
		{"magic destination via recipient", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","recipient":"1` + SuffixNotOnWhatsApp + `","type":"text","text":{"body":"hi"}}`, 400,
			`{"status":"error","message":"Number does not exist on WhatsApp","code":1002}`, ""},
		{"validation before magic destination", testAppID, testAppToken, jsonCT,
			`{"messaging_product":"whatsapp","to":"1` + SuffixRateLimited + `","type":"text"}`, 400, errJSON("text is missing/invalid"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": tc.ctype}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			r := doRequest(t, nil, "POST", sendURL(srv.URL, tc.app), h, tc.body)
			r.check(t, tc.status, tc.want)
			if got := r.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}
	if n := sim.Count("/v3/message"); n != len(tests) {
		t.Errorf("Count = %d, want %d", n, len(tests))
	}
}

// TestSendContactsArray pins that Meta's contacts message, whose type
// member is an array of contacts, is accepted (JSON and form).
func TestSendContactsArray(t *testing.T) {
	_, srv := startSim(t, testOptions())
	const contacts = `[{"name":{"formatted_name":"John Smith","first_name":"John"},"phones":[{"phone":"+1 (940) 555-1234","type":"HOME"}]}]`
	for _, tc := range []struct{ ctype, body string }{
		{"application/json", `{"messaging_product":"whatsapp","to":"15551234567","type":"contacts","contacts":` + contacts + `}`},
		{"application/x-www-form-urlencoded", formBody("messaging_product", "whatsapp", "to", "15551234567", "type", "contacts", "contacts", contacts)},
	} {
		r := doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), map[string]string{"Content-Type": tc.ctype, "Authorization": testAppToken}, tc.body)
		if r.status != 200 || !strings.Contains(string(r.body), `"messages":[{"id":`) {
			t.Errorf("%s: HTTP %d %s", tc.ctype, r.status, r.body)
		}
	}
}

func TestMagicDestinationsMatchSuffixOnly(t *testing.T) {
	_, srv := startSim(t, testOptions())
	// The suffix in the middle of the number does not trigger an error.
	body := `{"messaging_product":"whatsapp","to":"1` + SuffixWalletLow + `5","type":"text","text":{"body":"hi"}}`
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID),
		map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}, body).check(t, 200, "")
}

func TestRecording(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	form := "messaging_product=whatsapp&to=15551234567&type=text&text=%7B%22body%22%3A%22a%20b%22%7D"
	jsonBody := "{\"messaging_product\":\"whatsapp\",\n \"to\":\"15551234567\",\"type\":\"text\",\"text\":{\"body\":\"x\"}}"

	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID),
		map[string]string{"Authorization": testAppToken, "Content-Type": "application/x-www-form-urlencoded", "X-Trace": "1"}, form).check(t, 200, "")
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID),
		map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}, jsonBody).check(t, 200, "")
	doRequest(t, nil, "GET", srv.URL+"/healthz?x=1", nil, "").check(t, 200, "")

	reqs := sim.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	r0 := reqs[0]
	if r0.Method != "POST" || r0.Path != "/partner/app/"+testAppID+"/v3/message" {
		t.Errorf("request 0: %s %s", r0.Method, r0.Path)
	}
	if string(r0.Body) != form {
		t.Errorf("raw body = %q, want %q", r0.Body, form)
	}
	if r0.Form.Get("text") != `{"body":"a b"}` || r0.Form.Get("to") != "15551234567" || r0.Form.Get("type") != "text" {
		t.Errorf("parsed form = %v", r0.Form)
	}
	if r0.Header.Get("Authorization") != testAppToken || r0.Header.Get("X-Trace") != "1" {
		t.Errorf("headers = %v", r0.Header)
	}
	if r0.Time.IsZero() || reqs[1].Time.Before(r0.Time) {
		t.Errorf("times %v, %v", r0.Time, reqs[1].Time)
	}
	if string(reqs[1].Body) != jsonBody || reqs[1].Form != nil {
		t.Errorf("json request body %q form %v", reqs[1].Body, reqs[1].Form)
	}
	if reqs[2].Method != "GET" || reqs[2].Path != "/healthz" || len(reqs[2].Body) != 0 || reqs[2].Form != nil {
		t.Errorf("request 2 = %+v", reqs[2])
	}

	// Requests returns a copy.
	reqs[0].Body[0] = 'X'
	reqs[0].Form.Set("to", "changed")
	reqs[0].Header.Set("Authorization", "changed")
	again := sim.Requests()
	if string(again[0].Body) != form || again[0].Form.Get("to") != "15551234567" || again[0].Header.Get("Authorization") != testAppToken {
		t.Error("Requests did not return a copy")
	}

	tests := []struct {
		suffix string
		want   int
	}{
		{"", 3},
		{"/v3/message", 2},
		{"message", 2},
		{"/healthz", 1},
		{"/token", 0},
	}
	for _, tc := range tests {
		if got := sim.Count(tc.suffix); got != tc.want {
			t.Errorf("Count(%q) = %d, want %d", tc.suffix, got, tc.want)
		}
	}

	sim.Reset()
	if len(sim.Requests()) != 0 || sim.Count("") != 0 {
		t.Error("Reset did not forget requests")
	}
	// Tokens survive Reset.
	if sim.AppToken(testAppID) != testAppToken {
		t.Error("Reset changed the app token")
	}
}

func TestFaultStatusBodyHeader(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	sim.Inject(Fault{
		PathSuffix: "/v3/message",
		Status:     503,
		Body:       `{"status":"error","message":"Service Unavailable"}`,
		Header:     map[string]string{"Retry-After": "7", "X-Sim": "fault"},
	})
	h := map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}
	body := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`

	r := doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), h, body)
	r.check(t, 503, `{"status":"error","message":"Service Unavailable"}`)
	if r.header.Get("Retry-After") != "7" || r.header.Get("X-Sim") != "fault" {
		t.Errorf("headers = %v", r.header)
	}
	// Consumed: the next request is answered normally.
	r = doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), h, body)
	r.check(t, 200, "")
	if r.header.Get("X-Sim") != "" {
		t.Error("fault header leaked into next answer")
	}
	if sim.Count("/v3/message") != 2 {
		t.Errorf("faulted request not recorded: Count = %d", sim.Count("/v3/message"))
	}
}

func TestFaultHeaderOnlyKeepsNormalAnswer(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	sim.Inject(Fault{Header: map[string]string{"X-Extra": "yes"}})
	r := doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "")
	r.check(t, 200, `{"status":"ok"}`)
	if r.header.Get("X-Extra") != "yes" {
		t.Errorf("X-Extra = %q", r.header.Get("X-Extra"))
	}
}

func TestFaultTimesAndPathSuffix(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	sim.Inject(Fault{PathSuffix: "/token", Times: 3, Status: 502, Body: `{"status":"error","message":"bad gateway"}`})
	ptok := login(t, srv.URL) // /login does not match /token
	get := func() response {
		return doRequest(t, nil, "GET", srv.URL+"/partner/app/"+testAppID+"/token", map[string]string{"Authorization": ptok}, "")
	}
	doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "").check(t, 200, "")
	for i := range 3 {
		r := get()
		if r.status != 502 {
			t.Errorf("request %d: status %d, want 502", i, r.status)
		}
	}
	get().check(t, 200, "")
	if got := sim.Count("/token"); got != 4 {
		t.Errorf("Count(/token) = %d, want 4", got)
	}
}

func TestFaultMatchesTrailingSlashPathOnlyIfSuffixDoes(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	ptok := login(t, srv.URL)
	sim.Inject(Fault{PathSuffix: "/token", Status: 500, Body: `{}`})
	doRequest(t, nil, "GET", srv.URL+"/partner/app/"+testAppID+"/token/", map[string]string{"Authorization": ptok}, "").check(t, 200, "")
	doRequest(t, nil, "GET", srv.URL+"/partner/app/"+testAppID+"/token", map[string]string{"Authorization": ptok}, "").check(t, 500, "{}")
}

func TestFaultFIFO(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	sim.Inject(Fault{PathSuffix: "/v3/message", Status: 500, Body: `{"n":1}`})
	sim.Inject(Fault{PathSuffix: "/healthz", Status: 501, Body: `{"n":2}`})
	sim.Inject(Fault{PathSuffix: "/v3/message", Times: 2, Status: 502, Body: `{"n":3}`})
	sim.Inject(Fault{Status: 503, Body: `{"n":4}`})

	send := func() response {
		return doRequest(t, nil, "POST", sendURL(srv.URL, testAppID),
			map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"},
			`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`)
	}
	health := func() response { return doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "") }

	send().check(t, 500, `{"n":1}`)
	send().check(t, 502, `{"n":3}`)
	health().check(t, 501, `{"n":2}`)
	send().check(t, 502, `{"n":3}`)
	send().check(t, 503, `{"n":4}`) // the catch-all fault is last in the queue
	health().check(t, 200, `{"status":"ok"}`)
	send().check(t, 200, "")
}

func TestFaultDelay(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	// Long enough that an undelayed local request never takes as long,
	// even on a loaded machine.
	const delay = time.Second
	sim.Inject(Fault{PathSuffix: "/healthz", Delay: delay})

	start := time.Now()
	doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "").check(t, 200, `{"status":"ok"}`)
	if el := time.Since(start); el < delay {
		t.Errorf("delayed request took %v, want >= %v", el, delay)
	}
	start = time.Now()
	doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "").check(t, 200, "")
	if el := time.Since(start); el >= delay {
		t.Errorf("undelayed request took %v", el)
	}

	// Delay combined with a status.
	sim.Inject(Fault{Delay: delay, Status: 500, Body: `{"x":1}`})
	start = time.Now()
	doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "").check(t, 500, `{"x":1}`)
	if el := time.Since(start); el < delay {
		t.Errorf("delayed fault took %v, want >= %v", el, delay)
	}
}

func TestFaultDelayRespectsCancellation(t *testing.T) {
	sim := New(testOptions())
	done := make(chan struct{})
	var wrote bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &writeTracker{ResponseWriter: w}
		sim.ServeHTTP(rec, r)
		wrote = rec.wrote
		close(done)
	}))
	t.Cleanup(srv.Close)
	sim.Inject(Fault{Delay: time.Minute, Status: 500})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/healthz", nil)
	start := time.Now()
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler kept sleeping after the client went away")
	}
	if wrote {
		t.Error("handler answered a request whose client went away")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v", el)
	}
	if sim.Count("/healthz") != 1 {
		t.Error("cancelled request not recorded")
	}
}

// writeTracker records whether a handler wrote anything.
type writeTracker struct {
	http.ResponseWriter
	wrote bool
}

func (w *writeTracker) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *writeTracker) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *writeTracker) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestFaultReset(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	sim.Inject(Fault{PathSuffix: "/v3/message", Reset: true})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	body := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	h := map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}

	req, _ := http.NewRequest("POST", sendURL(srv.URL, testAppID), strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("reset fault: got status %d, want a transport error", res.StatusCode)
	}
	msg := err.Error()
	if !strings.Contains(msg, "connection reset") && !strings.Contains(msg, "EOF") {
		t.Errorf("err = %v, want connection reset or EOF", err)
	}
	// The fault is consumed and the request recorded.
	doRequest(t, client, "POST", sendURL(srv.URL, testAppID), h, body).check(t, 200, "")
	reqs := sim.Requests()
	if len(reqs) != 2 || string(reqs[0].Body) != body {
		t.Errorf("recorded %d requests; first body %q", len(reqs), reqs[0].Body)
	}
}

func TestFaultResetOnKeepAliveConnection(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	h := map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}
	body := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	doRequest(t, client, "POST", sendURL(srv.URL, testAppID), h, body).check(t, 200, "")

	sim.Inject(Fault{Reset: true})
	req, _ := http.NewRequest("POST", sendURL(srv.URL, testAppID), strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	if res, err := client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("got status %d, want a transport error", res.StatusCode)
	}
	doRequest(t, client, "POST", sendURL(srv.URL, testAppID), h, body).check(t, 200, "")
}

func TestResetForgetsFaults(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	sim.Inject(Fault{Status: 500, Times: 5})
	sim.Reset()
	doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "").check(t, 200, `{"status":"ok"}`)
}

func TestInjectCopiesHeaderMap(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	h := map[string]string{"X-A": "1"}
	sim.Inject(Fault{Header: h})
	h["X-A"] = "2"
	r := doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "")
	if r.header.Get("X-A") != "1" {
		t.Errorf("X-A = %q, want 1", r.header.Get("X-A"))
	}
}

func TestBodyTooLarge(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	big := strings.Repeat("a", MaxBodyBytes+1)
	r := doRequest(t, nil, "POST", sendURL(srv.URL, testAppID),
		map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"}, big)
	r.check(t, 413, errJSON("Request Entity Too Large"))
	if sim.Count("/v3/message") != 1 {
		t.Error("oversized request not recorded")
	}
}

func TestNewPanicsOnBadApps(t *testing.T) {
	tests := []struct {
		name string
		apps []App
	}{
		{"empty id", []App{{Name: "x"}}},
		{"duplicate id", []App{{ID: "a"}, {ID: "a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(Options{Apps: tc.apps})
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	opts := testOptions()
	sim, srv := startSim(t, opts)
	const n = 50
	// Some faults are consumed concurrently; exactly 10 requests must hit them.
	sim.Inject(Fault{PathSuffix: "/v3/message", Times: 10, Status: 500, Body: `{"status":"error","message":"boom"}`})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	t.Cleanup(client.CloseIdleConnections)

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		ids    = map[string]bool{}
		faults int
		errs   []error
	)
	for i := range n {
		wg.Go(func() {
			to := fmt.Sprintf("1555%07d", i)
			body := formBody("messaging_product", "whatsapp", "to", to, "type", "text", "text", `{"body":"hi"}`)
			req, _ := http.NewRequest("POST", sendURL(srv.URL, testAppID), strings.NewReader(body))
			req.Header.Set("Authorization", testAppToken)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := client.Do(req)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer res.Body.Close()
			var got struct {
				Messages []struct{ ID string }
				Contacts []struct {
					Input string
					WaID  string `json:"wa_id"`
				}
			}
			b, _ := io.ReadAll(res.Body)
			mu.Lock()
			defer mu.Unlock()
			switch res.StatusCode {
			case 500:
				faults++
			case 200:
				if err := json.Unmarshal(b, &got); err != nil || len(got.Messages) != 1 || len(got.Contacts) != 1 || got.Contacts[0].Input != to {
					errs = append(errs, fmt.Errorf("bad response for %s: %s", to, b))
					return
				}
				ids[got.Messages[0].ID] = true
			default:
				errs = append(errs, fmt.Errorf("status %d: %s", res.StatusCode, b))
			}
		})
		// Readers and other mutators run alongside the senders.
		wg.Go(func() {
			_ = sim.Requests()
			_ = sim.Count("/v3/message")
			_ = sim.AppToken(testAppID)
			sim.RotateAppToken(otherAppID)
			sim.Inject(Fault{PathSuffix: "/never-requested"})
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if faults != 10 {
		t.Errorf("%d requests hit the fault, want 10", faults)
	}
	if len(ids) != n-10 {
		t.Errorf("%d distinct message ids, want %d", len(ids), n-10)
	}
	if got := sim.Count("/v3/message"); got != n {
		t.Errorf("Count = %d, want %d", got, n)
	}
	seen := map[string]bool{}
	for _, r := range sim.Requests() {
		seen[r.Form.Get("to")] = true
	}
	if len(seen) != n {
		t.Errorf("recorded %d distinct destinations, want %d", len(seen), n)
	}
}
